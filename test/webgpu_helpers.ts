// Helpers for webgpu_backend.test.ts: kernels from IR expressions, seeded random data, NaN-aware
// comparison, and running one map on two backends.
import { expect } from "vitest";
import type { Backend, Kernel, Shape } from "../src/backend/backend.js";
import { contiguousStrides } from "../src/backend/backend.js";
import type { E, Leaf } from "../src/ops/expr.js";
import { render } from "../src/ops/render.js";
import { createWebGpuBackend, type WebGpuBackend } from "../src/backend/webgpu.js";

/** A kernel keyed by its JS rendering, so distinct expressions never share a pipeline. */
export function kernel(expr: E, inputs: readonly Leaf[], consts: readonly Leaf[] = []): Kernel {
  const env = Object.fromEntries([...inputs, ...consts].map((l) => [l, l]));
  const key = `${inputs.join("")}|${consts.join("")}|${render(expr, "js", env)}`;
  return { key, expr, inputs, consts };
}

/** Strides reading `shape` broadcast to `out` (0 where broadcast). */
export function bstrides(shape: Shape, out: Shape): number[] {
  const c = contiguousStrides(shape);
  return out.map((_, d) => c[d - (out.length - shape.length)] ?? 0);
}

let seed = 12345;
/** A deterministic uniform draw in [lo, hi). */
export function rand(lo = -1, hi = 1): number {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return lo + ((hi - lo) * seed) / 2 ** 31;
}
export const randArray = (n: number, lo = -1, hi = 1): Float32Array =>
  Float32Array.from({ length: n }, () => rand(lo, hi));

/** Values that trip up float code, then `extra` random ones in [-10, 10). */
export const SPECIAL = [0, -0, 1, -1, 0.5, -0.5, 2, -2, 3, -3, 1e-7, -1e-7, 1e-3, 0.2, -0.2, 0.3,
  -0.3, 0.7, -0.7, 20, -20, 88, 89, -88, -104, 1e30, -1e30, Infinity, -Infinity, NaN];
export const specials = (extra: number): Float32Array =>
  Float32Array.from([...SPECIAL, ...randArray(extra, -10, 10)]);

/** Elementwise equality within rtol/atol; NaN equals NaN, infinities must match exactly. */
export function expectClose(got: Float32Array, want: Float32Array, rtol = 0, atol = 0, what = "") {
  expect(got.length).toBe(want.length);
  const bad: string[] = [];
  for (let i = 0; i < want.length && bad.length < 5; i++) {
    const g = got[i] as number, w = want[i] as number;
    let ok: boolean;
    if (Number.isNaN(w)) ok = Number.isNaN(g);
    else if (!Number.isFinite(w)) ok = g === w;
    else ok = Math.abs(g - w) <= atol + rtol * Math.abs(w);
    if (!ok) bad.push(`[${i}] got ${g} want ${w}`);
  }
  expect(bad, what).toEqual([]);
}

export interface In {
  data: Float32Array;
  shape: Shape;
}

/** Runs one kernel on both backends (inputs broadcast to `out`) and compares. */
export function compareMap(
  gpu: Backend,
  cpu: Backend,
  k: Kernel,
  ins: In[],
  consts: number[],
  out: Shape,
  rtol = 0,
  atol = 0,
): Float32Array {
  const run = (b: Backend): Float32Array => {
    const strided = ins.map((i) => ({ buf: b.upload(i.data), strides: bstrides(i.shape, out) }));
    return b.readSync(b.map(k, strided, consts, out));
  };
  const want = run(cpu), got = run(gpu);
  expectClose(got, want, rtol, atol, k.key);
  return got;
}

/** argmax/argmin of `d` on both backends: values and first indices must agree exactly. */
export function compareArgReduce(gpu: Backend, cpu: Backend, d: Float32Array, shape: Shape, axis: number) {
  for (const op of ["max", "min"] as const) {
    const [cv, ci] = cpu.argReduce(op, cpu.upload(d), shape, axis).map((b) => cpu.readSync(b));
    const [gv, gi] = gpu.argReduce(op, gpu.upload(d), shape, axis).map((b) => gpu.readSync(b));
    const what = `arg${op} [${shape}] axis ${axis}`;
    expectClose(gv as Float32Array, cv as Float32Array, 0, 0, `${what} values`);
    expectClose(gi as Float32Array, ci as Float32Array, 0, 0, `${what} indices`);
  }
}

/** oneHot of random indices along `axis` on both backends, compared exactly. */
export function compareOneHot(gpu: Backend, cpu: Backend, shape: Shape, axis: number) {
  const n = shape.filter((_, d) => d !== axis).reduce((a, b) => a * b, 1);
  const len = shape[axis] as number;
  const idx = Float32Array.from({ length: n }, () => Math.floor(rand(0, len)));
  const want = cpu.readSync(cpu.oneHot(cpu.upload(idx), shape, axis));
  expectClose(gpu.readSync(gpu.oneHot(gpu.upload(idx), shape, axis)), want, 0, 0, `[${shape}]`);
}

/** The script of the GC regression test: forced GC on both threads between GPU calls. */
export const GC_SCRIPT = `
import { createWebGpuBackend } from "./src/backend/webgpu.js";
import { x } from "./src/ops/expr.js";
const b = await createWebGpuBackend();
const k = { key: "gc", expr: x.mul(2), inputs: ["x"], consts: [] };
for (let i = 0; i < 60; i++) {
  const a = b.upload(new Float32Array(4096).fill(i));
  b.debugGc();
  const o = b.map(k, [{ buf: a, strides: [1] }], [], [4096]);
  await new Promise((r) => setTimeout(r, 2));
  const v = i % 2 ? b.readSync(o)[4095] : (await b.read(o))[4095];
  if (v !== 2 * i) throw new Error("bad value " + v);
  globalThis.gc();
}
// No shutdown(): the worker must not keep the process alive.
console.log("gc-ok");
`;

/** Exits (process.exit(0), or an uncaught error) while the worker compiles a new kernel. */
export const EXIT_SCRIPT = (how: "exit" | "throw"): string => `
import { createWebGpuBackend } from "./src/backend/webgpu.js";
import { x } from "./src/ops/expr.js";
const b = await createWebGpuBackend();
const k = { key: "exit", expr: x.mul(2).add(1).exp().sqrt(), inputs: ["x"], consts: [] };
void b.read(b.map(k, [{ buf: b.upload(new Float32Array(1000)), strides: [1] }], [], [1000]));
${how === "exit" ? "process.exit(0);" : 'throw new Error("a bug of the user");'}
`;

/**
 * A WebGPU backend of a suite's own, or null with one line saying why the suite is skipped; with
 * GRADWISE_REQUIRE_WEBGPU=1 a missing adapter fails instead.
 */
export async function openOrSkip(suite: string): Promise<WebGpuBackend | null> {
  try {
    return await createWebGpuBackend();
  } catch (e) {
    const why = (e as Error).message.split("\n")[0];
    if (process.env.GRADWISE_REQUIRE_WEBGPU === "1") throw new Error(`no WebGPU: ${why}`);
    console.log(`${suite} tests skipped: ${why}`);
    return null;
  }
}
