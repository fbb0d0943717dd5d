// The CPU backend: Float32Array buffers; each kernel is rendered to JS once per (kernel, layout)
// and compiled with new Function, or, on large contiguous arrays, to WebAssembly SIMD (cpu_simd.ts).
// Sums accumulate in float64, so they are at least as exact as torch's.
import { errors } from "../errors.js";
import { factor, leaf } from "../ops/expr.js";
import { JS_PRELUDE, render } from "../ops/render.js";
import type { Backend, Buf, Kernel, MapSource, MemoryStats, ReduceOp, Shape, Strided } from "./backend.js";
import { numelOf } from "./backend.js";
import { overwritten, pooledBytes, recycle } from "./cpu_pool.js";
import { argExtremes, CHUNK, columnSums, periodic, reads, SIMD_MIN, simdKernel, type SimdKernel } from "./cpu_simd.js";

export class CpuBuf implements Buf {
  holders = 0;
  /** `own`: a kernel's result from overwritten(), never handed out, so free() may pool its array. */
  constructor(readonly data: Float32Array, public own = false) {}
  get size(): number {
    return this.data.length;
  }
}

type Compiled = (
  ins: Float32Array[], strides: number[][], consts: readonly number[], out: Float32Array,
  shape: Shape,
) => void;

const data = (b: Buf): Float32Array => (b as CpuBuf).data;

/** How one input is read: same layout as the output, one element, or through strides. */
type Mode = "c" | "s" | "g";

const layoutCode = (modes: readonly Mode[]): number => modes.reduce((a, m) => a * 3 + "csg".indexOf(m), 0); // a cache key per kernel

function modeOf(s: Strided, outShape: Shape, n: number): Mode {
  if (s.buf.size === 1) return "s";
  if (s.buf.size === n && periodic(s, outShape)) return "c"; // one period as long as the output: contiguous
  return "g";
}


/**
 * Renders a kernel's value for a loop over elements: loop-invariant subexpressions go to `hoist`
 * (before the loop), repeated ones to `temps` (once per element); env gives the leaves' source.
 */
function lower(k: Kernel, modes: readonly Mode[], env: Record<string, string>, hoist: string[]) {
  const f = factor(k.expr, (l) => k.inputs.includes(l) && modes[k.inputs.indexOf(l)] !== "s");
  f.hoisted.forEach((h, j) => {
    hoist.push(`const h${j} = ${render(h, "js", env)};`);
    env[`c${1000 + j}`] = `h${j}`;
  });
  let temps = "";
  f.shared.forEach((t, j) => ((temps += `const t${j} = ${render(t, "js", env)}; `), (env[`i${1000 + j}`] = `t${j}`)));
  return { temps, value: render(f.expr, "js", env) };
}

/** A function of `params` running `src`, its helper functions made once, not per call. */
const withPrelude = (params: string, src: string): unknown =>
  new Function(`"use strict";${JS_PRELUDE}\nreturn function (${params}) {\n${src}\n};`)();

function compile(k: Kernel, modes: Mode[]): Compiled {
  const env: Record<string, string> = {};
  const hoist: string[] = [];
  k.consts.forEach((l, j) => ((env[l] = `c${j}`), hoist.push(`const c${j} = Math.fround(consts[${j}]);`)));
  const general = modes.some((m) => m === "g");
  k.inputs.forEach((l, j) => {
    hoist.push(`const a${j} = ins[${j}];`);
    if (modes[j] === "s") {
      hoist.push(`const v${j} = a${j}[0];`);
      env[l] = `v${j}`;
    } else env[l] = modes[j] === "c" ? `a${j}[i]` : `a${j}[o${j}]`;
  });
  const { temps, value } = lower(k, modes, env, hoist);
  const body = `${temps}out[i] = ${value};`;
  let src: string;
  if (!general) {
    src = `${hoist.join("\n")}\nfor (let i = 0; i < out.length; i++) { ${body} }`;
  } else {
    // Outer loop over rows (all dims but the last), inner loop along the last dim with a stride.
    const gs = k.inputs.map((_, j) => j).filter((j) => modes[j] === "g");
    src = `${hoist.join("\n")}
const r = shape.length, last = r === 0 ? 1 : shape[r - 1], rows = out.length / last;
${gs.map((j) => `const s${j} = strides[${j}], sl${j} = r === 0 ? 0 : s${j}[r - 1];`).join("\n")}
for (let row = 0; row < rows; row++) {
  ${gs.map((j) => `let o${j} = 0;`).join(" ")}
  for (let d = r - 2, rem = row; d >= 0; d--) {
    const q = rem % shape[d]; rem = (rem - q) / shape[d];
    ${gs.map((j) => `o${j} += q * s${j}[d];`).join(" ")}
  }
  for (let i = row * last, e = i + last; i < e; i++) {
    ${body}
    ${gs.map((j) => `o${j} += sl${j};`).join(" ")}
  }
}`;
  }
  return withPrelude("ins, strides, consts, out, shape", src) as Compiled;
}

const COPY: Kernel = { key: "cpu:copy", expr: leaf("i0"), inputs: ["i0"], consts: [] }; // full sums of a buffer

type CompiledReduce = (ins: Float32Array[], consts: readonly number[], n: number) => number;

/** A full reduction of a kernel's values in one loop (inputs same-layout or single elements). */
function compileReduce(k: Kernel, modes: Mode[], op: ReduceOp): CompiledReduce {
  const env: Record<string, string> = {};
  const hoist: string[] = [];
  k.consts.forEach((l, j) => ((env[l] = `c${j}`), hoist.push(`const c${j} = Math.fround(consts[${j}]);`)));
  k.inputs.forEach((l, j) => {
    hoist.push(`const a${j} = ins[${j}];`);
    if (modes[j] === "s") hoist.push(`const v${j} = a${j}[0];`);
    env[l] = modes[j] === "s" ? `v${j}` : `a${j}[i]`;
  });
  // Each value is rounded to float32 first, as a materialized intermediate would be.
  const { temps, value } = lower(k, modes, env, hoist);
  const v = `Math.fround(${value})`;
  const step =
    op === "sum" ? `{ ${temps}acc += ${v}; }`
    : `{ ${temps}const v = ${v}; if (v !== v) return NaN; if (v ${op === "max" ? ">" : "<"} acc) acc = v; }`;
  const init = op === "sum" ? "0" : op === "max" ? "-Infinity" : "Infinity";
  const src = `${hoist.join("\n")}\nlet acc = ${init};\nfor (let i = 0; i < n; i++) ${step}\nreturn acc;`;
  return withPrelude("ins, consts, n", src) as CompiledReduce;
}

export class CpuBackend implements Backend {
  private reduceCache = new WeakMap<Kernel, Map<number, CompiledReduce>>();
  readonly name = "cpu";
  readonly computeOnce = 0; // ab.ts ACT from 16 elements: 0.66x
  // Compiled code per kernel and input layout (kernels are interned by apply.ts, so identity works).
  private cache = new WeakMap<Kernel, Map<number, Compiled>>();
  private simdCache = new WeakMap<Kernel, Map<number, SimdKernel | null>>();

  private wrap = (d: Float32Array, own = false): CpuBuf => new CpuBuf(d, own);
  upload(d: Float32Array): Buf { return this.wrap(d); }
  read(buf: Buf, release = false): Promise<Float32Array> { return Promise.resolve(this.readSync(buf, release)); }
  /** A released buffer's array is handed over as it is: no copy. */
  readSync(buf: Buf, release = false): Float32Array {
    if (release) return ((buf as CpuBuf).own = false), data(buf);
    const d = data(buf), copy = overwritten(d.length);
    return copy.set(d), copy;
  }
  map(k: Kernel, inputs: readonly Strided[], consts: readonly number[], shape: Shape, into?: Buf): Buf {
    const n = numelOf(shape);
    const modes = inputs.map((s) => modeOf(s, shape, n)), layout = layoutCode(modes);
    const bufs = inputs.map((s) => data(s.buf)), out = into ? data(into) : overwritten(n);
    const simd = n >= SIMD_MIN ? this.simd(k, modes, layout) : null;
    if (simd) return simd.map(bufs, consts, out, reads(inputs, modes, shape)), into ?? this.wrap(out, true);
    let byLayout = this.cache.get(k); // the JS kernel, compiled only when SIMD does not run
    if (!byLayout) this.cache.set(k, (byLayout = new Map()));
    let fn = byLayout.get(layout);
    if (!fn) byLayout.set(layout, (fn = compile(k, modes)));
    fn(bufs, inputs.map((s) => s.strides as number[]), consts, out, shape);
    return into ?? this.wrap(out, true);
  }
  reduce(op: ReduceOp, input: Buf, shape: Shape, axes: readonly number[]): Buf {
    const src = data(input);
    const outN = numelOf(shape.filter((_, d) => !axes.includes(d)));
    const simd = op === "sum" && outN === 1 && src.length >= SIMD_MIN ? this.simd(COPY, ["c"], 0) : null;
    if (simd) return this.wrap(Float32Array.of(simd.sum([src], [], src.length)));
    const acc = new Float64Array(outN).fill(op === "sum" ? 0 : op === "max" ? -Infinity : Infinity);
    // NaN propagates: once the accumulator is NaN no comparison replaces it.
    const take = (v: number, a: number): boolean => a === a && (v !== v || (op === "max" ? v > a : v < a)); // the first NaN stays
    const lo = Math.min(...axes), hi = Math.max(...axes);
    if (hi - lo + 1 === axes.length) { // one block of axes: out[o, j] reduces src[o, r, j], in the order of src
      const outer = numelOf(shape.slice(0, lo)), inner = numelOf(shape.slice(hi + 1)), red = numelOf(axes.map((d) => shape[d] as number));
      const vals = op !== "sum" && src.length >= SIMD_MIN && lanes(red, inner) ? new Float32Array(outN) : null; // as argReduce's
      if (vals && argExtremes(op as "max" | "min", src, [outer, red, inner], vals, new Float32Array(outN))) return this.wrap(vals);
      const rows = op === "sum" && inner === 1 && red >= SIMD_MIN ? this.simd(COPY, ["c"], 0) : null; // each row as a full sum
      for (let o = 0, i = 0; o < outer; o++) {
        if (rows) (acc[o] = rows.sum([src.subarray(i, i + red)], [], red)), (i += red);
        else if (inner === 1) { // a row in a register
          let t = acc[o] as number;
          if (op === "sum") for (let r = 0; r < red; r++) t += src[i++] as number;
          else for (let r = 0, v = 0; r < red; r++) if (take((v = src[i++] as number), t)) t = v;
          acc[o] = t;
        } else if (op === "sum" && inner >= 64 && red >= 4 && src.length >= SIMD_MIN && columnSums(src.subarray(i, i + red * inner), inner, acc, o * inner))
          i += red * inner; // columns summed as SIMD (x.sum(0) at [1000, 1000]: 7-9x faster; 2 rows: 1.17x slower)
        else if (op === "sum") // one loop per op (testing the op per element was 1.3x slower)
          for (let r = 0; r < red; r++) for (let j = o * inner, e = j + inner; j < e; j++) acc[j] = (acc[j] as number) + (src[i++] as number);
        else
          for (let r = 0; r < red; r++)
            for (let j = o * inner, e = j + inner, v = 0; j < e; j++) if (take((v = src[i++] as number), acc[j] as number)) acc[j] = v;
      }
    } else {
      const perm = permuted(shape, axes);
      for (let i = 0, o = 0, v = 0; i < src.length; i++)
        if (op === "sum") (o = perm(i)), (acc[o] = (acc[o] as number) + (src[i] as number));
        else if (take((v = src[i] as number), acc[(o = perm(i))] as number)) acc[o] = v;
    }
    return this.wrap(Float32Array.from(acc));
  }
  mapReduce(op: ReduceOp, src: MapSource, shape: Shape, axes: readonly number[]): Buf {
    const n = numelOf(shape);
    const modes = src.inputs.map((s) => modeOf(s, shape, n)), lo = Math.min(...axes), hi = Math.max(...axes);
    const [outer, red, inner] = [numelOf(shape.slice(0, lo)), numelOf(axes.map((d) => shape[d] as number)), numelOf(shape.slice(hi + 1))];
    // A sum over one block of dims by row (the last dims, all of them too) or by column, as reduce() would (the same bits),
    // as the kernel computes its values, in the scratch memory (not its values in a buffer, summed after).
    const block = op === "sum" && hi - lo + 1 === axes.length;
    const byRow = block && inner === 1 && red >= SIMD_MIN, byColumn = block && inner >= 64 && inner <= CHUNK && red >= 4 && n >= SIMD_MIN;
    const part = byRow || byColumn ? this.simd(src.kernel, modes, layoutCode(modes)) : null;
    if (part) {
      const ins = src.inputs.map((s) => data(s.buf)), how = reads(src.inputs, modes, shape), sums = new Float64Array(outer * inner);
      if (byRow) for (let o = 0; o < outer; o++) sums[o] = part.sum(ins, src.consts, n, how, o * red, red);
      if (byRow || part.columns(ins, src.consts, how, [outer, red, inner], sums)) return this.wrap(Float32Array.from(sums));
    }
    // Partial reductions, and max/min as SIMD lanes over a SIMD kernel's values (x.exp().max(): Math.exp per element in
    // the loop below, 1.9x slower): the values into a scratch array (pooled after), then reduced.
    const lanesOver = op !== "sum" && n >= SIMD_MIN && lanes(n, 1) && this.simd(src.kernel, modes, layoutCode(modes)) !== null;
    if (axes.length !== shape.length || modes.includes("g") || lanesOver) {
      const tmp = this.map(src.kernel, src.inputs, src.consts, shape), r = this.reduce(op, tmp, shape, axes);
      return this.free(tmp), r;
    }
    const layout = layoutCode(modes) * 3 + (op === "sum" ? 0 : op === "max" ? 1 : 2);
    let byLayout = this.reduceCache.get(src.kernel);
    if (!byLayout) this.reduceCache.set(src.kernel, (byLayout = new Map()));
    let fn = byLayout.get(layout);
    if (!fn) byLayout.set(layout, (fn = compileReduce(src.kernel, modes, op)));
    return this.wrap(Float32Array.of(fn(src.inputs.map((s) => data(s.buf)), src.consts, n)));
  }
  /** The SIMD version of a kernel (its "g" inputs repeating: see cpu_simd.ts), made at its first large call. */
  private simd(k: Kernel, modes: Mode[], layout: number): SimdKernel | null {
    let byLayout = this.simdCache.get(k);
    if (!byLayout) this.simdCache.set(k, (byLayout = new Map()));
    let s = byLayout.get(layout);
    if (s === undefined) byLayout.set(layout, (s = simdKernel(k, modes.map((m) => m === "s"))));
    return s;
  }
  argReduce(op: "max" | "min", input: Buf, shape: Shape, axis: number): [Buf, Buf] {
    const src = data(input);
    const { outer, red, inner } = split(shape, [axis]);
    const vals = new Float32Array(outer * inner), idx = new Float32Array(outer * inner), sign = op === "max" ? 1 : -1;
    if (src.length >= SIMD_MIN && lanes(red, inner) && argExtremes(op, src, [outer, red, inner], vals, idx))
      return [this.wrap(vals), this.wrap(idx)]; // the loop's values and indices, 3-10x faster
    // The first NaN, else the first best; rows in memory order (a column at a time, strided: x.max(0) 1.2x slower).
    for (let o = 0, i = 0; o < outer; o++) {
      const at = o * inner;
      if (inner === 1) {
        let best = src[i] as number, bi = 0;
        for (let r = 1, v = 0; r < red && best === best; r++) if ((v = src[i + r] as number) * sign > best * sign || v !== v) (best = v), (bi = r);
        (vals[o] = best), (idx[o] = bi), (i += red);
        continue;
      }
      vals.set(src.subarray(i, i + inner), at), (i += inner);
      for (let r = 1; r < red; r++)
        for (let j = at, e = at + inner, best = 0, v = 0; j < e; j++, i++)
          if ((best = vals[j] as number) === best && ((v = src[i] as number) * sign > best * sign || v !== v)) (vals[j] = v), (idx[j] = r);
    }
    return [this.wrap(vals), this.wrap(idx)];
  }
  oneHot(indices: Buf, outShape: Shape, axis: number): Buf {
    const ix = data(indices);
    const { outer, red, inner } = split(outShape, [axis]);
    const out = new Float32Array(outer * red * inner);
    for (let o = 0; o < outer; o++)
      for (let j = 0; j < inner; j++) out[(o * red + (ix[o * inner + j] as number)) * inner + j] = 1;
    return this.wrap(out);
  }
  /** A kernel's result goes to the pool (once: own is cleared); other arrays are left to the garbage collector. */
  free(buf: Buf): void { const b = buf as CpuBuf; if (b.own) (b.own = false), recycle(b.data); }
  /** The process's typed-array memory, of which `pooled` freed kernel results: per-buffer tracking (FinalizationRegistry)
   * costs more than the allocation itself at small sizes, and the garbage collector owns these buffers anyway. */
  memory(): MemoryStats {
    const bytes = process.memoryUsage().arrayBuffers;
    return { allocatedBytes: bytes, inUseBytes: bytes - pooledBytes(), pooledBytes: pooledBytes() };
  }
}

/** Whether max/min over `red` (rows of `inner`) per output block run as argExtremes's lanes: rows of 64-128 and blocks of
 * 4 x 4 were 1.07-1.5x and 2-3x slower than the loop (a fixed cost per block), rows of 256 0.56x, blocks of 512 0.22x. */
const lanes = (red: number, inner: number): boolean => (inner === 1 ? red >= 256 : inner >= 4 && red * inner >= 512);

/** Sizes before, along and after one axis. */
function split(shape: Shape, axes: readonly number[]): { outer: number; red: number; inner: number } {
  const a = axes[0] as number;
  return { outer: numelOf(shape.slice(0, a)), red: shape[a] as number, inner: numelOf(shape.slice(a + 1)) };
}

/** Maps an input linear index to its output index once `axes` are removed. */
function permuted(shape: Shape, axes: readonly number[]): (i: number) => number {
  const r = shape.length;
  const os = new Array<number>(r).fill(0);
  for (let d = r - 1, acc = 1; d >= 0; d--) {
    if (axes.includes(d)) continue;
    os[d] = acc;
    acc *= shape[d] as number;
  }
  return (i: number) => {
    let o = 0;
    for (let d = r - 1; d >= 0; d--) {
      const n = shape[d] as number, q = i % n;
      i = (i - q) / n;
      o += q * (os[d] as number);
    }
    return o;
  };
}
