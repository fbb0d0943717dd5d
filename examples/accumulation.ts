// Tutorial (c): gradients accumulate into .grad across backward calls; zero_() resets them.
import { ones, tensor } from "../src/index.js";
import { type Printer, makePrinter } from "./print.js";

export function accumulation(print: Printer = makePrinter()): void {
  const x = tensor(5.0, { requiresGrad: true });
  for (let epoch = 0; epoch < 3; epoch++) {
    const y = x.pow(2).mul(3).add(x.mul(4)).add(2); // 3x^2 + 4x + 2: dy/dx = 34 at x = 5
    y.backward();
    print(x.grad); // 34, then 68, then 102: accumulated
  }
  x.grad?.zero_();
  print(x.grad);

  const weights = ones(4, { requiresGrad: true });
  for (let epoch = 0; epoch < 3; epoch++) {
    const modelOutput = weights.mul(3).sum();
    modelOutput.backward();
    print(weights.grad);
    weights.grad?.zero_(); // without this the next epoch would print 6, then 9
  }
}
