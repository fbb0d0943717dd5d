// Optimizers, exported as the `optim` namespace.
export { SGD, type SGDOptions } from "./sgd.js";
