// WebGpuBackend against CpuBackend on the same inputs: every IR primitive, broadcasting, in-place
// maps, reductions, argReduce, oneHot, NaN/Inf, grid folding, a buffer over one binding, both
// reads, and a GC regression run in a child process. Skips (one line) without an adapter unless
// GRADWISE_REQUIRE_WEBGPU=1.
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Shape } from "../src/backend/backend.js";
import { numelOf } from "../src/backend/backend.js";
import { CpuBackend } from "../src/backend/cpu.js";
import { createWebGpuBackend, type WebGpuBackend } from "../src/backend/webgpu.js";
import { transpileGraph } from "../src/backend/webgpu_spawn.js";
import { MAX_AHEAD } from "../src/backend/webgpu_link.js";
import { type Cond, type E, type Leaf, leaf, num, select, x, y, z } from "../src/ops/expr.js";
import { EXIT_SCRIPT, GC_SCRIPT, type In, SPECIAL, expectClose, kernel, rand } from "./webgpu_helpers.js";
import { compareArgReduce, compareMap, compareOneHot, openOrSkip, randArray, specials } from "./webgpu_helpers.js";

const opened = await openOrSkip("webgpu_backend");
const gpu = opened as WebGpuBackend;
const cpu = new CpuBackend();
type K = ReturnType<typeof kernel>;
const both = (k: K, ins: In[], c: number[], out: Shape, rtol = 0, atol = 0) =>
  compareMap(gpu, cpu, k, ins, c, out, rtol, atol);
const flat = (data: Float32Array): In => ({ data, shape: [data.length] });
const OPS = ["sum", "max", "min"] as const;

describe.skipIf(!opened)("WebGpuBackend", () => {
  beforeAll(() => console.log(`WebGPU adapter: ${gpu.adapterName}`));
  afterAll(async () => gpu.shutdown());

  it("runs every unary primitive like the CPU (NaN/Inf included)", () => {
    const d = specials(200);
    const ops: [E, number, number][] = [[x.neg(), 0, 0], [x.abs(), 0, 0], [x.sign(), 0, 0],
      [x.sqrt(), 1e-6, 0], [x.exp(), 1e-5, 0], [x.log(), 1e-5, 1e-6], [x.tanh(), 1e-5, 1e-7],
      [x.log1p(), 1e-5, 1e-7], [x.expm1(), 1e-5, 1e-7]];
    // GPUs flush denormals (exp(-88) = 6e-39 becomes 0): an absolute floor of FLT_MIN covers it.
    for (const [e, rtol, atol] of ops) {
      both(kernel(e, ["x"]), [flat(d)], [], [d.length], rtol, atol || 1.2e-38);
    }
    // sin/cos reduce huge arguments exactly (sin(1e30) = -0.7911634), so any magnitude compares.
    const wide = randArray(2000).map((v, i) => v * 10 ** ((i % 77) - 38));
    const t = Float32Array.from([...d, ...wide]);
    for (const e of [x.sin(), x.cos()]) both(kernel(e, ["x"]), [flat(t)], [], [t.length], 0, 3e-7);
  });

  it("runs + - * / exactly, and pow/maximum/minimum with NaN/Inf like the CPU", () => {
    const v = [...SPECIAL.filter((s) => !(Math.abs(s) > 1e29)), 1e30, 0.25, 4, -4, 1.5, -1.5, 10];
    const a = Float32Array.from(v.flatMap((p) => v.map(() => p)));
    const b = Float32Array.from(v.flatMap(() => v));
    const ins = [flat(a), flat(b)];
    for (const e of [x.add(y), x.sub(y), x.mul(y), x.div(y), x.maximum(y), x.minimum(y)]) {
      both(kernel(e, ["x", "y"]), ins, [], [a.length]);
    }
    both(kernel(x.pow(y), ["x", "y"]), ins, [], [a.length], 2e-5, 1e-30);
  });

  // C's pow, PyTorch's with a tensor exponent, rounds x ** 3 once (the CPU's Math.pow too); a
  // product of products rounds twice and was 1 ulp off for a quarter of these.
  it("cubes through pow with a tensor exponent rounded once", () => {
    // Every binade with a normal cube (tiny ones lost their error terms to subnormals), and cubes
    // that round to FLT_MAX (a first product overflowed to Inf).
    const edge = [6981463572480, 6981463e6, 4.915026176853521e-13, -4.422734422616925e-13, 2 ** -42, 1, 0, -0];
    const n = 85 * 64 + edge.length, a = new Float32Array(n);
    for (let i = 0; i < n - edge.length; i++) a[i] = (i % 2 ? -1 : 1) * rand(1, 2) * 2 ** (-42 + Math.floor(i / 64));
    a.set(edge, n - edge.length);
    both(kernel(x.pow(y), ["x", "y"]), [flat(a), flat(new Float32Array(n).fill(3))], [], [n]);
  });

  // NVIDIA's own division is 1 ulp off at times: gw_div corrects it there (dawn.ts probes the device;
  // lavapipe's divides exactly). Forced here, so the correction runs on every device.
  it("divides with one rounding through gw_div's correction (GRADWISE_WEBGPU_EXACT_DIV=0)", async () => {
    process.env.GRADWISE_WEBGPU_EXACT_DIV = "0";
    const g = await createWebGpuBackend().finally(() => delete process.env.GRADWISE_WEBGPU_EXACT_DIV);
    const n = 2 ** 16, bits = new Uint32Array(2 * n);
    for (let i = 0, s = 3; i < 2 * n; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      bits[i] = i % 2 ? s : (s & 0x807fffff) | ((90 + (s % 80)) << 23); // anywhere, or 2^-37..2^42
    }
    const f = new Float32Array(bits.buffer), a = f.subarray(0, n), b = f.subarray(n);
    const v = [...SPECIAL, 0.25, 4, 10, 1e-40, 2 ** -126, 3e38], sa = v.flatMap((p) => v.map(() => p)), sb = v.flatMap(() => v);
    const ins = [flat(Float32Array.from([...a, ...sa])), flat(Float32Array.from([...b, ...sb]))];
    compareMap(g, cpu, kernel(x.div(y), ["x", "y"]), ins, [], [n + sa.length], 0, 0);
    await g.shutdown();
  });

  // A loop of big kernels goes to the executor (which submits each batch) while the loop runs, so
  // the GPU works while the next is recorded; small ones wait for the turn of the event loop.
  it("posts a batch once its dispatches bind GRADWISE_WEBGPU_FLUSH_MB", async () => {
    process.env.GRADWISE_WEBGPU_FLUSH_MB = "0.5";
    const g = await createWebGpuBackend().finally(() => delete process.env.GRADWISE_WEBGPU_FLUSH_MB);
    const posted = (b: WebGpuBackend): number => (b as unknown as { q: { batches: number } }).q.batches;
    const k = kernel(x.mul(y).add(2), ["x", "y"]);
    const run = (b: WebGpuBackend, n: number, reps: number): number => {
      const a0 = randArray(n, -2, 2), a = b.upload(a0), c = b.upload(a0);
      const s = { strides: [1] }, before = posted(b);
      let out = b.map(k, [{ buf: a, ...s }, { buf: c, ...s }], [], [n]);
      for (let r = 1; r < reps; r++) b.free(out), (out = b.map(k, [{ buf: a, ...s }, { buf: c, ...s }], [], [n]));
      const after = posted(b), got = b.readSync(out);
      expect(got.every((v, i) => v === Math.fround(Math.fround((a0[i] as number) ** 2) + 2))).toBe(true);
      [a, c, out].forEach((u) => b.free(u));
      return after - before;
    };
    const big = run(g, 2 ** 16, 6); // 768 KiB bound per dispatch
    const small = run(g, 2 ** 12, 6); // 48 KiB: 288 KiB in all
    const dflt = run(gpu, 2 ** 16, 6); // the default 128 MiB
    expect([big, small, dflt]).toEqual([6, 0, 0]);
    await g.shutdown();
  });

  // A loop that never reads waits for the worker once it is MAX_AHEAD batches ahead, and the worker
  // for the GPU once 2 * GPU_AHEAD submits are: before, 16 000 unread SGD steps queued 180 MB of batches
  // and command buffers on lavapipe, and the first read waited 5.7 s for them.
  it("holds a loop that never reads within MAX_AHEAD batches of the worker, and it within 2 * GPU_AHEAD of the GPU", () => {
    const q = (gpu as unknown as { q: { ahead: number; dawnPending: number; flush(): void } }).q;
    const k = kernel(x.mul(y).add(2), ["x", "y"]), n = 2 ** 19, a0 = randArray(n, -2, 2), a = gpu.upload(a0), s = { strides: [1] };
    let out = gpu.map(k, [{ buf: a, ...s }, { buf: a, ...s }], [], [n]), most = 0, fences = 0;
    for (let r = 1; r < 400; r++) {
      gpu.free(out), (out = gpu.map(k, [{ buf: a, ...s }, { buf: a, ...s }], [], [n]));
      q.flush(), (most = Math.max(most, q.ahead)), (fences = Math.max(fences, q.dawnPending)); // a dispatch per batch
    }
    expect([most <= MAX_AHEAD, fences <= 2]).toEqual([true, true]); // a fence per GPU_AHEAD batches, waited for by the next
    expect(gpu.readSync(out).every((v, i) => v === Math.fround(Math.fround((a0[i] as number) ** 2) + 2))).toBe(true);
    [a, out].forEach((u) => gpu.free(u));
  });

  // Shapes whose merged dims exceed the meta's 8 (PyTorch takes up to 25): a map dispatches per
  // block of the innermost 8, a reduction fixes leading dims (both threw a RangeError).
  it("maps and reduces past 8 dims that do not merge", () => {
    for (const rank of [9, 12, 17]) {
      const a = Array.from({ length: rank }, (_, d) => (d % 2 ? 1 : 2)), b = a.map((n) => 3 - n);
      const ins = [{ data: randArray(numelOf(a)), shape: a }, { data: randArray(numelOf(b)), shape: b }];
      compareMap(gpu, cpu, kernel(x.sub(y).mul(x), ["x", "y"]), ins, [], a.map(() => 2));
      const shape = a.map(() => 2), d = randArray(numelOf(shape));
      for (const axes of [shape.map((_, i) => i).filter((i) => i % 2), shape.map((_, i) => i).filter((i) => i % 3)]) {
        for (const op of OPS) {
          const want = cpu.readSync(cpu.reduce(op, cpu.upload(d), shape, axes));
          expectClose(gpu.readSync(gpu.reduce(op, gpu.upload(d), shape, axes)), want, op === "sum" ? 1e-5 : 0, 1e-5, `${op} [${shape}] over [${axes}]`);
        }
      }
    }
  });

  // An upload drops the alloc queued just before it (it makes its own buffer); an alloc that was
  // the 512th command went alone, and the worker made a second buffer for the id and lost the first.
  it("loses no buffer when an upload's alloc is the command that fills a batch", () => {
    const q = (gpu as unknown as { q: { stats: { allocatedBytes: number } } }).q;
    const unaccounted = () => {
      gpu.readSync(gpu.upload(Float32Array.of(0)), true); // empties the queue; the reply brings the worker's stats
      const m = gpu.memory();
      return q.stats.allocatedBytes - m.inUseBytes - m.pooledBytes;
    };
    const before = unaccounted();
    for (let i = 0; i < 255; i++) gpu.free(gpu.upload(Float32Array.of(i))); // 510 commands
    const odd = gpu.upload(Float32Array.of(1)), big = gpu.upload(new Float32Array(1 << 16)); // its alloc: the 512th
    [odd, big].forEach((b) => gpu.free(b));
    expect(unaccounted() - before).toBe(0);
  });

  it("refuses junk in its environment when it opens, before a worker starts", async () => {
    const junk = [["GRADWISE_WEBGPU_SPIN_US", "abc"], ["GRADWISE_WEBGPU_SPIN_US", "-100"], ["GRADWISE_WEBGPU_SPIN_US", "Infinity"], ["GRADWISE_WEBGPU_EXACT_DIV", "yes"],
      ["GRADWISE_WEBGPU_FLUSH_MB", "-1"], ["GRADWISE_WEBGPU_READ_SPLIT_MB", "x"], ["GRADWISE_WEBGPU_POOL_MB", "lots"]] as const;
    for (const [name, v] of junk) {
      process.env[name] = v;
      await expect(createWebGpuBackend().finally(() => delete process.env[name])).rejects.toThrow(`${name} must be`);
    }
  });

  it("matches comparisons, logic, select and num", () => {
    const a = Float32Array.from([...SPECIAL, 1, 2, 2]);
    const b = Float32Array.from([...SPECIAL.slice().reverse(), 2, 2, 1]);
    const conds: Cond[] = [x.lt(y), x.le(y), x.gt(y), x.ge(y), x.eq(y), x.ne(y), x.isnan(),
      x.lt(y).and(y.gt(0)), x.lt(0).or(y.isnan()), x.eq(y).not()];
    for (const c of conds) both(kernel(num(c), ["x", "y"]), [flat(a), flat(b)], [], [a.length]);
    both(kernel(select(x.gt(y), x, y.mul(2)), ["x", "y"]), [flat(a), flat(b)], [], [a.length]);
  });

  it("broadcasts with 0-strides at ranks 0 to 5 and reads transposed views", () => {
    for (let rank = 0; rank <= 5; rank++) {
      for (let trial = 0; trial < 4; trial++) {
        const out = Array.from({ length: rank }, () => 1 + Math.floor(rand(0, 5)));
        const some1 = (d: number) => (rand(0, 1) < 0.3 ? 1 : d);
        const xs = out.map(some1);
        const ys = out.slice(Math.floor(rand(0, rank + 0.99))).map(some1);
        const ins = [xs, ys, []].map((s) => ({ data: randArray(numelOf(s), 0.5, 2), shape: s }));
        // Compound expressions may differ by an ulp: the GPU can fuse x * y + z, the CPU uses f64.
        both(kernel(x.mul(y).add(z), ["x", "y", "z"]), ins, [], out, 2e-7);
        both(kernel(x.mul(y), ["x", "y"]), ins.slice(0, 2), [], out);
        both(kernel(x.div(y).add(z).log().sub(y), ["x", "y", "z"]), ins, [], out, 1e-5, 1e-6);
      }
    }
    // A [3, 4] buffer read as its [4, 3] transpose, times a const.
    const d = randArray(12);
    const k = kernel(x.mul(y), ["x"], ["y"]);
    const t = (b: typeof gpu | typeof cpu) =>
      b.readSync(b.map(k, [{ buf: b.upload(d), strides: [1, 4] }], [3], [4, 3]));
    expectClose(t(gpu), t(cpu));
  });

  it("takes constants (NaN, Inf), fused kernels' 6 inputs and 16 constants, and fills", () => {
    const d = flat(randArray(50));
    both(kernel(x.mul(y).add(z), ["x"], ["y", "z"]), [d], [2.5, -1], [50], 2e-7, 1e-7);
    both(kernel(x.add(y), ["x"], ["y"]), [d], [NaN], [50]);
    both(kernel(x.maximum(y), ["x"], ["y"]), [d], [-Infinity], [50]);
    // Fused kernels (src/ops/lazy.ts): up to 6 inputs i0..i5 in mixed layouts and 16 constants.
    const ii = [0, 1, 2, 3, 4, 5].map((j) => `i${j}` as Leaf);
    const cc = Array.from({ length: 16 }, (_, j) => `c${j}` as Leaf);
    let e: E = leaf(cc[15] as Leaf);
    ii.forEach((l, j) => (e = e.add(leaf(l).mul(leaf(cc[j] as Leaf)))));
    cc.slice(6, 15).forEach((l) => (e = e.sub(leaf(l))));
    const shapes: Shape[] = [[4, 5], [5], [4, 1], [], [1, 5], [4, 5]];
    const ins = shapes.map((s) => ({ data: randArray(numelOf(s)), shape: s }));
    const c16 = Array.from({ length: 16 }, (_, j) => j / 4 - 1);
    both(kernel(e, ii, cc), ins, c16, [4, 5], 1e-6, 1e-6);
    const seven = [...ii, "i6" as Leaf];
    const seven7 = seven.map(() => ({ buf: gpu.upload(d.data), strides: [1] }));
    const tooMany = () => gpu.map(kernel(leaf("i6"), seven), seven7, [], [50]);
    expect(tooMany).toThrow(/at most 6 inputs/);
    const fill = kernel(x, [], ["x"]);
    expectClose(gpu.readSync(gpu.map(fill, [], [7], [2, 3])), new Float32Array(6).fill(7));
    expectClose(gpu.readSync(gpu.map(fill, [], [Infinity], [])), Float32Array.of(Infinity));
  });

  it("writes into a buffer that is also an input (in place), also through strides", () => {
    const a = randArray(64), b = randArray(64);
    const ga = gpu.upload(a), gb = gpu.upload(b);
    const k = kernel(x.mul(y).add(x), ["x", "y"]);
    const r = gpu.map(k, [{ buf: ga, strides: [1] }, { buf: gb, strides: [1] }], [], [64], ga);
    expect(r).toBe(ga);
    expectClose(gpu.readSync(ga), a.map((v, i) => v * (b[i] as number) + v), 2e-7, 1e-7);
    // In place through a transpose: each element reads one that another thread writes.
    const sq = gpu.upload(a);
    const ins = [{ buf: sq, strides: [1, 8] }, { buf: sq, strides: [8, 1] }];
    gpu.map(kernel(x.add(y), ["x", "y"]), ins, [], [8, 8], sq);
    const at = (i: number) => a[(i % 8) * 8 + Math.floor(i / 8)] as number;
    expectClose(gpu.readSync(sq), a.map((v, i) => v + at(i)));
  });

  it("reduces over all, single and multiple axes (sum/max/min, odd sizes up to 1e6)", () => {
    const cases: [Shape, number[]][] = [[[1_000_000], [0]], [[999_983], [0]], [[7, 13, 5], [1]],
      [[7, 13, 5], [0, 2]], [[3, 4, 5, 6], [0, 1, 2, 3]], [[3, 4, 5, 6], [1, 3]], [[1001, 3], [0]],
      [[3, 1001], [1]], [[2, 3], []], [[5], [0]], [[300, 10_000], [0]], [[1], [0]], [[0, 3], [0]]];
    for (const [shape, axes] of cases) {
      const d = randArray(numelOf(shape));
      const gi = gpu.upload(d), ci = cpu.upload(d);
      // Sums: f32 partials in a tree against a f64 loop; the error grows with the summed count.
      const atol = Math.max(1, ...shape) * 1e-6;
      for (const op of OPS) {
        const want = cpu.readSync(cpu.reduce(op, ci, shape, axes));
        const got = gpu.readSync(gpu.reduce(op, gi, shape, axes));
        const [r, a] = op === "sum" ? [1e-5, atol] : [0, 0];
        expectClose(got, want, r, a, `${op} [${shape}] over [${axes}]`);
      }
    }
  });

  it("propagates NaN and Inf through reductions", () => {
    const d = randArray(100_001);
    d[77_777] = NaN;
    d[5] = Infinity;
    for (const op of OPS) {
      const got = gpu.readSync(gpu.reduce(op, gpu.upload(d), [100_001], [0]));
      expectClose(got, Float32Array.of(NaN));
    }
    const e = Float32Array.from([1, Infinity, 2, -Infinity, 3, 4]);
    for (const op of OPS) {
      const want = cpu.readSync(cpu.reduce(op, cpu.upload(e), [3, 2], [0]));
      expectClose(gpu.readSync(gpu.reduce(op, gpu.upload(e), [3, 2], [0])), want);
    }
  });

  it("argReduce finds the first extreme, NaN first, along any axis", () => {
    const cases: [Shape, number][] = [[[100_000], 0], [[37, 11], 0], [[37, 11], 1], [[4, 5, 6], 1],
      [[3, 2000, 3], 1]];
    for (const [shape, axis] of cases) {
      // Few distinct values: many ties, so "first index" matters.
      const d = Float32Array.from({ length: numelOf(shape) }, () => Math.round(rand(0, 20)));
      if (d.length > 1000) d[d.length - 7] = NaN;
      compareArgReduce(gpu, cpu, d, shape, axis);
    }
  });

  it("builds one-hot tensors along any axis", () => {
    const cases: [number[], number][] = [[[6, 10], 1], [[10, 6], 0], [[2, 5, 3], 1]];
    for (const [shape, axis] of cases) compareOneHot(gpu, cpu, shape, axis);
  });

  it("keeps PyTorch's NaN/Inf answers for the classic traps", () => {
    const d = Float32Array.from([NaN, -1, 0, 2, -0]);
    const g = (e: E, c: number[] = [], ins: Leaf[] = ["x"], cs: Leaf[] = []) =>
      gpu.readSync(gpu.map(kernel(e, ins, cs), [{ buf: gpu.upload(d), strides: [1] }], c, [5]));
    const want = (...v: number[]) => Float32Array.from(v);
    const [nan, inf] = [NaN, Infinity];
    expectClose(g(select(x.lt(0), 0, x)), want(nan, 0, 0, 2, -0)); // relu keeps NaN
    expectClose(g(x.pow(y), [2], ["x"], ["y"]), want(nan, 1, 0, 4, 0));
    expectClose(g(x.sub(3).pow(y), [3], ["x"], ["y"]), want(nan, -64, -27, -1, -27));
    expectClose(g(x.sub(3).pow(y), [0.5], ["x"], ["y"]), want(nan, nan, nan, nan, nan));
    expectClose(g(x.log()), want(nan, nan, -inf, Math.fround(Math.log(2)), -inf));
    expectClose(g(x.div(y), [0], ["x"], ["y"]), want(nan, -inf, nan, inf, nan));
    expectClose(g(x.maximum(y), [1], ["x"], ["y"]), want(nan, 1, 1, 2, 1));
    expectClose(g(x.minimum(y), [1], ["x"], ["y"]), want(nan, -1, 0, 1, -0));
    expectClose(g(x.mul(100).tanh()), want(nan, -1, 0, 1, 0));
  });

  it("folds grids past 65535 workgroups (2^24 + 3 elements)", { timeout: 120_000 }, () => {
    const n = 2 ** 24 + 3;
    const d = new Float32Array(n);
    for (let i = 0; i < n; i++) d[i] = i % 1000;
    const k = kernel(x.mul(2).add(1), ["x"]);
    const out = gpu.readSync(gpu.map(k, [{ buf: gpu.upload(d), strides: [1] }], [], [n]));
    let bad = 0;
    for (let i = 0; i < n; i++) if (out[i] !== (i % 1000) * 2 + 1) bad++;
    expect(bad).toBe(0);
  });

  it("serves read and readSync alike, and counts memory", async () => {
    const d = randArray(1000);
    // Synchronous deltas only: across an await, GC may free earlier tests' unreferenced buffers.
    const before = gpu.memory().inUseBytes;
    const b = gpu.upload(d);
    expect(gpu.memory().inUseBytes - before).toBe(4000);
    const [r1, r2] = await Promise.all([gpu.read(b), gpu.read(b)]);
    expectClose(r1, d);
    expectClose(r2, d);
    expectClose(gpu.readSync(b), d);
    const held = gpu.memory().inUseBytes;
    gpu.free(b);
    expect(held - gpu.memory().inUseBytes).toBe(4000);
    expect(gpu.memory().pooledBytes).toBeGreaterThan(0);
    expect(() => gpu.readSync(b)).toThrow(/freed/);
    expect(gpu.readSync(gpu.upload(new Float32Array(0))).length).toBe(0);
  });

  it("reads in pieces past GRADWISE_WEBGPU_READ_SPLIT_MB: every element, as of the call, a write queued behind it", async () => {
    const pooled: number[] = [];
    for (const split of ["1", "64"]) { // four pieces of 768 KiB (the last one float short), or one
      process.env.GRADWISE_WEBGPU_READ_SPLIT_MB = split;
      const g = await createWebGpuBackend().finally(() => delete process.env.GRADWISE_WEBGPU_READ_SPLIT_MB);
      const n = 3 * 2 ** 18 + 1, b = g.upload(Float32Array.from({ length: n }, (_, i) => i));
      const pending = [g.read(b), g.read(b)];
      g.map(kernel(x.mul(-1), ["x"]), [{ buf: b, strides: [1] }], [], [n], b); // in place, after both
      for (const got of [...(await Promise.all(pending)), g.readSync(b).map((v) => -v)]) {
        let bad = 0;
        for (let i = 0; i < n; i++) if (got[i] !== i) bad++;
        expect(bad).toBe(0);
      }
      pooled.push(g.memory().pooledBytes); // the staging pool: four small size classes, or one large
      await g.shutdown();
    }
    expect(pooled[0]).toBeLessThan(pooled[1] as number);
  });

  it("maps, reduces and reads a buffer one float over a binding", { timeout: 120_000 }, async () => {
    // The adapter's own limit (test/large.test.ts shrinks it to cover every split kernel).
    const n = gpu.limits.maxStorageBufferBindingSize / 4 + 1;
    const seven = gpu.map(kernel(x, [], ["x"]), [], [7], [n]);
    const big = gpu.map(kernel(x.mul(2), ["x"]), [{ buf: seven, strides: [1] }], [], [n]);
    for (const got of [gpu.readSync(big), await gpu.read(big)]) {
      let bad = 0;
      for (let i = 0; i < n; i++) if (got[i] !== 14) bad++;
      expect(bad).toBe(0);
    }
    expect(gpu.readSync(gpu.reduce("max", big, [n], [0]))).toEqual(Float32Array.of(14));
    expectClose(gpu.readSync(gpu.reduce("sum", big, [n], [0])), Float32Array.of(14 * n), 1e-6);
  });

  it("turns a dead worker into an Error on the next call, even a pending readSync", async () => {
    const b = await createWebGpuBackend();
    const buf = b.upload(Float32Array.of(1, 2));
    expect(b.readSync(buf)).toEqual(Float32Array.of(1, 2));
    const link = Reflect.get(b, "q") as object;
    await (Reflect.get(link, "worker") as { terminate(): Promise<number> }).terminate();
    expect(b.dead).toBe(true);
    expect(() => b.readSync(buf)).toThrow(/WebGPU worker exited/);
    await expect(b.read(buf)).rejects.toThrow();
    // A worker-side failure in the same batch as a readSync: the blocked read must wake and throw.
    const c = await createWebGpuBackend();
    const cb = c.upload(Float32Array.of(3));
    (Reflect.get(c, "q") as { push(cmd: object): void }).push({ op: "free", id: 1e9 });
    expect(() => c.readSync(cb)).toThrow(/unknown buffer id/);
    expect(c.dead).toBe(true);
    await c.shutdown();
  });

  it("survives forced GC between GPU calls and exits by itself", { timeout: 120_000 }, async () => {
    const src = fileURLToPath(new URL("../src/", import.meta.url));
    const files = ["backend/webgpu.ts", "backend/webgpu_worker.ts", "ops/expr.ts"];
    const out = await transpileGraph(files.map((f) => join(src, f)));
    const script = join(out, "gc_regression.mjs");
    writeFileSync(script, GC_SCRIPT);
    const opts = { encoding: "utf8", timeout: 100_000 } as const;
    expect(execFileSync(process.execPath, ["--expose-gc", script], opts)).toContain("gc-ok");
  });

  it("lets the process exit while the worker is inside Dawn (process.exit, an uncaught error)", { timeout: 120_000 }, async () => {
    const src = fileURLToPath(new URL("../src/", import.meta.url));
    const out = await transpileGraph(["backend/webgpu.ts", "backend/webgpu_worker.ts", "ops/expr.ts"].map((f) => join(src, f)));
    for (const [how, code] of [["exit", 0], ["throw", 1]] as const) {
      const script = join(out, `exit_${how}.mjs`);
      writeFileSync(script, EXIT_SCRIPT(how));
      // Before: SIGABRT (napi_throw in a terminating worker, inside createComputePipeline).
      const r = spawnSync(process.execPath, [script], { encoding: "utf8", timeout: 100_000 });
      expect([r.status, r.signal]).toEqual([code, null]);
    }
  });
});
