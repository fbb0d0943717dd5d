// Work on buffers bigger than one storage binding (maxStorageBufferBindingSize): maps and one-hot
// run as dispatches over chunks of the destination, each binding only the sub-ranges it touches;
// reductions run over contiguous slabs of the input that fold into their outputs in turn.
import type { ReduceOp, Shape } from "./backend.js";
import { numelOf } from "./backend.js";
import { bindView, type MapDim, MAX_RANK, newMeta, planArg, planReduce, reduceFits, type Sink } from "./webgpu_plan.js";
import { type View, whole } from "./webgpu_plan.js";
import { NONE, type Range } from "./webgpu_protocol.js";

/** A map input: its buffer (NONE: dst itself), size in floats and read mode (webgpu_plan.ts). */
export interface MapIn {
  id: number;
  size: number;
  mode: number;
}

/** Floats per dispatch of a map: the most one binding holds, at aligned offsets. */
const chunkOf = (sink: Sink): number => Math.max(sink.align, sink.bind - (sink.bind % sink.align));

/**
 * The lowest and highest offsets that row-major indices [b, e) of `dims` reach through strides
 * `st` (one per dim, non-negative): exact on the dims above the first one b and e - 1 differ in.
 */
export function span(dims: readonly number[], st: readonly number[], b: number, e: number) {
  const unravel = (i: number) => {
    const q = dims.map(() => 0);
    for (let d = dims.length - 1, rem = i; d >= 0; d--) {
      q[d] = rem % (dims[d] as number);
      rem = Math.floor(rem / (dims[d] as number));
    }
    return q;
  };
  const qb = unravel(b), qe = unravel(e - 1);
  const t = qb.findIndex((v, d) => v !== qe[d]);
  let lo = 0, hi = 0;
  dims.forEach((n, d) => {
    const s = st[d] as number;
    if (t < 0 || d < t) [lo, hi] = [lo + (qb[d] as number) * s, hi + (qb[d] as number) * s];
    else if (d === t) [lo, hi] = [lo + (qb[d] as number) * s, hi + (qe[d] as number) * s];
    else hi += (n - 1) * s;
  });
  return { lo, hi };
}

/** Where a strided read of `lo..hi` is bound, or null when that exceeds one binding. */
function stridedView(sink: Sink, id: number, lo: number, hi: number) {
  const b = bindView(sink, { id, off: lo, len: hi - lo + 1 });
  return lo < 0 || b.range[1] > sink.bind * 4 ? null : { range: b.range, start: lo - b.rem };
}

function tooWide(what: string, size: number, sink: Sink): RangeError {
  return new RangeError(
    `webgpu: ${what} reads a buffer of ${size} floats (${size * 4} bytes) through strides ` +
      `across more than this adapter's maxStorageBufferBindingSize of ${sink.bind * 4} bytes; ` +
      "gathering from a buffer that large is not supported yet",
  );
}

/** Most dispatches one chunk of a map may split into so that its strided reads fit bindings. */
const MAX_PIECES = 256;

/**
 * Cuts row-major outputs [b, e) of `dims` into pieces for which `fits` holds: each cut falls on a
 * step of the outermost dim that the piece's ends differ in, near its middle, so that the parts
 * read narrower ranges. Returns null past MAX_PIECES.
 */
function pieces(
  dims: readonly number[], b: number, e: number, fits: (b: number, e: number) => boolean,
): [number, number][] | null {
  const inner = dims.map((_, d) => numelOf(dims.slice(d + 1)));
  const out: [number, number][] = [];
  const cut = (b: number, e: number): boolean => {
    if (fits(b, e)) return out.push([b, e]) <= MAX_PIECES;
    if (e - b === 1 || out.length >= MAX_PIECES) return false;
    const step = inner.find((s) => Math.floor(b / s) !== Math.floor((e - 1) / s)) ?? 1;
    const lo = (Math.floor(b / step) + 1) * step, hi = Math.floor((e - 1) / step) * step;
    const mid = Math.min(hi, Math.max(lo, Math.round((b + e) / 2 / step) * step));
    return cut(b, mid) && cut(mid, e);
  };
  return cut(b, e) ? out : null;
}

/**
 * An elementwise map of `n` floats into `dst` (see elementwise.wgsl): one dispatch per chunk of
 * the output, or per piece of a chunk where a strided input bigger than one binding would be read
 * across more than one binding's worth.
 */
export function planMap(
  sink: Sink, key: string, dst: number, ins: readonly MapIn[], dims: readonly MapDim[],
  meta: Uint32Array, n: number, wgsl?: string,
): void {
  const strided = ins.flatMap((s, j) => (s.mode === 2 ? [j] : []));
  const big = strided.flatMap((j, k) => ((ins[j] as MapIn).size > sink.bind ? [{ j, k }] : []));
  const ns = dims.map((d) => d.n);
  // span() assumes strides >= 0 (no view reverses a dim today).
  const negative = big.find(({ k }) => dims.some((d) => (d.s[k] as number) < 0));
  if (negative) throw tooWide(`a map of ${n} floats`, ins[negative.j]?.size ?? 0, sink);
  const ids = [dst, ...ins.map((s) => s.id)];
  const views = (b: number, e: number) =>
    big.map(({ j, k }) => {
      const sp = span(ns, dims.map((d) => d.s[k] as number), b, e);
      return { j, v: stridedView(sink, ins[j]?.id ?? NONE, sp.lo, sp.hi) };
    });
  // Past MAX_RANK dims the meta holds the innermost (mapMeta): each dispatch stays within one block
  // of them, its base within the block, and its strided inputs start at the block's offset.
  const outer = dims.slice(0, Math.max(0, dims.length - MAX_RANK)), block = numelOf(ns.slice(outer.length));
  const offsets = (p: number) => strided.map((_, k) => {
    let off = 0;
    for (let d = outer.length - 1, rem = p; d >= 0; d--) {
      const { n: size, s: st } = outer[d] as MapDim;
      [off, rem] = [off + (rem % size) * (st[k] as number), Math.floor(rem / size)];
    }
    return off;
  });
  let first = true;
  const dispatch = (b: number, e: number) => {
    const m = meta.slice(), p = Math.floor(b / block), off = offsets(p);
    const own = bindView(sink, { id: dst, off: b, len: e - b });
    [m[0], m[3], m[4]] = [e - b, b - p * block, own.rem];
    const ranges: (Range | null)[] = [own.range];
    ins.forEach((s) => ranges.push(s.mode === 0 && s.id !== NONE ? own.range : null));
    strided.forEach((j, k) => (m[88 + j] = -(off[k] as number) >>> 0));
    for (const { j, v } of views(b, e)) {
      m[88 + j] = ((v?.start ?? 0) - (off[strided.indexOf(j)] as number)) >>> 0;
      ranges[j + 1] = v?.range ?? null;
    }
    sink.run("map", `map:${key}`, ids, m, e - b, first ? wgsl : undefined, ranges);
    first = false;
  };
  const fits = (b: number, e: number) => views(b, e).every((x) => x.v !== null);
  // Every part is planned before the first dispatch: a RangeError leaves dst untouched.
  const all: [number, number][] = [];
  for (let base = 0; base < n; ) { // chunks of one binding from an aligned start, within one block
    const end = Math.min(n, base - (base % sink.align) + chunkOf(sink), outer.length ? (Math.floor(base / block) + 1) * block : n);
    const parts = pieces(ns, base, end, fits);
    if (!parts) {
      const j = views(base, end).find((x) => !x.v)?.j ?? 0;
      throw tooWide(`a map of ${n} floats`, ins[j]?.size ?? 0, sink);
    }
    all.push(...parts);
    base = end;
  }
  all.forEach(([b, e]) => dispatch(b, e));
}

/** One-hot along `axis` of `outShape` from float indices, one dispatch per part of the output. */
export function planOneHot(
  sink: Sink, idx: number, outShape: Shape, axis: number, dst: number,
): void {
  const n = numelOf(outShape), len = outShape[axis] ?? 1;
  const inner = numelOf(outShape.slice(axis + 1)), outer = n / (len * inner);
  const dims = [outer, len, inner];
  const view = (b: number, e: number) => {
    const sp = span(dims, [inner, 0, 1], b, e);
    return n / len <= sink.bind ? { range: null, start: 0 } : stridedView(sink, idx, sp.lo, sp.hi);
  };
  const all: [number, number][] = [];
  for (let base = 0, chunk = chunkOf(sink); base < n; base += chunk) {
    const parts = pieces(dims, base, Math.min(n, base + chunk), (b, e) => view(b, e) !== null);
    if (!parts) throw tooWide(`one-hot into ${n} floats`, n / len, sink);
    all.push(...parts);
  }
  for (const [b, e] of all) {
    const { u } = newMeta();
    const v = view(b, e) as { range: Range | null; start: number };
    const own = bindView(sink, { id: dst, off: b, len: e - b });
    u.set([e - b, len, inner, b, v.start, own.rem]);
    sink.run("onehot", "onehot", [dst, idx], u, e - b, undefined, [own.range, v.range]);
  }
}

/** A contiguous part of a reduction's input, with the outputs it folds into. */
interface Slab {
  src: View;
  shape: number[];
  /** Reduced axes of `shape`. */
  axes: number[];
  /** Floats of the output it covers, from outStart. */
  outStart: number;
  outLen: number;
  /** Whether no earlier slab wrote these outputs. */
  first: boolean;
  /** Position along the (last) reduced dim that the slab's first element has (argReduce). */
  at: number;
}

/**
 * Cuts contiguous `shape` (buffer `src`) into slabs that each fit one binding: `k` positions along
 * the outermost dim j whose inner block fits, with every dim above j fixed. Row-major order puts
 * the slab that writes an output range before every slab that folds into it.
 */
export function* slabs(
  sink: Sink, src: number, shape: Shape, axes: readonly number[],
): Generator<Slab, void, undefined> {
  const n = numelOf(shape);
  const kept = (d: number) => !axes.includes(d);
  const outOf = (from: number) => numelOf(shape.slice(from).filter((_, e) => kept(from + e)));
  const axesFrom = (j: number) => axes.filter((a) => a >= j).map((a) => a - j);
  // Past MAX_RANK runs of kept or of reduced dims, the leading dims are fixed slab by slab.
  let ranked = 0;
  while (!reduceFits(shape.slice(ranked), axesFrom(ranked))) ranked++;
  if (n <= sink.bind && ranked === 0) {
    const s: Slab = { src: whole(src, n), shape: [...shape], axes: [...axes], outStart: 0,
      outLen: outOf(0), first: true, at: 0 };
    yield s;
    return;
  }
  const inner = shape.map((_, d) => numelOf(shape.slice(d + 1)));
  const j = Math.max(ranked, inner.findIndex((v) => v <= sink.bind - sink.align));
  const [nj, ij] = [shape[j] as number, inner[j] as number];
  // Aligned slabs may fill a binding; unaligned ones leave room for their start's misalignment.
  let k = Math.floor(sink.bind / ij);
  if ((k * ij) % sink.align !== 0 || (j > 0 && (nj * ij) % sink.align !== 0)) {
    k = Math.floor((sink.bind - sink.align) / ij);
  }
  k = Math.min(k, nj);
  const subAxes = axesFrom(j);
  for (let p = 0, prefix = numelOf(shape.slice(0, j)); p < prefix; p++) {
    const q = shape.slice(0, j).map(() => 0);
    for (let d = j - 1, rem = p; d >= 0; d--) {
      q[d] = rem % (shape[d] as number);
      rem = Math.floor(rem / (shape[d] as number));
    }
    for (let q0 = 0; q0 < nj; q0 += k) {
      const kk = Math.min(k, nj - q0);
      let outStart = 0, first = true, at = 0;
      [...q, q0].forEach((v, d) => {
        if (kept(d)) outStart += v * outOf(d + 1);
        else [first, at] = [first && v === 0, v];
      });
      const sub = [kk, ...shape.slice(j + 1)];
      const len = kk * ij, outLen = numelOf(sub.filter((_, d) => !subAxes.includes(d)));
      const s: Slab = { src: { id: src, off: (p * nj + q0) * ij, len }, shape: sub, axes: subAxes,
        outStart, outLen, first, at };
      yield s;
    }
  }
}

/** sum/max/min of contiguous `shape` over `axes` into `dst`, slab by slab. */
export function planReduceAll(
  sink: Sink, op: ReduceOp, src: number, shape: Shape, axes: readonly number[], dst: number,
): void {
  for (const s of slabs(sink, src, shape, axes)) {
    const out: View = { id: dst, off: s.outStart, len: s.outLen };
    planReduce(sink, op, s.src, s.shape, s.axes, out, !s.first);
  }
}

/** argmax/argmin along `axis` into `vals` and `idx`, slab by slab. */
export function planArgAll(
  sink: Sink, op: "max" | "min", src: number, shape: Shape, axis: number, vals: number,
  idx: number,
): void {
  for (const s of slabs(sink, src, shape, [axis])) {
    const v = (id: number): View => ({ id, off: s.outStart, len: s.outLen });
    // A slab below the axis holds one position along it: a leading axis of size 1.
    const [sub, ax] = s.axes.length ? [s.shape, s.axes[0] as number] : [[1, ...s.shape], 0];
    planArg(sink, op, s.src, sub, ax, v(vals), v(idx), s.at, !s.first);
  }
}
