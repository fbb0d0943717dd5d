// Tutorial (b): stopping gradient history with requiresGrad_(false), detach() and noGrad().
import { manualSeed, noGrad, randn } from "../src/index.js";
import { type Printer, makePrinter } from "./print.js";

export function stopHistory(print: Printer = makePrinter()): void {
  manualSeed(1);
  let a = randn(2, 2);
  a = a.mul(3).div(a.sub(1));
  print(a.requiresGrad);
  a.requiresGrad_(true);
  print(a.requiresGrad);
  const b = a.mul(a).sum();
  print(b.gradFn);

  const x = randn(3, { requiresGrad: true });
  print(x);
  const y = x.detach(); // same values, no history
  print(y);
  print(y.requiresGrad);
  noGrad(() => {
    const z = x.add(2);
    print(z);
    print(z.requiresGrad);
  });
  print(x.pow(2).requiresGrad);
  x.requiresGrad_(false);
  print(x);
}
