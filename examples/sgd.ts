// Tutorial (d): fit y = 2x by gradient descent, first with a manual update under noGrad, then
// with optim.SGD (momentum 0.9), step() and zeroGrad().
import { type Tensor, noGrad, optim, tensor } from "../src/index.js";
import { type Printer, makePrinter } from "./print.js";

export function sgd(print: Printer = makePrinter()): void {
  const X = tensor([1, 2, 3, 4]);
  const Y = tensor([2, 4, 6, 8]);
  let w = tensor(0.0, { requiresGrad: true });
  const forward = (x: Tensor | number): Tensor => w.mul(x);
  const loss = (y: Tensor, yPred: Tensor): Tensor => yPred.sub(y).pow(2).mean();
  const report = (epoch: number, l: Tensor) =>
    print(`epoch ${epoch + 1}: w = ${w.item().toFixed(3)}, loss = ${l.item().toFixed(4)}`);

  print(`Prediction before training: f(5) = ${forward(5).item().toFixed(3)}`);
  const lr = 0.01;
  for (let epoch = 0; epoch < 20; epoch++) {
    const l = loss(Y, forward(X));
    l.backward();
    noGrad(() => w.sub_((w.grad as Tensor).mul(lr)));
    w.grad?.zero_();
    if (epoch % 2 === 0) report(epoch, l);
  }
  print(w);

  w = tensor(0.0, { requiresGrad: true });
  const opt = new optim.SGD([w], { lr, momentum: 0.9 });
  for (let epoch = 0; epoch < 20; epoch++) {
    const l = loss(Y, forward(X));
    l.backward();
    opt.step();
    opt.zeroGrad();
    if (epoch % 2 === 0) report(epoch, l);
  }
  print(w.grad);
  print(`Prediction after training: f(5) = ${forward(5).item().toFixed(3)}`);
}
