// Tensors bigger than one storage binding on WebGPU: every split kernel against the CPU on a
// backend whose binding is shrunk to 4 KiB, the tutorial step on 2^28 elements (1 GiB) through
// the public API, and 1000 small steps whose GPU memory must stay flat. Skips without an adapter
// (fails under GRADWISE_REQUIRE_WEBGPU=1, see setup.ts).
import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, describe, expect, it } from "vitest";
import type { Shape } from "../src/backend/backend.js";
import { numelOf } from "../src/backend/backend.js";
import { CpuBackend } from "../src/backend/cpu.js";
import { createWebGpuBackend, type WebGpuBackend } from "../src/backend/webgpu.js";
import { x, y, z } from "../src/ops/expr.js";
import { type Tensor, manualSeed, memory, noGrad, randn, requestDevice } from "../src/index.js";
import { availableDevices } from "./setup.js";
import { compareArgReduce, compareMap, compareOneHot, expectClose, kernel, rand, randArray } from "./webgpu_helpers.js";

const gpuDev = (await availableDevices()).find((d) => d.type === "webgpu");
// 1024 floats per binding, offsets in steps of 64 floats: small inputs cross many bindings.
const small = gpuDev ? await createWebGpuBackend({ maxStorageBufferBindingSize: 4096 }) : null;
const cpu = new CpuBackend();
const OPS = ["sum", "max", "min"] as const;
afterAll(async () => small?.shutdown());

describe.skipIf(!small)("WebGPU with a 4 KiB binding", () => {
  const g = small as WebGpuBackend;

  it("splits maps: same-layout, scalar, broadcast and sliced inputs, in place", () => {
    const n = 10_000;
    const flat = (d: Float32Array) => ({ data: d, shape: [d.length] });
    const ins = [flat(randArray(n)), flat(randArray(n)), { data: randArray(1), shape: [] }];
    compareMap(g, cpu, kernel(x.mul(y).add(z), ["x", "y", "z"]), ins, [], [n], 2e-7, 1e-7);
    // Broadcast rows bigger than a binding: dispatches split where they cross rows.
    const b = [{ data: randArray(5000), shape: [5000] }, { data: randArray(3), shape: [3, 1] },
      { data: randArray(15_000), shape: [3, 5000] }];
    compareMap(g, cpu, kernel(x.mul(y).sub(z), ["x", "y", "z"]), b, [], [3, 5000], 2e-7, 1e-7);
    const c = [{ data: randArray(4000), shape: [2, 1, 40, 50] }];
    compareMap(g, cpu, kernel(x.mul(2), ["x"]), c, [], [2, 3, 40, 50]);
    // Every 7th of 5000 floats: each dispatch binds the range it reads.
    const d = randArray(5000);
    const k = kernel(x.add(1), ["x"]);
    const every7 = (be: WebGpuBackend | CpuBackend) =>
      be.readSync(be.map(k, [{ buf: be.upload(d), strides: [7] }], [], [700]));
    expectClose(every7(g), every7(cpu));
    // In place over 5000 floats (the destination read as an input).
    const a = randArray(5000), w = randArray(5000);
    const ga = g.upload(a);
    const ab = [{ buf: ga, strides: [1] }, { buf: g.upload(w), strides: [1] }];
    g.map(kernel(x.mul(y).add(x), ["x", "y"]), ab, [], [5000], ga);
    expectClose(g.readSync(ga), a.map((v, i) => v * (w[i] as number) + v), 2e-7, 1e-7);
  });

  it("reads transposes over a binding in pieces, or throws a RangeError naming the case", () => {
    // An [80, 80] transpose: every output row reads a column, split into pieces that fit.
    const d = randArray(6400);
    const neg = kernel(x.neg(), ["x"]);
    const tr = (be: WebGpuBackend | CpuBackend, n: number, buf = be.upload(d)) =>
      be.map(neg, [{ buf, strides: [1, n] }], [], [n, n]);
    expectClose(g.readSync(tr(g, 80)), cpu.readSync(tr(cpu, 80)));
    // [400, 400]: too many pieces per chunk. The kernel still works afterwards.
    const big = g.upload(randArray(160_000));
    const k3 = kernel(x.mul(3), ["x"]);
    const t3 = (buf = big) => g.map(k3, [{ buf, strides: [1, 400] }], [], [400, 400], buf);
    expect(t3).toThrow(RangeError);
    expect(t3).toThrow(/160000 floats \(640000 bytes\) through strides.* 4096 bytes/);
    const ok = g.map(k3, [{ buf: g.upload(d), strides: [1] }], [], [6400]);
    expectClose(g.readSync(ok), d.map((v) => v * 3));
  });

  it("reduces in slabs (sum/max/min over any axes, NaN in any slab)", () => {
    const cases: [Shape, number[]][] = [[[10_000], [0]], [[37, 300], [0]], [[37, 300], [1]],
      [[5, 3000], [1]], [[5, 3000], [0]], [[4, 7, 500], [0, 2]], [[4, 7, 500], [1]],
      [[3000, 5], [0, 1]], [[2, 2000, 3], [0]], [[2, 2000, 3], [1]], [[3, 1, 4000], [2]]];
    for (const [shape, axes] of cases) {
      const d = randArray(numelOf(shape));
      const gi = g.upload(d), ci = cpu.upload(d);
      for (const op of OPS) {
        const want = cpu.readSync(cpu.reduce(op, ci, shape, axes));
        const got = g.readSync(g.reduce(op, gi, shape, axes));
        const tol = op === "sum" ? 1e-5 : 0;
        expectClose(got, want, tol, tol * Math.max(...shape), `${op} [${shape}] over [${axes}]`);
      }
    }
    for (const at of [3, 9000]) {
      const d = randArray(10_000);
      d[at] = NaN;
      for (const op of OPS) {
        expectClose(g.readSync(g.reduce(op, g.upload(d), [10_000], [0])), Float32Array.of(NaN));
      }
    }
  });

  // Past 8 merged dims a map dispatches per block of its innermost 8 and a reduction fixes leading
  // dims slab by slab: here blocks and slabs also cross bindings (they threw a RangeError).
  it("maps and reduces past 8 dims across bindings", () => {
    const alt = (n: number, from: number) => Array.from({ length: n }, (_, d) => ((d + from) % 2 ? 1 : 2));
    const out = [...alt(10, 0), 300]; // 2,1,2,1,... then 300: 9600 floats
    const ins = [{ data: randArray(numelOf([...alt(10, 0), 300])), shape: [...alt(10, 0), 300] },
      { data: randArray(numelOf([...alt(10, 1), 300])), shape: [...alt(10, 1), 300] }];
    const full = out.map((n, d) => (d < 10 ? 2 : n));
    compareMap(g, cpu, kernel(x.mul(y).add(1), ["x", "y"]), ins, [], full, 2e-7, 1e-7);
    const shape = Array(17).fill(2), d = randArray(numelOf(shape)); // 128 bindings' worth
    for (const axes of [[0, 2, 4, 6, 8, 10, 12, 14, 16], [1, 3, 5, 7, 9, 11, 13, 15]]) {
      for (const op of ["sum", "max"] as const) {
        const want = cpu.readSync(cpu.reduce(op, cpu.upload(d), shape, axes));
        expectClose(g.readSync(g.reduce(op, g.upload(d), shape, axes)), want, op === "sum" ? 1e-5 : 0, 1e-4, `${op} over [${axes}]`);
      }
    }
  });

  it("argReduces in slabs: the first extreme across slabs, NaN first", () => {
    const cases: [Shape, number][] = [[[10_000], 0], [[5, 3000], 1], [[5, 3000], 0],
      [[3, 700, 4], 0], [[3, 700, 4], 1], [[3, 700, 4], 2]];
    for (const [shape, axis] of cases) {
      for (const nan of [false, true]) {
        const d = Float32Array.from({ length: numelOf(shape) }, () => Math.round(rand(0, 20)));
        if (nan) [d[d.length - 7], d[2100]] = [NaN, NaN];
        compareArgReduce(g, cpu, d, shape, axis);
      }
    }
  });

  it("builds one-hot tensors bigger than a binding from indices bigger than one", () => {
    const cases: [number[], number][] = [[[3000, 5], 1], [[5, 3000], 0], [[2, 5, 700], 1]];
    for (const [shape, axis] of cases) compareOneHot(g, cpu, shape, axis);
  });
});

/** Peak resident memory of this process so far (Linux), in GiB. */
const peakGiB = (): number => {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) / 2 ** 20 : NaN;
};

const tutorialStep = (x: Tensor): Tensor => {
  const y = x.add(2);
  const z = y.mul(y).mul(2).mean();
  z.backward();
  return z;
};

describe.skipIf(!gpuDev)("WebGPU at scale", () => {
  it("runs the tutorial step on 2^28 elements (1 GiB) like the CPU", { timeout: 600_000 }, () => {
    const t0 = Date.now();
    const lap = (what: string) => console.log(`${what}: ${(Date.now() - t0) / 1000} s`);
    const N = 2 ** 28;
    manualSeed(0);
    const xc = randn([N], { requiresGrad: true });
    lap("randn");
    const xg = xc.detach().to(gpuDev as NonNullable<typeof gpuDev>).requiresGrad_(true);
    const zg = tutorialStep(xg).item();
    const got = (xg.grad as Tensor).dataSync();
    lap("webgpu step and reads");
    const zc = tutorialStep(xc).item();
    const want = (xc.grad as Tensor).dataSync();
    lap("cpu step");
    expect(Math.abs(zg - zc)).toBeLessThanOrEqual(1e-5 * Math.abs(zc));
    // Densely: the first 2^16 and every 97th element; then the largest deviation over all.
    expectClose(got.subarray(0, 65_536), want.subarray(0, 65_536), 1e-5, 1e-30);
    const pick = (a: Float32Array) => Float32Array.from({ length: N / 97 }, (_, i) => a[i * 97] as number);
    expectClose(pick(got), pick(want), 1e-5, 1e-30);
    let maxDiff = 0, maxRel = 0;
    for (let i = 0; i < N; i++) {
      const w = want[i] as number, d = Math.abs((got[i] as number) - w);
      if (d > maxDiff || d !== d) maxDiff = d;
      if (d > 0 || d !== d) maxRel = Math.max(maxRel, d / Math.abs(w)) || NaN;
    }
    lap(`compare (max abs diff ${maxDiff}, max rel ${maxRel}, z ${zg} vs ${zc})`);
    console.log(`peak RSS ${peakGiB().toFixed(2)} GiB`);
    expect(maxRel).toBeLessThanOrEqual(1e-5); // NaN fails too
  });

  it("keeps GPU memory flat over 1000 tutorial steps", { timeout: 120_000 }, async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const dev = await requestDevice("webgpu");
    const x = randn([10_000], { device: dev, requiresGrad: true });
    const settled = async (z: Tensor) => {
      for (let k = 0; k < 3; k++) {
        gc();
        await new Promise((r) => setTimeout(r, 10));
      }
      z.item(); // a read brings the worker's pool statistics along
      return memory(dev);
    };
    let at100 = memory(dev);
    for (let step = 1; step <= 1000; step++) {
      const z = tutorialStep(x);
      noGrad(() => x.sub_((x.grad as Tensor).mul(1e-3)));
      x.grad = null;
      // Collected buffers are released by FinalizationRegistry callbacks, which run only between
      // tasks; V8 does not see GPU memory, so a loop that never yields never frees any.
      if (step % 10 === 0) {
        gc();
        await new Promise((r) => setImmediate(r));
      }
      if (step === 100) at100 = await settled(z);
      if (step === 1000) {
        const at1000 = await settled(z);
        console.log(`webgpu bytes in use / pooled: ${at100.inUseBytes} / ${at100.pooledBytes} after step 100, ` +
          `${at1000.inUseBytes} / ${at1000.pooledBytes} after 1000`);
        // Live buffers are exact; the pool drops what went unused for IDLE_MS of wall time, so how
        // much it holds at one moment depends on the machine's speed (4.3 to 6.2 MB at step 100).
        expect(at1000.inUseBytes).toBeLessThanOrEqual(at100.inUseBytes + 64 * 1024);
        expect(at1000.pooledBytes).toBeLessThanOrEqual(Math.max(at100.pooledBytes, 8 * 2 ** 20));
      }
    }
  });
});
