// Tutorial (a): grad_fn, a scalar backward, and backward(v) as a vector-Jacobian product.
import { manualSeed, randn, tensor } from "../src/index.js";
import { type Printer, makePrinter } from "./print.js";

export function gradFn(print: Printer = makePrinter()): void {
  manualSeed(0);
  let x = randn(3, { requiresGrad: true });
  print(x);
  let y = x.add(2);
  print(y);
  print(y.gradFn);
  let z = y.mul(y).mul(2);
  print(z);
  z = z.mean();
  print(z);
  z.backward(); // dz/dx
  print(x.grad);

  // A vector-valued output: backward(v) computes the vector-Jacobian product v^T J.
  x = randn(3, { requiresGrad: true });
  y = x.mul(2);
  for (let i = 0; i < 10; i++) y = y.mul(2);
  print(y);
  const v = tensor([0.1, 1.0, 0.0001]);
  y.backward(v);
  print(x.grad);

  // d(3a^2 + 4a + 2)/da at a = 3 is 6a + 4 = 22.
  const a = tensor(3.0, { requiresGrad: true });
  const b = a.mul(3).mul(a).add(a.mul(4)).add(2);
  b.backward();
  print(a.grad);
}
