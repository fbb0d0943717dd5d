// Values no other test pinned down, against PyTorch (test/fixtures/gen_pinned.py): a review's
// mutants of the gradient table, the reductions and the CPU kernel caches passed every other test.
import { describe, expect, test } from "vitest";
import { type Device, pow, type Tensor, tensor, ones, zeros } from "../src/index.js";
import { availableDevices, type Fx, loadFixture } from "./setup.js";

const fx = loadFixture<Record<string, Fx[]> & { errors: Record<string, string> }>("pinned.json");
const devices = await availableDevices();

describe.each(devices.map((d) => [d.type, d] as [string, Device]))("%s", (_, device) => {
  const on = { device }, grad = (t: Tensor): Tensor => t.grad as Tensor;
  const check = (got: Tensor[], name: string): void => got.forEach((t, i) => expect(t).toBeAllClose(fx[name]?.[i] as Fx, { signedZero: true }));

  // First in the file: the CPU caches a fused full reduction per layout and op (a key that added
  // them gave this max the 1-element sum's code: 18).
  test("a fused sum, then a fused max of another layout", () => {
    check([tensor([5], on).mul(2).sum(), tensor([3, 1, 2], on).mul(2).max()], "fusedSumThenMax");
  });
  test("pow(x, y)'s x-gradient where y is 0 is 0, also at x = 0", () => {
    const x = tensor([0, 2], { ...on, requiresGrad: true }), y = tensor([0, 0], { ...on, requiresGrad: true });
    pow(x, y).sum().backward();
    check([grad(x), grad(y)], "powZeroZeroGrad");
  });
  test("div's divisor gradient divides twice (b * b overflows)", () => {
    const a = tensor([1e10], { ...on, requiresGrad: true }), b = tensor([1e20], { ...on, requiresGrad: true });
    a.div(b).sum().backward();
    check([grad(a), grad(b)], "divHugeDivisorGrad");
  });
  test("sum([]) and mean([]) reduce every dim", () => {
    check([ones([2, 3], on).sum([]), ones([2, 3], on).mean([])], "reduceNoDims");
  });
  test("an expand along its leading dim, broadcast along a trailing size-1 dim", () => {
    check([tensor([[1], [2], [3]], on).expand(2, 3, 1).add(zeros([2, 3, 4], on))], "expandThenBroadcast");
  });
  test("max(0) and min(0) give the first NaN's index", () => {
    const t = tensor([1, NaN, 2, NaN], on), [a, i] = t.max(0), [b, j] = t.min(0);
    check([a, i, b, j], "maxMinTwoNaN");
  });
  test("max(0) and min(0) of an empty 1-d tensor raise PyTorch's IndexError", () => {
    for (const op of ["max", "min"] as const) expect(() => tensor([], on)[op](0)).toThrow(fx.errors[`${op}EmptyDim`] as string);
  });
});
