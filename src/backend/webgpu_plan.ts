// Plans WebGPU dispatches on the main thread: meta blocks (the words each shader's header lists),
// grid sizes, and the passes of tree reductions over buffer views. Shapes never reach shader
// source; webgpu_split.ts cuts work on buffers bigger than one binding into such views.
import type { Kernel, ReduceOp, Shape, Strided } from "./backend.js";
import { numelOf } from "./backend.js";
import { type Kind, MAX_CONSTS, MAX_INPUTS, META_WORDS, type Range, WORKGROUP } from "./webgpu_protocol.js";

export const MAX_RANK = 8;
/** Values per thread before a reduction splits its items over more threads; LAST: per thread in
 * a sum/max/min's last pass. */
const PER_THREAD = 16, LAST = 64;
const INF_BITS = 0x7f800000;

/** Where planned work goes: the backend turns it into worker commands. */
export interface Sink {
  /** A new buffer of `elements` floats (a temporary or an output). */
  alloc(elements: number): number;
  free(id: number): void;
  /**
   * One dispatch of `threads` threads; `wgsl`: a map's expression on its key's first use;
   * `ranges`: per id, the bound sub-range (null or absent: the whole buffer).
   */
  run(
    kind: Kind, key: string, ids: number[], meta: Uint32Array, threads: number, wgsl?: string,
    ranges?: (Range | null)[],
  ): void;
  /** Floats one storage binding may hold. */
  readonly bind: number;
  /** Binding offsets are multiples of this many floats. */
  readonly align: number;
}

/** `len` floats of buffer `id` from float `off`. */
export interface View {
  id: number;
  off: number;
  len: number;
}

export const whole = (id: number, len: number): View => ({ id, off: 0, len });

/** The aligned sub-range that binds a view, and where the view starts within it (floats). */
export function bindView(sink: Sink, v: View): { range: Range; rem: number } {
  const start = v.off - (v.off % sink.align);
  return { range: [start * 4, Math.max(4, (v.off + v.len - start) * 4)], rem: v.off - start };
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

/** Sets word 95 of a dispatch's meta block, gw_thread's threads per grid row (common.wgsl), in
 * place: planners hand each run a fresh block. */
export function withRow(meta: Uint32Array, groupsX: number): Uint32Array {
  meta[95] = groupsX * WORKGROUP;
  return meta;
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

/** A dim of a map's output with the stride of each strided input (in `strided` order). */
export interface MapDim {
  n: number;
  s: number[];
}

/** The meta block of an elementwise map (see shaders/elementwise.wgsl) and its merged dims (all of them). */
export function mapMeta(
  shape: Shape,
  strides: readonly (readonly number[])[],
  modes: readonly number[],
  consts: readonly number[],
): { meta: Uint32Array; dims: MapDim[] } {
  const { u, f } = newMeta();
  const strided = modes.map((m, j) => (m === 2 ? j : -1)).filter((j) => j >= 0);
  // Drop size-1 dims and merge neighbours every strided input walks as one: most ranks collapse.
  const dims: MapDim[] = [];
  shape.forEach((n, d) => {
    if (n === 1) return;
    const s = strided.map((j) => strides[j]?.[d] ?? 0);
    const prev = dims[dims.length - 1];
    if (prev && prev.s.every((p, k) => p === (s[k] as number) * n)) {
      prev.n *= n;
      prev.s = s;
    } else dims.push({ n, s });
  });
  // Past MAX_RANK the meta holds the innermost dims: planMap dispatches each block of them apart.
  const inner = dims.slice(-MAX_RANK);
  u[0] = numelOf(shape);
  u[1] = inner.length;
  u[2] = strided.length > 0 ? 1 : 0;
  for (let j = 0; j < MAX_INPUTS; j++) u[8 + j] = modes[j] ?? 1;
  inner.forEach((dim, d) => {
    u[16 + d] = dim.n;
    strided.forEach((j, k) => (u[24 + j * 8 + d] = (dim.s[k] as number) >>> 0));
  });
  consts.forEach((c, j) => (f[72 + j] = c));
  return { meta: u, dims };
}

type Dim = [size: number, stride: number];

/** Kept and reduced dims of a contiguous shape, size-1 dims dropped and runs of one kind merged. */
function runs(shape: Shape, axes: readonly number[]): { kept: Dim[]; red: Dim[] } {
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
  return { kept, red };
}

const within = (r: ReturnType<typeof runs>, rank: number): boolean => r.kept.length <= rank && r.red.length <= rank;
/** Whether a reduction's kept and reduced runs each number at most `rank` (slabs fix leading dims until they do). */
export const reduceFits = (shape: Shape, axes: readonly number[], rank = MAX_RANK): boolean => within(runs(shape, axes), rank);

function splitDims(shape: Shape, axes: readonly number[]): { kept: Dim[]; red: Dim[] } {
  const r = runs(shape, axes);
  if (within(r, MAX_RANK)) return r; // slabs() fixed leading dims until it does
  throw new Error(`webgpu: internal error: a reduction over [${shape}] needs rank > ${MAX_RANK}`);
}

/** Threads per item, chunk length and chunk count for reducing `r` values per output. `halve`: the
 * item's threads combine in shared memory (arg_reduce.wgsl); else each leaves a partial for the
 * next pass (lavapipe's barriers: a sum 4x its loads' time, standalone) until one thread folds LAST. */
function passShape(r: number, halve: boolean): { tpo: number; ch: number; chunks: number } {
  if (r <= (halve ? PER_THREAD : LAST)) return { tpo: 1, ch: Math.max(1, r), chunks: 1 };
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

/** Binds a reduction pass's views; meta words 41 and 42: where source and dst start in theirs. */
function bindPass(
  sink: Sink, meta: Uint32Array, outs: View[], ins: (View | null)[],
): (Range | null)[] {
  const o = outs.map((v) => bindView(sink, v)), i = ins.map((v) => v && bindView(sink, v));
  const rems = (bs: typeof i) => new Set(bs.flatMap((b) => (b ? [b.rem] : []))).size;
  if (rems(o) > 1 || rems(i) > 1) throw new Error("webgpu: a pass's views must share one layout");
  meta[41] = i[0]?.rem ?? 0;
  meta[42] = o[0]?.rem ?? 0;
  return [...o, ...i].map((b) => b?.range ?? null);
}

/**
 * sum/max/min of contiguous `shape` (at view `src`) over `axes` into view `dst`, as passes of a
 * tree reduction: each pass turns (output, chunk) items into partial results until one chunk per
 * output is left. `acc` folds the result into dst's current values instead of overwriting them.
 */
export function planReduce(
  sink: Sink, op: ReduceOp, src: View, shape: Shape, axes: readonly number[], dst: View,
  acc = false,
): void {
  let { kept, red } = splitDims(shape, axes);
  const outN = numelOf(kept.map((d) => d[0]));
  let r = numelOf(red.map((d) => d[0]));
  for (let cur = src; ; ) {
    const p = passShape(r, false);
    const items = outN * p.chunks, last = p.tpo === 1, parts = items * p.tpo;
    let out: View | null = null;
    try { // a pass's temporaries are freed if it throws (out of memory), else kept from the device for good
      out = last ? dst : whole(sink.alloc(parts), parts);
      const meta = reduceMeta(OPCODE[op], items, r, p, kept, red);
      const ranges = bindPass(sink, meta, [out], [cur]);
      meta[43] = last && acc ? 1 : 0;
      sink.run("reduce", "reduce", [out.id, cur.id], meta, parts, undefined, ranges);
    } catch (e) {
      if (out && !last) sink.free(out.id);
      throw e;
    } finally {
      if (cur !== src) sink.free(cur.id);
    }
    if (last) return;
    r = p.chunks * p.tpo;
    [cur, kept, red] = [out, outN > 1 ? [[outN, r]] : [], [[r, 1]]];
  }
}

/**
 * argmax/argmin along `axis` of view `src` into views `vals` and `idx`, as tree-reduction passes
 * over pairs; `at` is added to positions along the axis; `acc` keeps dst's pair where it wins.
 */
export function planArg(
  sink: Sink, op: "max" | "min", src: View, shape: Shape, axis: number, vals: View, idx: View,
  at = 0, acc = false,
): void {
  const outer = numelOf(shape.slice(0, axis)), inner = numelOf(shape.slice(axis + 1));
  const outN = outer * inner;
  let r = shape[axis] ?? 1;
  let kept: Dim[] = [[outer, r * inner], [inner, 1]], red: Dim[] = [[r, inner]];
  let cur: [View, View] | null = null;
  for (;;) {
    const p = passShape(r, true);
    const items = outN * p.chunks, last = p.chunks === 1;
    const made: View[] = [], fresh = (): View => (made.push(whole(sink.alloc(items), items)), made[made.length - 1] as View);
    let out: [View, View];
    try { // as planReduce's: a throwing pass frees its temporaries
      out = last ? [vals, idx] : [fresh(), fresh()];
      const meta = reduceMeta(OPCODE[op], items, r, p, kept, red);
      meta[40] = cur ? 1 : 0;
      const ranges = bindPass(sink, meta, out, cur ?? [src, null]);
      [meta[43], meta[44]] = [last && acc ? 1 : 0, at];
      const ids = [...out, ...(cur ?? [src, null])].map((v) => v?.id ?? -1);
      sink.run("arg", "arg", ids, meta, items * p.tpo, undefined, ranges);
    } catch (e) {
      made.forEach((v) => sink.free(v.id));
      throw e;
    } finally {
      if (cur) cur.forEach((v) => sink.free(v.id));
    }
    if (last) return;
    [cur, r, kept, red] = [out, p.chunks, [[outN, p.chunks]], [[p.chunks, 1]]];
  }
}

/** Rank of the kept and of the reduced dims a fused map-reduce takes (map_reduce.wgsl's words). */
const MAP_REDUCE_RANK = 5;

/** Whether a reduction's merged kept and reduced dims fit map_reduce.wgsl's meta words. */
export const mapReduceFits = (shape: Shape, axes: readonly number[]): boolean => reduceFits(shape, axes, MAP_REDUCE_RANK);

/**
 * sum/max/min over `axes` of the values a map kernel computes at contiguous `shape` (meta from
 * mapMeta, inputs bound whole), into `dst`: the first pass computes them (map_reduce.wgsl), later
 * passes are planReduce's. The dims must pass mapReduceFits (else the caller materializes).
 */
export function planMapReduce(
  sink: Sink, op: ReduceOp, key: string, ids: readonly number[], mapMeta: Uint32Array,
  shape: Shape, axes: readonly number[], dst: number, wgsl?: string,
): void {
  const { kept, red } = splitDims(shape, axes);
  const outN = numelOf(kept.map((d) => d[0])), r = numelOf(red.map((d) => d[0]));
  const p = passShape(r, false);
  const items = outN * p.chunks, parts = items * p.tpo;
  const out = p.tpo === 1 ? dst : sink.alloc(parts);
  const m = mapMeta.slice();
  m.set([items, p.chunks, p.ch, p.tpo, OPCODE[op], r, kept.length, red.length], 96);
  kept.forEach(([n, st], d) => ((m[104 + d] = n), (m[109 + d] = st)));
  red.forEach(([n, st], d) => ((m[114 + d] = n), (m[119 + d] = st)));
  sink.run("mapreduce", `mr:${key}`, [out, ...ids], m, parts, wgsl);
  if (out !== dst) {
    try {
      planReduce(sink, op, whole(out, parts), [outN, p.chunks * p.tpo], [1], whole(dst, outN));
    } finally {
      sink.free(out);
    }
  }
}

/** A kernel called with the inputs and constants it names, within the shader's bindings. */
export function checkKernel(k: Kernel, inputs: readonly Strided[], consts: readonly number[]): void {
  if (inputs.length !== k.inputs.length || consts.length !== k.consts.length) {
    throw new Error(`webgpu map ${k.key}: needs ${k.inputs.length} inputs and ${k.consts.length} consts`);
  }
  if (inputs.length > MAX_INPUTS || consts.length > MAX_CONSTS) {
    const max = `${MAX_INPUTS} inputs and ${MAX_CONSTS} constants`;
    throw new RangeError(`webgpu map: a kernel takes at most ${max}, not ${inputs.length} and ${consts.length}`);
  }
}
