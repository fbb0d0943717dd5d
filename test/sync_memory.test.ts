// Loops that never await: JS frees nothing by reference counting, and FinalizationRegistry runs only
// between tasks, so what PyTorch frees when the last reference goes must be let go explicitly here:
// values computed for backward alone, a .grad replaced before anyone read it, the unread loss a
// scope() returns. Counted on every device as the backend's buffers (of n elements) never freed.
import { describe, expect, test, vi } from "vitest";
import { type Device, type Tensor, optim, scope, tensor, zeros } from "../src/index.js";
import { isFusionEnabled } from "../src/ops/lazy.js";
import { availableDevices, watchBackend } from "./setup.js";

const devices = await availableDevices();
const N = 4096;

/** Runs fn and returns how many buffers of N elements the backend made in it and never freed. */
function unfreed(device: Device, fn: () => void): number {
  const made = new Set<unknown>();
  watchBackend(device, ["map", "reduce", "mapReduce", "upload", "free"], (m, args, r) => {
    if (m === "free") made.delete(args[0]);
    else if ((r as { size: number }).size === N) made.add(r);
  }, fn);
  return made.size;
}

describe.each(devices.map((d) => [d.type, d] as [string, Device]))("%s", (_, device) => {
  const xs = Float32Array.from({ length: N }, (_, i) => (i % 17) / 8 - 1);
  const input = () => tensor(xs, { device });

  test("SGD steps in scope() returning the unread loss leave nothing behind", () => {
    const steps = (k: number) => {
      const x = input(), y = x.mul(3).add(1); // y stays a pending recipe
      const w = zeros([N], { device, requiresGrad: true }), b = zeros([1], { device, requiresGrad: true });
      const opt = new optim.SGD([w, b], { lr: 0.1, momentum: 0.9 });
      let loss: Tensor | null = null;
      for (let s = 0; s < k; s++)
        loss = scope(() => {
          opt.zeroGrad();
          const l = x.mul(w).add(b).sub(y).square().mean();
          l.backward();
          opt.step();
          return l;
        });
      return loss as Tensor;
    };
    let last: Tensor | null = null;
    const few = unfreed(device, () => void steps(3));
    const many = unfreed(device, () => void (last = steps(13)));
    expect(many).toBe(few); // before: one more per step (the old w, read by each step's loss)
    // The same loss as the loop without scope(): mean((x*w + b - y)^2) after 13 steps.
    const ref = steps(13).item(), got = (last as unknown as Tensor).item();
    expect(got).toBe(ref);
    expect(got).toBeGreaterThan(0);
  });

  // The CPU computes a saved value making a heavy call once, into its storage (Backend.computeOnce): the
  // garbage collector frees that (its free() does nothing). Elsewhere it stays inlined, so nothing holds a
  // buffer; unfused, every result is one, which its dropped tensor holds until collected.
  test.runIf(isFusionEnabled() && device.backend.computeOnce === undefined)("steps with heavy saved values (exp, tanh, sigmoid) leave nothing behind", () => {
    const x = input(), w = zeros([N], { device, requiresGrad: true });
    const steps = (k: number) => {
      for (let s = 0; s < k; s++) {
        w.grad = null;
        x.mul(w).exp().mean().backward(); // exp saves its output; the unread mean reads it
        w.grad = null;
        x.mul(w).sigmoid().mul(x.add(w).tanh()).sum().backward(); // mul saves both, each saves its own
      }
    };
    expect(unfreed(device, () => steps(13))).toBe(unfreed(device, () => steps(3))); // lavapipe computing them once: 3 more per step
  });

  test("forward-only steps in scope() free their graph's saved tensors; a returned graph keeps its own", () => {
    const x = input(), w = input().requiresGrad_();
    const steps = (k: number) => {
      for (let s = 0; s < k; s++)
        scope(() => {
          const h = w.mul(x).tanh(); // tanh saves its output, mul saves x and w
          h.realize();
          h.mul(x).mean().realize();
        });
    };
    expect(unfreed(device, () => steps(9))).toBe(unfreed(device, () => steps(2))); // before: 1 more per step
    // A loss returned by the scope, and one built outside it from a tensor it returned, backpropagate.
    const [l, h] = scope(() => {
      const h = w.mul(x).tanh();
      return [h.mul(2).sum(), h];
    });
    const m = h.mul(h).sum();
    l.backward(null, { retainGraph: true }); // both share h's graph
    m.backward();
    const d = Array.from(xs, (v, i) => {
      const t = Math.tanh((xs[i] as number) * v);
      return (2 + 2 * t) * (1 - t * t) * v;
    });
    expect(w.grad).toBeAllClose({ shape: [N], data: d }, { rtol: 1e-5, atol: 1e-6 });
  });

  test("scoped steps with an in-place op through a view free their graph; a view kept outside keeps its base's", () => {
    const x = input(), w = input().requiresGrad_();
    const steps = (k: number) => {
      for (let s = 0; s < k; s++) scope(() => void x.mul(w).exp().view(-1).add_(1)); // CopySlices over exp's saved output
    };
    expect(unfreed(device, () => steps(9))).toBe(unfreed(device, () => steps(2))); // before: 1 more per step
    // A view returned by a scope whose base it disposed: an in-place op through a view of it in another
    // scope gives the base a CopySlices that only the returned view reaches (PyTorch: 2 * (x * w) * x).
    const v = scope(() => w.mul(x).mul(2).reshape(N));
    scope(() => void v.view(N).mul_(w.mul(x)));
    v.sum().backward(); // before: "Trying to backward through the graph a second time"
    const d = Array.from(xs, (a, i) => 4 * a * (xs[i] as number) * a);
    expect(w.grad).toBeAllClose({ shape: [N], data: d }, { rtol: 1e-5, atol: 1e-6 });
  });

  test("a graph built outside a running async scope keeps what it uses of the scope's, CopySlices' op included", async () => {
    const w = tensor([1, 2, 3, 4], { device, requiresGrad: true }), w2 = tensor([2, 3, 4, 5], { device, requiresGrad: true });
    let b: Tensor | null = null, release = (): void => {};
    const gate = new Promise<void>((r) => (release = r));
    const p = scope(async () => {
      b = w.mul(2);
      b.view(2, 2).mul_(w2.view(2, 2)); // b's grad_fn: CopySlices over MulBackward0 of the view
      await gate;
    });
    await Promise.resolve();
    const z = (b as unknown as Tensor).mul(3); // outside the scope, while it runs
    release();
    await p;
    z.sum().backward(); // before: "Trying to backward through the graph a second time"
    expect([w.grad?.tolist(), w2.grad?.tolist()]).toEqual([[12, 18, 24, 30], [6, 12, 18, 24]]);
  });

  // Fused only: unfused, x*w - y has a buffer from the start, which its dropped tensor holds (as
  // every unfused intermediate: in such a loop only scope() frees them, as the test above does).
  test.runIf(isFusionEnabled())("backward without reading .grad: saved recipes and replaced grads are freed at once", () => {
    const x = input(), y = x.mul(3).add(1); // x*w - y is over RECOMPUTE_NODES: backward computes it
    const w = zeros([N], { device, requiresGrad: true });
    const steps = (k: number) => {
      for (let s = 0; s < k; s++) {
        w.grad = null;
        x.mul(w).sub(y).square().mean().backward();
      }
    };
    const few = unfreed(device, () => steps(3));
    const many = unfreed(device, () => steps(13));
    expect(many).toBe(few); // before: one more per step (x*w - y, kept by the dropped tensor)
    // d/dw mean((x*w - y)^2) at w = 0 is -2 y x / N.
    const g = Array.from((w.grad as unknown as Tensor).dataSync());
    g.forEach((v, i) => {
      const xi = xs[i] as number;
      expect(v).toBeCloseTo((-2 * Math.fround(3 * xi + 1) * xi) / N, 6);
    });
  });

  // The warning is said once per process: this is the only test here that makes it.
  test.runIf(device.type === "webgpu")("GPU memory doubling with no turn of the event loop is told once what to do", () => {
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => {});
    const held: Tensor[] = [];
    try {
      for (let i = 0; i < 16; i++) held.push(zeros([4 << 20], { device }).add(i).realize()); // 16 MiB each
      const said = warn.mock.calls.filter((c) => c[1] === "GradwiseMemoryWarning").map((c) => String(c[0]));
      expect(said.length).toBe(1);
      expect(said[0]).toMatch(/^\d+ MiB of WebGPU memory in use \(\d+ buffers\), doubled with no turn of the event loop: .* scope\(fn\) or dispose\(\)/);
    } finally {
      warn.mockRestore();
      held.forEach((t) => t.dispose());
    }
  });

  test("zeroGrad() leaves a .grad the user read alone", () => {
    const w = tensor([1, 2, 3], { device, requiresGrad: true });
    const opt = new optim.SGD([w], { lr: 0.1 });
    w.mul(w).sum().backward();
    const g = w.grad as Tensor; // handed out: the user may still use it
    opt.zeroGrad();
    expect(w.grad).toBe(null);
    expect(g.isDisposed).toBe(false);
    expect(Array.from(g.dataSync())).toEqual([2, 4, 6]);
    const mine = tensor([1, 1, 1], { device });
    w.grad = mine; // assigned by the user: theirs too
    opt.zeroGrad();
    expect(Array.from(mine.dataSync())).toEqual([1, 1, 1]);
  });
});
