// Plans WebGPU dispatches on the main thread: meta blocks (the words each shader's header lists),
// grid sizes, and the passes of tree reductions. Shapes never reach shader source.
import type { ReduceOp, Shape } from "./backend.js";
import { numelOf } from "./backend.js";
import { type Kind, MAX_INPUTS, META_WORDS, WORKGROUP } from "./webgpu_protocol.js";

export const MAX_RANK = 8;
/** Values per thread before a reduction splits its items over more threads. */
const PER_THREAD = 16;
const INF_BITS = 0x7f800000;

/** Where planned work goes: the backend turns it into worker commands. */
export interface Sink {
  /** A new buffer of `elements` floats (a temporary or an output). */
  alloc(elements: number): number;
  free(id: number): void;
  /** One dispatch of `threads` threads; `wgsl`: a map's expression on its key's first use. */
  run(
    kind: Kind, key: string, ids: number[], meta: Uint32Array, threads: number, wgsl?: string,
  ): void;
}

export function newMeta(): { u: Uint32Array; f: Float32Array } {
  const u = new Uint32Array(META_WORDS);
  u[META_WORDS - 1] = INF_BITS;
  return { u, f: new Float32Array(u.buffer) };
}

/** Workgroups for `threads` threads, folded into 2-D once past the per-dimension limit. */
export function grid(threads: number, maxPerDim: number): [number, number] {
  const wg = Math.max(1, Math.ceil(threads / WORKGROUP));
  if (wg <= maxPerDim) return [wg, 1];
  const y = Math.ceil(wg / maxPerDim);
  if (y > maxPerDim) throw new RangeError(`webgpu: ${threads} threads exceed the dispatch grid`);
  return [maxPerDim, y];
}

/** How a map input is read: 0 in the output's layout, 1 its only element, 2 through strides. */
export function readMode(size: number, strides: readonly number[], shape: Shape): 0 | 1 | 2 {
  if (size === 1) return 1;
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d] ?? 1;
    if (n !== 1 && strides[d] !== acc) return 2;
    acc *= n;
  }
  return size === acc ? 0 : 2;
}

/** The meta block of an elementwise map (see shaders/elementwise.wgsl). */
export function mapMeta(
  shape: Shape,
  strides: readonly (readonly number[])[],
  modes: readonly number[],
  consts: readonly number[],
): Uint32Array {
  const { u, f } = newMeta();
  const strided = modes.map((m, j) => (m === 2 ? j : -1)).filter((j) => j >= 0);
  // Drop size-1 dims and merge neighbours every strided input walks as one: most ranks collapse.
  const dims: { n: number; s: number[] }[] = [];
  shape.forEach((n, d) => {
    if (n === 1) return;
    const s = strided.map((j) => strides[j]?.[d] ?? 0);
    const prev = dims[dims.length - 1];
    if (prev && prev.s.every((p, k) => p === (s[k] as number) * n)) {
      prev.n *= n;
      prev.s = s;
    } else dims.push({ n, s });
  });
  if (dims.length > MAX_RANK) {
    throw new RangeError(`webgpu: a map over [${shape}] needs rank ${dims.length} > ${MAX_RANK}`);
  }
  u[0] = numelOf(shape);
  u[1] = dims.length;
  u[2] = strided.length > 0 ? 1 : 0;
  for (let j = 0; j < MAX_INPUTS; j++) u[8 + j] = modes[j] ?? 1;
  dims.forEach((dim, d) => {
    u[16 + d] = dim.n;
    strided.forEach((j, k) => (u[24 + j * 8 + d] = (dim.s[k] as number) >>> 0));
  });
  consts.forEach((c, j) => (f[72 + j] = c));
  return u;
}

type Dim = [size: number, stride: number];

/** Kept and reduced dims of a contiguous shape, size-1 dims dropped and runs of one kind merged. */
function splitDims(shape: Shape, axes: readonly number[]): { kept: Dim[]; red: Dim[] } {
  const kept: Dim[] = [], red: Dim[] = [];
  let stride = numelOf(shape), last: Dim[] | null = null;
  shape.forEach((n, d) => {
    stride /= n;
    if (n === 1) return;
    const list = axes.includes(d) ? red : kept;
    const prev = list[list.length - 1];
    if (last === list && prev) prev[0] *= n, (prev[1] = stride);
    else list.push([n, stride]);
    last = list;
  });
  if (kept.length > MAX_RANK || red.length > MAX_RANK) {
    throw new RangeError(`webgpu: a reduction over [${shape}] needs rank > ${MAX_RANK}`);
  }
  return { kept, red };
}

/** Threads per item, chunk length and chunk count for reducing `r` values per output. */
function passShape(r: number): { tpo: number; ch: number; chunks: number } {
  if (r <= PER_THREAD) return { tpo: 1, ch: Math.max(1, r), chunks: 1 };
  const tpo = Math.min(WORKGROUP, 2 ** Math.ceil(Math.log2(Math.ceil(r / PER_THREAD))));
  const ch = tpo * PER_THREAD;
  return { tpo, ch, chunks: Math.ceil(r / ch) };
}

type Pass = ReturnType<typeof passShape>;

function reduceMeta(op: number, items: number, r: number, p: Pass, kept: Dim[], red: Dim[]) {
  const { u } = newMeta();
  u.set([items, p.chunks, p.ch, p.tpo, op, r, kept.length, red.length]);
  kept.forEach(([n, s], d) => ((u[8 + d] = n), (u[16 + d] = s)));
  red.forEach(([n, s], d) => ((u[24 + d] = n), (u[32 + d] = s)));
  return u;
}

const OPCODE: Record<ReduceOp, number> = { sum: 0, max: 1, min: 2 };

/**
 * sum/max/min of contiguous `shape` over `axes` into `dst`, as passes of a tree reduction: each
 * pass turns (output, chunk) items into partial results until one chunk per output is left.
 */
export function planReduce(
  sink: Sink, op: ReduceOp, src: number, shape: Shape, axes: readonly number[], dst: number,
): void {
  let { kept, red } = splitDims(shape, axes);
  const outN = numelOf(kept.map((d) => d[0]));
  let r = numelOf(red.map((d) => d[0]));
  for (let cur = src; ; ) {
    const p = passShape(r);
    const items = outN * p.chunks;
    const out = p.chunks === 1 ? dst : sink.alloc(items);
    const meta = reduceMeta(OPCODE[op], items, r, p, kept, red);
    sink.run("reduce", "reduce", [out, cur], meta, items * p.tpo);
    if (cur !== src) sink.free(cur);
    if (p.chunks === 1) return;
    [cur, r, kept, red] = [out, p.chunks, outN > 1 ? [[outN, p.chunks]] : [], [[p.chunks, 1]]];
  }
}

/** argmax/argmin along `axis` into `vals` and `idx`, as tree-reduction passes over pairs. */
export function planArg(
  sink: Sink, op: "max" | "min", src: number, shape: Shape, axis: number, vals: number, idx: number,
): void {
  const outer = numelOf(shape.slice(0, axis)), inner = numelOf(shape.slice(axis + 1));
  const outN = outer * inner;
  let r = shape[axis] ?? 1;
  let kept: Dim[] = [[outer, r * inner], [inner, 1]], red: Dim[] = [[r, inner]];
  let cur: [number, number] | null = null;
  for (;;) {
    const p = passShape(r);
    const items = outN * p.chunks;
    const last = p.chunks === 1;
    const out: [number, number] = last ? [vals, idx] : [sink.alloc(items), sink.alloc(items)];
    const meta = reduceMeta(OPCODE[op], items, r, p, kept, red);
    meta[40] = cur ? 1 : 0;
    sink.run("arg", "arg", [...out, ...(cur ?? [src, -1])], meta, items * p.tpo);
    if (cur) cur.forEach((id) => sink.free(id));
    if (last) return;
    [cur, r, kept, red] = [out, p.chunks, [[outN, p.chunks]], [[p.chunks, 1]]];
  }
}

/** One-hot along `axis` of `outShape` from float indices. */
export function planOneHot(
  sink: Sink, idx: number, outShape: Shape, axis: number, dst: number,
): void {
  const { u } = newMeta();
  const n = numelOf(outShape);
  u.set([n, outShape[axis] ?? 1, numelOf(outShape.slice(axis + 1))]);
  sink.run("onehot", "onehot", [dst, idx], u, n);
}
