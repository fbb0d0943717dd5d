// Optimizers, exported as the `optim` namespace.
export { SGD, type ParamGroup, type SGDOptions, type SGDParamGroup } from "./sgd.js";
