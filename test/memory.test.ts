// Memory on every device: dispose() frees at once (views and saved tensors keep what they need),
// scope() disposes what its function created (across awaits) except what it returns or keeps,
// backward releases saved tensors, and memory() counts live tensors.
import { AsyncLocalStorage } from "node:async_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, test, vi } from "vitest";
import {
  type Device, type Tensor, arange, fullLike, isFusionEnabled, keep, memory, noGrad, onesLike, optim, randn, scope, setFusion, tensor,
  trackTensors, zeros, zerosLike,
} from "../src/index.js";
import { Pipelines, cache } from "../src/backend/webgpu_pipelines.js";
import { SHADER_FILES } from "../src/backend/webgpu_protocol.js";
import { availableDevices, loadFixture } from "./setup.js";

const msg = loadFixture<Record<string, string>>("errors.json");
const devices = await availableDevices();
trackTensors();
const vals = (t: Tensor | null | undefined): number[] => Array.from(t?.dataSync() ?? []);
const DISPOSED = "tensor has been disposed";
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

describe.each(devices.map((d) => [d.type, d] as [string, Device]))("%s", (type, device) => {
  const T = (d: number[], requiresGrad = false) => tensor(d, { device, requiresGrad });
  const live = (): number => memory(device).liveTensors ?? NaN; // counting is on (trackTensors)
  // Exact on webgpu (bytes of live buffers); the CPU's typed arrays are the collector's.
  const inUse = () => memory(device).inUseBytes;
  const gpu = type === "webgpu";

  test("dispose() frees now; every later use throws; a second dispose is a no-op", async () => {
    const before = inUse();
    const n0 = live();
    const t = T([1, 2, 3, 4]).realize();
    expect(live()).toBe(n0 + 1);
    if (gpu) expect(inUse()).toBe(before + 16);
    t.dispose();
    t.dispose();
    expect(t.isDisposed).toBe(true);
    expect(live()).toBe(n0);
    if (gpu) expect(inUse()).toBe(before);
    expect(() => t.dataSync()).toThrow(DISPOSED);
    expect(() => t.add(1)).toThrow(DISPOSED);
    expect(() => t.sum()).toThrow(DISPOSED);
    expect(() => t.add_(1)).toThrow(DISPOSED);
    expect(() => t.fill_(1)).toThrow(DISPOSED);
    expect(() => T([1, 1, 1, 1]).mul(t)).toThrow(DISPOSED);
    // Those that read no values too (a *Like, a cast to its own dtype, requiresGrad_ returned it).
    for (const use of [() => zerosLike(t), () => onesLike(t), () => fullLike(t, 2), () => t.float(), () => t.requiresGrad_()])
      expect(use).toThrow(DISPOSED);
    const b = T([1, 0, 1, 0]).gt(0);
    b.dispose();
    expect(() => b.bool()).toThrow(DISPOSED);
    await expect(t.data()).rejects.toThrow(DISPOSED);
    // These took a disposed tensor (the grad was set; an optimizer failed only at its step()).
    const w = T([1, 2], true), y = w.mul(2);
    w.dispose();
    for (const use of [() => w.detach_(), () => w.retainGrad(), () => { w.grad = T([1, 1]); }, () => new optim.SGD([w], { lr: 0.1 })])
      expect(use).toThrow(DISPOSED);
    w.grad = null; // clearing one is no use of it
    const a = T([1, 1], true), gone = T([1, 1], true), opt = new optim.SGD([a, gone], { lr: 1 });
    a.sum().add(gone.sum()).backward(), gone.dispose();
    expect(() => opt.step()).toThrow(DISPOSED);
    expect(a.tolist()).toEqual([1, 1]); // nothing updated (a was, then it threw at gone)
    const n1 = live();
    const l = y.sum();
    l.backward(); // a disposed leaf gets no gradient (one was made and held for it)
    l.dispose();
    expect([w.grad, live()]).toEqual([null, n1]);
    const v = T([1, 2], true), r = v.mul(2), z = r.mul(3); // nor a disposed non-leaf that retained its grad
    r.retainGrad(), r.dispose();
    const n2 = live(), lz = z.sum();
    lz.backward(), lz.dispose();
    expect([v.grad?.tolist(), live()]).toEqual([[6, 6], n2 + 1]); // v's grad only
  });

  test("an in-place op or copy_ that throws holds nothing, fused or not (its result kept its inputs' buffers)", () => {
    const was = isFusionEnabled();
    try {
      for (const fused of [true, false]) {
        setFusion(fused);
        const before = inUse(), n0 = live();
        const a = randn([1000], { device }), b = randn([4, 1000], { device }), r = arange(0, 1000, { device }), i = r.long();
        const w = randn([1000], { device, requiresGrad: true }), far = randn(gpu ? [1000] : [2000]); // copied from the CPU to a GPU
        const rows = far.reshape(-1, 1000), wide = rows.expand(2, 1000);
        for (let k = 0; k < 5; k++) {
          expect(() => a.add_(b)).toThrow("output with shape [1000] doesn't match the broadcast shape [4, 1000]");
          expect(() => i.add_(a)).toThrow("result type Float can't be cast to the desired output type Long");
          expect(() => w.copy_(far)).toThrow(/^a leaf Variable that requires grad/);
          expect(() => a.copy_(wide)).toThrow(/^output with shape \[1000\]/);
        }
        for (const t of [a, b, r, i, w, far, rows, wide]) t.dispose();
        expect(live()).toBe(n0);
        if (gpu) expect(inUse()).toBe(before);
      }
    } finally { setFusion(was); }
  });

  test.runIf(isFusionEnabled())("an in-place op nothing else reads writes into the tensor's own buffer, as PyTorch's; a pending reader keeps the old values", () => {
    const a = T([1, 2, 3, 4]), b = T([1, 1, 1, 1]), mine = a._buf;
    a.mul_(2).add_(b); // nothing else holds a's buffer: no second one
    expect([a._buf === mine, vals(a), a._version]).toEqual([true, [3, 5, 7, 9], 2]);
    const p = a.mul(10); // a pending reader of a's values: the write goes to a new buffer
    a.add_(b.mul(0.5)), noGrad(() => b.zero_());
    expect([a._buf === mine, vals(p), vals(a), vals(b)]).toEqual([false, [30, 50, 70, 90], [3.5, 5.5, 7.5, 9.5], [0, 0, 0, 0]]);
    const w = T([1, 2], true), s = T([2, 2]), y = w.mul(s); // s saved for backward
    s.mul_(3);
    expect(() => y.sum().backward()).toThrow(/modified by an inplace operation: \[torch\.FloatTensor \[2\]\] is at version 1; expected version 0/);
    const v = T([1, 2], true).mul(1), vb = v._buf;
    v.mul_(2); // recorded (MulBackward0): a new buffer, as before, computed at once (a sync point)
    expect([v._storage.lazy, v._buf === vb, v.gradFn?.name, vals(v)]).toEqual([null, false, "MulBackward0", [2, 4]]);
  });

  test("a view keeps the values its base's dispose() would free", () => {
    const before = inUse();
    const t = T([1, 2, 3, 4]);
    const v = t.view(2, 2);
    t.dispose();
    expect(vals(v)).toEqual([1, 2, 3, 4]);
    expect(() => t.reshape(4)).toThrow(DISPOSED);
    v.dispose();
    if (gpu) expect(inUse()).toBe(before);
  });

  test("a pending (fused) result keeps its inputs until it is computed", () => {
    const a = T([1, 2, 3]);
    const b = a.mul(2).add(1); // a recipe over a's buffer
    a.dispose();
    expect(vals(b)).toEqual([3, 5, 7]);
  });

  test("backward releases saved tensors: their memory goes with the last handle", () => {
    const x = T([1, 2, 3], true);
    const base = inUse();
    const sq = x.mul(x).realize(); // MulBackward0 saves x twice
    const y = sq.sin(); // SinBackward0 saves sq
    sq.dispose();
    const z = y.sum().realize(); // (a reduction runs when its value is needed)
    y.dispose();
    if (gpu) expect(inUse()).toBe(base + 12 + 4); // sq, kept by the graph, and z
    z.backward();
    x.grad?.realize();
    z.dispose();
    // sq was held only by SinBackward0's saved handle: gone with backward; x.grad remains.
    if (gpu) expect(inUse()).toBe(base + 12);
    const want = [1, 2, 3].map((v) => 2 * v * Math.cos(v * v));
    vals(x.grad).forEach((g, i) => expect(g).toBeCloseTo(want[i] as number, 4));
    expect(() => y.sum()).toThrow(DISPOSED);
  });

  test("scope() disposes what fn made except its result, and gives its result to the outer scope", () => {
    const n0 = live(), b0 = inUse();
    const x = T([1, 2, 3]);
    let inner: Tensor | null = null;
    const out = scope(() => {
      const r = scope(() => {
        const t = x.add(1).realize();
        inner = t.mul(2).realize();
        return { r: t, more: [t.neg()] };
      });
      expect(r.r.isDisposed).toBe(false);
      expect((inner as unknown as Tensor).isDisposed).toBe(true);
      const bare = scope(() => Object.assign(Object.create(null) as { t?: Tensor }, { t: x.add(2) }));
      expect(bare.t?.isDisposed).toBe(false); // an object without a prototype is a plain object too
      return r.more[0] as Tensor;
    });
    expect(vals(out)).toEqual([-2, -3, -4]);
    expect(x.isDisposed).toBe(false);
    expect(live()).toBe(n0 + 2);
    out.dispose();
    x.dispose();
    expect(live()).toBe(n0);
    if (gpu) expect(inUse()).toBe(b0);
  });

  // Each object once, level by level (a structure that refers back to itself took exponential time:
  // 60 nodes ~4 s), and a tensor reached in 8 levels by any path is kept, one past them is not.
  test("scope() finds returned tensors in structures that refer back to themselves, 8 levels deep", () => {
    const nodes: { value: Tensor; all: unknown[] }[] = [];
    const kept = scope(() => {
      for (let i = 0; i < 200; i++) nodes.push({ value: T([i]), all: nodes });
      return { nodes };
    });
    expect(kept.nodes.every((n) => !n.value.isDisposed)).toBe(true);
    nodes.forEach((n) => n.value.dispose());
    const deep = (v: unknown, levels: number): unknown => (levels === 0 ? v : [deep(v, levels - 1)]);
    const leaf = (v: unknown): Tensor => (Array.isArray(v) ? leaf(v[0]) : (v as Tensor));
    const r = scope(() => ({ at8: deep(T([1]), 7), at9: deep(T([2]), 8) }));
    expect([leaf(r.at8).isDisposed, leaf(r.at9).isDisposed]).toEqual([false, true]);
    // box is 8 levels down one path and 1 the other: its tensor, 2 levels down, is kept.
    const shared = scope(() => { const box = [T([3])]; return { far: deep(box, 7), near: box }; });
    expect(shared.near[0]?.isDisposed).toBe(false);
    [leaf(r.at8), shared.near[0] as Tensor].forEach((t) => t.dispose());
  });

  test("scope() spans awaits, keeps keep()'s tensors, and tidies up after a throw", async () => {
    const n0 = live();
    let leaked: Tensor | null = null;
    let kept: Tensor | null = null;
    const other = (async () => {
      await new Promise((r) => setTimeout(r, 5));
      return T([9]); // created outside the scope while it waits: not the scope's
    })();
    const r = await scope(async () => {
      const a = T([1, 2]);
      await new Promise((r) => setTimeout(r, 10));
      leaked = a.mul(3);
      kept = keep(a.add(10));
      await a.data();
      return a.sum();
    });
    const o = await other;
    expect(vals(r)).toEqual([3]);
    expect((leaked as unknown as Tensor).isDisposed).toBe(true);
    expect(vals(kept)).toEqual([11, 12]);
    expect(o.isDisposed).toBe(false);
    let made: Tensor | null = null;
    await expect(scope(async () => {
      made = T([1]);
      throw new Error("boom");
    })).rejects.toThrow("boom");
    expect((made as unknown as Tensor).isDisposed).toBe(true);
    expect(() => scope(() => { made = T([2]); throw new RangeError("sync boom"); })).toThrow("sync boom");
    expect((made as unknown as Tensor).isDisposed).toBe(true);
    for (const t of [r, kept as unknown as Tensor, o]) t.dispose();
    expect(live()).toBe(n0);
    expect(() => scope(5 as unknown as () => void)).toThrow("scope(): argument 'fn' must be a function");
  });

  test("a graph built in a scope outlives it: backward afterwards works, once", () => {
    const x = T([1, 2, 3], true);
    const loss = scope(() => x.mul(x).mul(x).sum());
    loss.backward();
    expect(vals(x.grad)).toEqual([3, 12, 27]);
    expect(() => loss.backward()).toThrow(msg.backwardTwice);
  });

  test("backward disposes the gradients it makes on the way, inside a scope or not; .grad stays", () => {
    const x = T([1, 2, 3], true);
    const z = x.mul(2).sin().mul(x).sum();
    const n0 = live();
    z.backward(null, { retainGraph: true }); // (saved tensors stay: only gradients are counted)
    expect(live()).toBe(n0 + 1);
    const w = T([1, 2], true);
    const n1 = live();
    const r = scope(() => (w.mul(3).exp().sum().backward(), w.mul(4)));
    expect(live()).toBe(n1 + 2); // w.grad and the scope's result
    vals(w.grad).forEach((g, i) => expect(g / (3 * Math.exp(3 * (i + 1)))).toBeCloseTo(1, 6));
    expect(vals(r)).toEqual([4, 8]);
  });

  test("backward and an optimizer step run no AsyncLocalStorage (whose hooks slow every promise)", () => {
    const run = vi.spyOn(AsyncLocalStorage.prototype, "run");
    try {
      const w = T([1, 2], true);
      w.mul(w).sum().backward();
      new optim.SGD([w], { lr: 0.5 }).step();
      expect(run).not.toHaveBeenCalled();
      expect(vals(w)).toEqual([0, 0]); // w - 0.5 * 2w
      scope(() => w.add(1)); // the spy sees a scope()
      expect(run).toHaveBeenCalledTimes(1);
    } finally {
      run.mockRestore();
    }
  });

  test("SGD with momentum in a scope per step: parameters, grads and buffers survive", () => {
    const run = (scoped: boolean): number[] => {
      const w = zeros([2], { device, requiresGrad: true });
      const opt = new optim.SGD([w], { lr: 0.1, momentum: 0.9 });
      const x = T([1, -2]);
      for (let i = 0; i < 5; i++) {
        const step = () => {
          opt.zeroGrad();
          w.mul(x).sub(1).square().sum().backward();
          opt.step();
        };
        if (scoped) scope(step);
        else step();
      }
      return vals(w);
    };
    const scoped = run(true);
    expect(scoped).toEqual(run(false));
    expect(scoped[0]).not.toBe(0);
  });

  test("a loss kept after backward holds none of its graph's tensors: backward closures keep shapes only", async () => {
    const w = T([1, 2, 3, 4, 5, 6], true), refs: WeakRef<Tensor>[] = [];
    const step = (): Tensor => {
      const a = w.exp(), b = a.view(2, 3), c = b.sum(0), e = c.unsqueeze(0), f = e.expand(2, 3), h = f.reshape(6);
      const loss = h.max(0).values.add(c.mean(0)).add(b.squeeze().sum()).add(f.max().mul(0));
      refs.push(...[a, b, c, e, f, h].map((t) => new WeakRef(t)));
      loss.backward();
      loss.item(); // an unread loss holds what it would read (README)
      return loss;
    };
    const kept = [step(), step()]; // a history of losses, read, as a training loop keeps them
    for (let k = 0; k < 3; k++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(refs.filter((r) => r.deref() !== undefined).length).toBe(0);
    expect(kept.map((l) => l.gradFn?.name)).toEqual(["AddBackward0", "AddBackward0"]);
  });

  test("async work a scope started and left running makes tensors the collector takes; the scope holds nothing after it ends", async () => {
    const refs: WeakRef<Tensor>[] = [];
    let stop = false, returned: WeakRef<Tensor> | null = null;
    await scope(async () => {
      void (async () => { // outlives the scope
        for (let i = 0; !stop && i < 1000; i++) {
          refs.push(new WeakRef(T([i]).mul(2).realize()));
          await new Promise((r) => setTimeout(r, 1));
        }
      })();
      const r = T([1, 2]).mul(3);
      returned = new WeakRef(r);
      return r; // handed out, then dropped by the caller
    });
    await new Promise((r) => setTimeout(r, 30));
    const made = refs.slice(); // while the work goes on
    for (let k = 0; k < 3; k++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    stop = true;
    expect(made.length).toBeGreaterThan(3);
    expect(made.filter((r) => r.deref() !== undefined).length).toBeLessThanOrEqual(1); // the ended scope's list held them all
    expect((returned as WeakRef<Tensor> | null)?.deref()).toBeUndefined();
  });

  test("a pending result that a kernel inlined does not keep that kernel's other inputs alive", async () => {
    const scale = T([1, 2, 3, 4]).mul(2); // pending, kept
    const settle = async () => {
      for (let k = 0; k < 3; k++) {
        gc();
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await settle();
    const before = inUse();
    await (async () => {
      const b = zeros([1e6, 4], { device }).add(1).realize(); // 16 MB
      expect((await b.mul(scale).sum().data())[0]).toBe(2e7);
    })();
    await settle();
    expect(inUse() - before).toBeLessThan(4e6); // the batch stayed, held through scale's recipe
    expect(vals(scale)).toEqual([2, 4, 6, 8]);
  });

  test("a scope that ends after its enclosing one keeps nothing it returns in that one", async () => {
    let stop = false, child: Promise<Tensor> | null = null;
    scope(() => {
      void (async () => { while (!stop) await new Promise((r) => setTimeout(r, 5)); })(); // keeps the outer's context alive
      child = scope(async () => (await new Promise((r) => setTimeout(r, 20)), T([1, 2]).mul(2)));
      return 1;
    });
    const ref = new WeakRef(await (child as unknown as Promise<Tensor>));
    child = null;
    for (let k = 0; k < 3; k++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    stop = true;
    expect(ref.deref()).toBeUndefined(); // handed to the ended outer scope's list, held while its work ran
    // Through an ended scope, to the nearest one still running, which disposes it as its own.
    let t: Tensor | null = null;
    await scope(async () => {
      let p: Promise<Tensor> | null = null;
      await scope(async () => ((p = scope(async () => (await new Promise((r) => setTimeout(r, 20)), T([1, 2]).mul(2)))), 1));
      t = await (p as unknown as Promise<Tensor>);
    });
    expect((t as Tensor | null)?.isDisposed).toBe(true);
  });

  test.runIf(!gpu)("a nested scope hands 200 000 returned tensors to its parent", () => {
    const n = scope(() => scope(() => Array.from({ length: 200_000 }, (_, i) => T([i]))).length);
    expect(n).toBe(200_000); // push(...out) overflowed the stack past about 125 000
  });

  test("memory() counts live tensors while tracking is on: collected ones leave the count", async () => {
    const n0 = live();
    (() => {
      for (let i = 0; i < 50; i++) T([i]);
    })();
    expect(live()).toBe(n0 + 50);
    for (let k = 0; k < 3; k++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(live()).toBeLessThanOrEqual(n0);
    trackTensors(false);
    const t = T([1]);
    expect(memory(device).liveTensors).toBeNull();
    trackTensors(true);
    const n1 = live();
    t.dispose(); // made while counting was off: not counted, so not uncounted
    expect(live()).toBe(n1);
    expect(() => trackTensors("yes" as unknown as boolean)).toThrow("trackTensors(): argument 'on' must be a boolean");
  });

  test.runIf(gpu)("webgpu collects garbage itself when dropped tensors' buffers pile up", async () => {
    const backend = device.backend as unknown as { gcFloorBytes: number };
    const floor = backend.gcFloorBytes;
    const run = async (gcFloorBytes: number): Promise<number> => {
      backend.gcFloorBytes = gcFloorBytes;
      for (let k = 0; k < 3; k++) {
        gc();
        await new Promise((r) => setTimeout(r, 10));
      }
      const start = inUse();
      let peak = 0;
      for (let i = 0; i < 300; i++) {
        zeros([16384], { device }).add(i).realize(); // 64 KiB, dropped at once
        if (i % 10 === 9) {
          await new Promise((r) => setImmediate(r)); // a loop that yields now and then
          peak = Math.max(peak, inUse() - start);
        }
      }
      return peak;
    };
    try {
      const auto = await run(2 ** 20);
      const never = await run(Infinity);
      console.log(`webgpu garbage peak: ${auto} B with a 1 MiB floor, ${never} B without`);
      // 300 iterations' buffers without the floor (64 KiB each fused; 128 KiB with fusion off, as
      // zeros and add are then two buffers); with it, those of at most 128 iterations at once
      // (fusion off on a loaded machine reached 10.5 MB = 80 iterations' worth).
      expect(never).toBeGreaterThan(15 * 2 ** 20);
      expect(auto).toBeLessThan((128 / 300) * never);
    } finally {
      backend.gcFloorBytes = floor;
    }
  });

  test("max(dim) backpropagates after its indices are disposed or its scope ended", () => {
    const x = T([1, 5, 2, 7, 3, 4], true);
    const v = scope(() => x.view(2, 3).max(1).values);
    const [v2, i2] = x.view(2, 3).min(1);
    i2.dispose();
    v.sum().add(v2.sum()).backward();
    expect(vals(x.grad)).toEqual([1, 1, 0, 1, 1, 0]); // max at 5 and 7, min at 1 and 3
  });

  test.runIf(gpu)("internal temporaries go at once: in-place snapshots, comparisons, mean", () => {
    const w = T([1, 2, 3, 4]).realize();
    const base = inUse();
    for (let i = 0; i < 5; i++) w.sub_(1);
    expect(inUse()).toBe(base); // each overwritten buffer is freed by the write that replaces it
    const c = w.gt(0).realize();
    expect(inUse()).toBe(base + 16);
    c.dispose();
    const m = w.view(2, 2).mean(1).realize();
    m.dispose();
    expect(inUse()).toBe(base);
    expect(vals(w)).toEqual([-4, -3, -2, -1]);
  });
});

test("WebGPU keeps at most cache.pipelines compiled kernels, least recently used dropped; a dropped one recompiles from its kept expression", () => {
  const compiled: string[] = [], was = cache.pipelines, g = globalThis as { GPUShaderStage?: unknown };
  g.GPUShaderStage ??= { COMPUTE: 4 }; // without an adapter the globals may be absent; the fake device ignores it
  const device = {
    createShaderModule: (d: { code: string }) => d, createBindGroupLayout: () => ({}), createPipelineLayout: () => ({}),
    createComputePipeline: (d: { compute: { module: { code: string } } }) => (compiled.push(d.compute.module.code), {}),
  } as unknown as GPUDevice;
  const shaders = Object.fromEntries(SHADER_FILES.map.map((f) => [f, "/*splice:body*/"]));
  const pipes = new Pipelines(device, shaders, {} as GPUBuffer, {} as GPUBuffer, () => undefined);
  try {
    cache.pipelines = 2; // 256 by default: a process making 600 distinct kernels grew to 2.4 GB on lavapipe
    pipes.get("map", "k1", 1, "a1"), pipes.get("map", "k2", 1, "a2"), pipes.get("map", "k1", 1), pipes.get("map", "k3", 1, "a3");
    expect([pipes.size, compiled.length]).toEqual([2, 3]); // k2 dropped: k1 was used after it
    pipes.get("map", "k1", 1), pipes.get("map", "k2", 1); // k2's expression kept: compiled again
    expect([pipes.size, compiled.length, compiled[3]?.includes("a2")]).toEqual([2, 4, true]);
    expect(() => pipes.get("map", "k9", 1)).toThrow("WebGPU worker: no expression for kernel k9");
  } finally { cache.pipelines = was; }
});
