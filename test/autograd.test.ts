// Engine scenarios and error texts on every device: fan-out, retainGraph, backward(v), detach,
// noGrad, accumulation, in-place rules and version counters, optimizers; messages from PyTorch.
import { describe, expect, test, vi } from "vitest";
import {
  type Device, type Tensor, enableGrad, isGradEnabled, noGrad, ones, optim, setGradEnabled, tensor,
} from "../src/index.js";
import { DUPLICATE_PARAMS_WARNING, NON_LEAF_GRAD_WARNING } from "../src/errors.js";
import { type Fx, availableDevices, decode, loadFixture } from "./setup.js";

const msg = loadFixture<Record<string, string>>("errors.json");
const optimCases = loadFixture<{ kw: Record<string, number | boolean>; w0: Fx; x: Fx; w: Fx }[]>("optim.json");
const groupsFx = loadFixture<{
  groups_in: Record<"w" | "b" | "xw" | "xb", Fx>; groups_out: Record<"w" | "b", Fx>; duplicate_warning: string;
  duplicate_steps: Fx[]; zero_grad_detaches: unknown[]; retains_grad_param: number[]; group_unchecked: { w: number[]; name: string };
}>("optim_groups.json");
const devices = await availableDevices();
const vals = (t: Tensor | null): number[] => Array.from(t?.dataSync() ?? []);
const camel = (k: string): string => k.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());

describe.each(devices.map((d) => [d.type, d] as [string, Device]))("%s", (_, device) => {
  const T = (d: number | number[] | number[][], requiresGrad = false) => tensor(d, { device, requiresGrad });

  test("leaves reached through views get .grad storages of their own; a seed is never written", () => {
    const a = tensor([[1, 2], [3, 4]], { device, requiresGrad: true });
    const b = tensor([[5, 6], [7, 8]], { device, requiresGrad: true });
    for (let k = 0; k < 2; k++) a.reshape(4).add(b.reshape(4)).sum().backward();
    expect(vals(a.grad)).toEqual([2, 2, 2, 2]);
    expect(vals(b.grad)).toEqual([2, 2, 2, 2]);
    const x = T([1, 2], true);
    const G = T([1, 1]);
    for (let k = 0; k < 2; k++) x.reshape(2).backward(G);
    expect(vals(G)).toEqual([1, 1]);
    expect(vals(x.grad)).toEqual([2, 2]);
  });

  // A .grad the user disposed is no gradient (as t.grad = null), not a trap for the next backward or
  // step (both threw "tensor has been disposed", the step after updating the parameters before it).
  test("a disposed .grad reads as null; backward and step start afresh", () => {
    const a = T([1, 1], true), b = T([1, 1], true);
    a.add(b).sum().backward();
    (b.grad as Tensor).dispose();
    expect(b.grad).toBe(null);
    a.mul(2).add(b.mul(3)).sum().backward();
    expect([vals(a.grad), vals(b.grad)]).toEqual([[3, 3], [3, 3]]);
    (a.grad as Tensor).dispose();
    new optim.SGD([a, b], { lr: 0.5 }).step();
    expect([vals(a), vals(b)]).toEqual([[1, 1], [-0.5, -0.5]]);
  });

  test("fan-out sums both paths", () => {
    const x = T([1, 2, 3], true);
    x.mul(x).add(x).sum().backward(); // d/dx (x^2 + x) = 2x + 1
    expect(vals(x.grad)).toEqual([3, 5, 7]);
  });

  test("gradients accumulate into leaves only; non-leaf .grad is null with one warning", () => {
    const x = T([1, 2], true);
    const y = x.mul(3);
    y.sum().backward(null, { retainGraph: true });
    y.sum().backward();
    expect(vals(x.grad)).toEqual([6, 6]);
    // NOTE: PyTorch saves the number 3 for MulBackward0, so a third pass needs retainGraph too.
    expect(() => y.sum().backward()).toThrow(msg.backwardTwice);
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    expect(y.grad).toBeNull();
    expect(y.grad).toBeNull();
    expect(warn.mock.calls.length).toBeLessThanOrEqual(1); // once per process, as PyTorch's warning
    for (const [text] of warn.mock.calls) expect(text).toBe(msg.nonLeafGradWarning);
    expect(NON_LEAF_GRAD_WARNING).toBe(msg.nonLeafGradWarning);
    warn.mockRestore();
  });

  test("retainGrad keeps a non-leaf gradient", () => {
    const x = T([1, 2], true);
    const y = x.mul(2);
    y.retainGrad();
    y.mul(y).sum().backward();
    expect(vals(y.grad)).toEqual([4, 8]);
    expect(vals(x.grad)).toEqual([8, 16]);
  });

  test("second backward fails only where a freed saved tensor is needed", () => {
    const x = T([1, 2, 3], true);
    const y = x.mul(x).sum();
    y.backward();
    expect(() => y.backward()).toThrow(msg.backwardTwice);
    const a = T([1, 2], true);
    const b = a.add(1).sum(); // add and sum save nothing: backward twice accumulates
    b.backward();
    b.backward();
    expect(vals(a.grad)).toEqual([2, 2]);
    const c = a.mul(a).sum();
    c.backward(null, { retainGraph: true });
    c.backward();
    expect(vals(a.grad)).toEqual([2 + 2 + 2, 2 + 4 + 4]);
  });

  test("backward errors", () => {
    expect(() => T([1, 2, 3], true).mul(2).backward()).toThrow(msg.implicitGrad);
    expect(() => T([1, 2, 3]).sum().backward()).toThrow(msg.noGrad);
    expect(() => T([1, 2, 3], true).mul(2).backward(T([1, 1]))).toThrow(msg.gradShape);
  });

  test("backward(v) is the vector-Jacobian product", () => {
    const x = T([1, 2, 3], true);
    x.mul(x).backward(T([1, 0.5, 0]));
    expect(vals(x.grad)).toEqual([2, 2, 0]);
  });

  test("detach shares storage and has no history", () => {
    const x = T([1, 2], true);
    const d = x.detach();
    expect(d.requiresGrad).toBe(false);
    noGrad(() => d.add_(1));
    expect(vals(x)).toEqual([2, 3]);
  });

  test("noGrad and enableGrad return fn's value, nest, and span an await", async () => {
    const x = T([1], true);
    expect(noGrad(() => x.mul(2)).requiresGrad).toBe(false);
    expect(noGrad(() => enableGrad(() => x.mul(2))).requiresGrad).toBe(true);
    const p = noGrad(async () => {
      await new Promise((r) => setTimeout(r, 1));
      return x.mul(2);
    });
    expect((await p).requiresGrad).toBe(false);
    expect(isGradEnabled()).toBe(true);
  });

  test("an async noGrad holds in its own async context only, and fns ending in any order restore the mode", async () => {
    const x = T([1], true), tick = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const p = noGrad(async () => {
      const before = x.mul(2).requiresGrad;
      await tick(5);
      return [before, x.mul(2).requiresGrad, isGradEnabled()];
    });
    expect(x.mul(2).requiresGrad).toBe(true); // the caller's next line, while fn waits
    expect(await p).toEqual([false, false, false]);
    await Promise.all([noGrad(() => tick(1)), enableGrad(() => tick(10))]); // ended in the other order: stuck off before
    expect(isGradEnabled()).toBe(true);
    noGrad(() => setGradEnabled(true)); // holds until its noGrad ends, as torch.set_grad_enabled in a no_grad block
    expect([isGradEnabled(), noGrad(() => (setGradEnabled(true), x.mul(2).requiresGrad))]).toEqual([true, true]);
    expect(() => noGrad(5 as unknown as () => void)).toThrow(new TypeError("noGrad(): argument 'fn' must be a function, not number"));
  });

  test("requiresGrad_ rules", () => {
    expect(() => T([1], true).mul(2).requiresGrad_(false)).toThrow(msg.requiresGradNonLeaf);
    const a = T([1]).requiresGrad_();
    expect(a.requiresGrad && a.isLeaf).toBe(true);
  });

  test("in-place rules: leaf error, version counters, noGrad update", () => {
    expect(() => T([1, 2, 3], true).add_(1)).toThrow(msg.leafInplace);
    const x = T([1, 1, 1], true);
    const y = x.add(1);
    const z = y.mul(y);
    y.add_(1);
    expect(() => z.sum().backward()).toThrow(msg.versionNonLeaf);
    const w = T([1, 1, 1]);
    const s = x.mul(w).sum();
    w.add_(1);
    expect(() => s.backward()).toThrow(msg.versionLeaf);
    const p = T([1, 2], true);
    p.mul(p).sum().backward();
    noGrad(() => p.sub_((p.grad as Tensor).mul(0.5)));
    expect(vals(p)).toEqual([0, 0]);
    expect(p.isLeaf && p.requiresGrad).toBe(true);
  });

  test("in-place on a non-leaf rebases its history", () => {
    const x = T([1, 2], true);
    const yv = T([3, 4], true);
    const b = x.mul(2);
    b.add_(1);
    expect(b.gradFn?.name).toBe("AddBackward0");
    expect(b.gradFn?.nextFunctions[0]?.[0]?.name).toBe("MulBackward0");
    const c = x.mul(1);
    c.mul_(yv); // needs the old c for y's gradient
    c.sum().backward();
    expect(vals(x.grad)).toEqual([3, 4]);
    expect(vals(yv.grad)).toEqual([1, 2]);
  });

  test("shape and argument errors carry PyTorch's text", () => {
    expect(() => T([1, 2, 3]).add(T([1, 2]))).toThrow(msg.broadcast);
    expect(() => ones([2, 3], { device }).mul(ones([4, 1, 2], { device }))).toThrow(msg.broadcast2);
    expect(() => T([1, 2, 3]).sum(1)).toThrow(msg.dimRange);
    expect(() => T([[1, 2, 3]]).sum(-3)).toThrow(msg.dimRange2);
    expect(() => ones(6, { device }).view(4, -1)).toThrow(msg.viewShape);
    expect(() => T([1, 2, 3]).item()).toThrow(msg.item);
    expect(() => T([1, 2, 3]).expand(2, 4)).toThrow(msg.expand);
    expect(() => new optim.SGD([T([1], true)], { lr: -0.1 })).toThrow(msg.lr);
    expect(() => new optim.SGD([T([1], true)], { lr: 0.1, momentum: -1 })).toThrow(msg.momentum);
    expect(() => new optim.SGD([T([1], true).mul(2)], { lr: 0.1 })).toThrow(msg.optimLeaf);
    expect(() => tensor([[1, 2], [3]], { device })).toThrow(/expected sequence of length 2 at dim 1 \(got 1\)/);
    expect(() => ones(-1, { device })).toThrow(RangeError);
    expect(() => T([1]).add("2" as unknown as number)).toThrow(/argument 'other' must be a Tensor or a number/);
  });

  test.each(optimCases.map((c) => [JSON.stringify(c.kw), c] as const))("SGD %s matches PyTorch", (_k, c) => {
    const w = tensor(c.w0.data.map(decode), { device, requiresGrad: true });
    const x = tensor(c.x.data.map(decode), { device });
    const opts = Object.fromEntries(Object.entries(c.kw).map(([k, v]) => [camel(k), v]));
    const opt = new optim.SGD([w], opts);
    for (let i = 0; i < 5; i++) {
      w.mul(x).sub(1).pow(2).sum().backward();
      opt.step();
      opt.zeroGrad();
    }
    expect(w).toBeAllClose(c.w);
    expect(w.grad).toBeNull();
  });

  test("SGD parameter groups: each group's options override the defaults; paramGroups[i].lr changes it", () => {
    const F = (f: Fx, requiresGrad = false) => tensor(f.data.map(decode), { device, requiresGrad });
    const { w: w0, b: b0, xw, xb } = groupsFx.groups_in;
    const w = F(w0, true), b = F(b0, true), x = F(xw), y = F(xb);
    const opt = new optim.SGD([{ params: [w] }, { params: b, lr: 0.01, momentum: 0.5, weightDecay: 0.1 }], { lr: 0.1, momentum: 0.9 });
    expect(opt.paramGroups.map((g) => [g.lr, g.momentum, g.weightDecay, g.params.length])).toEqual([[0.1, 0.9, 0, 1], [0.01, 0.5, 0.1, 1]]);
    for (let i = 0; i < 6; i++) {
      if (i === 4) (opt.paramGroups[0] as optim.SGDParamGroup).lr = 0.05;
      opt.zeroGrad();
      w.mul(x).sum().add(b.mul(y).sum()).sub(1).pow(2).backward();
      opt.step();
    }
    expect(w).toBeAllClose(groupsFx.groups_out.w);
    expect(b).toBeAllClose(groupsFx.groups_out.b);
    expect(opt.params).toEqual([w, b]);
    // PyTorch checks its constructor's options, not a group's (lr -1, nesterov alone), and keeps other keys.
    const v = T([1, 2], true), o2 = new optim.SGD([{ params: [v], lr: -0.5, name: "enc", nesterov: true }], { lr: 0.1 });
    v.grad = T([1, 1]);
    o2.step();
    expect([vals(v), o2.paramGroups[0]?.name]).toEqual([groupsFx.group_unchecked.w, groupsFx.group_unchecked.name]);
    expect(new optim.SGD([{ params: [T([1], true)], lr: undefined }], { lr: 0.5, momentum: undefined }).paramGroups[0]?.lr).toBe(0.5); // undefined: not set
  });

  test("SGD: a tensor listed twice shares one momentum buffer and warns once, as PyTorch", () => {
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => {});
    const a = T([1, 2, 3], true), opt = new optim.SGD([a, a], { lr: 0.1, momentum: 0.9 });
    new optim.SGD([a, a]);
    expect(warn.mock.calls.filter((c) => c[0] === DUPLICATE_PARAMS_WARNING).length).toBeLessThanOrEqual(1);
    expect(DUPLICATE_PARAMS_WARNING).toBe(groupsFx.duplicate_warning);
    warn.mockRestore();
    for (const want of groupsFx.duplicate_steps) {
      opt.zeroGrad();
      a.mul(a).sum().backward();
      opt.step();
      expect(a).toBeAllClose(want);
    }
  });

  test("SGD zeroGrad(false) detaches a grad with history before zeroing it; a non-leaf that retains grad is a parameter", () => {
    const a = T([1, 2, 3], true), q = T([1, 2, 3], true), opt = new optim.SGD([a], { lr: 0.1 });
    a.grad = T([1, 1, 1], true);
    const held = a.grad;
    opt.zeroGrad(false);
    const zeroed = [held === a.grad, vals(a.grad), a.grad?.requiresGrad, a.grad?.gradFn === null];
    a.grad = q.mul(2);
    opt.zeroGrad(false);
    expect([...zeroed, vals(a.grad), a.grad?.requiresGrad, a.grad?.gradFn === null]).toEqual(groupsFx.zero_grad_detaches);
    const y = T([1, 2], true).mul(2);
    y.retainGrad();
    const o2 = new optim.SGD([y], { lr: 0.1 });
    y.mul(y).sum().backward();
    o2.step();
    expect(vals(y)).toEqual(groupsFx.retains_grad_param.map(Math.fround));
  });

  test("SGD step(closure) returns the closure's loss, computed with grad on; zeroGrad(false) zeroes", () => {
    const w = T([1, 1], true), opt = new optim.SGD([w], { lr: 0.1 });
    const loss = noGrad(() => opt.step(() => { opt.zeroGrad(); const l = w.mul(w).sum(); l.backward(); return l; }));
    expect([loss?.toString(), w.toString()]).toEqual(["tensor(2., grad_fn=<SumBackward0>)", "tensor([0.8000, 0.8000], requires_grad=True)"]);
    opt.zeroGrad(false);
    expect(w.grad?.tolist()).toEqual([0, 0]);
    expect(() => opt.zeroGrad({ set_to_none: true } as never)).toThrow("zeroGrad(): got an unexpected option 'set_to_none'");
    expect(() => opt.step(5 as never)).toThrow("step(): argument 'closure' must be a function, but got 5");
  });

  test("SGD step(async closure) updates after the closure's gradients exist (it updated before, with none)", async () => {
    const w = T([1, 1], true), opt = new optim.SGD([w], { lr: 0.1 });
    const loss = await opt.step(async () => {
      await new Promise((r) => setTimeout(r, 1));
      const l = w.mul(w).sum(); // grad mode on across the await, as the sync closure's
      return l.backward(), l;
    });
    expect([loss.toString(), w.toString()]).toEqual(["tensor(2., grad_fn=<SumBackward0>)", "tensor([0.8000, 0.8000], requires_grad=True)"]);
    await expect(opt.step(() => Promise.reject(new Error("no loss")))).rejects.toThrow("no loss");
    expect(w.tolist()).toEqual([0.800000011920929, 0.800000011920929]); // a failed closure: no update
    const thenable = { then: (ok: (v: number) => void) => { opt.zeroGrad(), w.mul(w).sum().backward(), ok(7); } }; // any thenable (another realm's Promise)
    expect(await opt.step(() => thenable)).toBe(7);
    expect(w.toString()).toBe("tensor([0.6400, 0.6400], requires_grad=True)"); // 0.8 - 0.1 * 1.6: updated after it
  });
});

if (devices.length > 1) {
  const [cpu, gpu] = devices as [Device, Device];
  // PyTorch names the non-CPU device first, whichever operand comes first (checked with its meta device).
  test("mixed devices raise PyTorch's error", () => {
    const same = "Expected all tensors to be on the same device, but found at least two devices, webgpu and cpu!";
    expect(() => tensor([1], { device: cpu }).add(tensor([1], { device: gpu }))).toThrow(same);
    expect(() => tensor([1], { device: gpu }).add(tensor([1], { device: cpu }))).toThrow(same);
    // A 0-d CPU tensor may join, but not as the tensor an in-place op writes.
    expect(() => tensor(1, { device: cpu }).add_(tensor(1, { device: gpu }))).toThrow(same);
    // Shapes are checked first, as PyTorch's TensorIterator does (checked with its meta device).
    expect(() => tensor(1, { device: cpu }).add_(tensor([1, 2, 3], { device: gpu }))).toThrow(
      "output with shape [] doesn't match the broadcast shape [3]");
    expect(() => tensor([1, 2, 3], { device: cpu }).add(tensor([1, 2, 3, 4], { device: gpu }))).toThrow(
      "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 0");
  });

  test("a 0-d CPU tensor joins a webgpu op as PyTorch's CPU scalars join CUDA ops; its grad lands on the CPU", () => {
    const x = tensor([1, 2, 3], { device: gpu, requiresGrad: true }), s = tensor(2, { requiresGrad: true });
    const y = tensor(3, { device: cpu }).sub(x.mul(s)); // 3 - 2x
    expect(y.device).toBe("webgpu");
    expect(y.tolist()).toEqual([1, -1, -3]);
    y.sum().backward();
    expect(x.grad?.tolist()).toEqual([-2, -2, -2]);
    expect([s.grad?.device, s.grad?.tolist()]).toEqual(["cpu", -6]);
    const z = x.detach().clone();
    expect(z.add_(tensor(5, { device: cpu })).tolist()).toEqual([6, 7, 8]);
  });

  test("a 0-d CPU tensor a webgpu op saved is version-checked: writing it in place fails backward, as on one device", () => {
    const version = "one of the variables needed for gradient computation has been modified by an inplace operation: " +
      "[torch.FloatTensor []] is at version 1; expected version 0 instead.";
    for (const dev of [cpu, gpu]) {
      const x = tensor([1, 2, 3], { device: dev, requiresGrad: true }), s = tensor(2, { device: cpu });
      const y = x.mul(s); // MulBackward0 saves s (on webgpu, its copy there)
      s.add_(10);
      expect(() => y.sum().backward(), dev.type).toThrow(version);
      const w = tensor([1, 2, 3], { device: dev, requiresGrad: true }), r = tensor(2, { device: cpu, requiresGrad: true });
      const v = w.mul(r);
      noGrad(() => r.add_(10));
      expect(() => v.sum().backward(), dev.type).toThrow(version);
      const k = tensor(2, { device: cpu }), u = tensor([1, 2, 3], { device: dev, requiresGrad: true });
      k.add_(1); // written before the op: version 1, then disposed (a new, empty storage)
      const z = u.mul(k);
      k.dispose();
      z.sum().backward();
      expect(u.grad?.tolist(), dev.type).toEqual([3, 3, 3]);
    }
  });
}
