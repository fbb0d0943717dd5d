// Runs ops/wasm.ts's SIMD kernels for the CPU backend: large contiguous arrays pass through one
// small scratch memory a chunk at a time (cache-sized; it grows with a kernel's input count, never
// with the data), so nothing is allocated per call and results land in ordinary Float32Arrays.
import { argModule, columnsModule, wasmKernel } from "../ops/wasm.js";
import { IMPORTS } from "../ops/wasm_math.js";
import type { Kernel, Strided } from "./backend.js";

/** Elements per chunk (64 KiB per array; 4x smaller measured ~10 % slower on W2 at 1e6). */
export const CHUNK = 16384;
/** Arrays from this many elements run as SIMD (GRADWISE_SIMD_MIN; Infinity turns it off): at 128
 * the JS loop and SIMD took the same time here, from 512 SIMD was faster (W4 at 1 000: 13 -> 8 µs/op). */
export const SIMD_MIN = Number(process.env.GRADWISE_SIMD_MIN || 256);
if (Number.isNaN(SIMD_MIN)) throw new RangeError(`GRADWISE_SIMD_MIN must be a number, but is '${process.env.GRADWISE_SIMD_MIN}'`);

// The part of the global WebAssembly API used here (lib ES2022 and @types/node do not declare it).
declare const WebAssembly: {
  Memory: new (d: { initial: number }) => { readonly buffer: ArrayBuffer; grow(pages: number): number };
  Module: new (code: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { readonly exports: unknown };
};
const memory = new WebAssembly.Memory({ initial: 1 });
let heap = new Float32Array(memory.buffer);
const reserve = (bytes: number): void => void (bytes > memory.buffer.byteLength && memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536))); // views renew where read
let runs = 0; // kernel calls run as SIMD so far: tests check which path ran
export const simdRuns = (): number => runs;

/** How an input is read: r = 1 in order (periodic if shorter: a bias row), r > 1 as a[floor(i / r) % a.length] (a column
 * repeated along rows), or through the strides of `dims`, the output's shape with dims merged where they can be. */
export type Read = number | Strides;
export interface Strides { readonly dims: readonly number[]; readonly strides: readonly number[] }

/** `strides` of an input over the output `shape`, with size-1 dims dropped and neighbors merged that one stride walks. */
function strided(strides: readonly number[], shape: readonly number[]): Strides {
  const dims: number[] = [], st: number[] = [];
  shape.forEach((d, k) => {
    const s = strides[k] as number, last = dims.length - 1;
    if (d === 1) return;
    if (last >= 0 && st[last] === s * d) (dims[last] = (dims[last] as number) * d), (st[last] = s);
    else dims.push(d), st.push(s);
  });
  return { dims, strides: st };
}

/** Elements [off, off + len) of the output through `w` into the heap at `to`: whole runs of the last dim at a time
 * (a copy of a row, a fill of a broadcast value, a loop over a transposed one), the other dims counted on. */
function gather(a: Float32Array, w: Strides, off: number, len: number, to: number): void {
  const { dims, strides } = w, D = dims.length - 1, inner = dims[D] ?? 1, t = strides[D] ?? 0, idx = new Array<number>(D + 1);
  let base = 0;
  for (let d = D, rem = off; d >= 0; d--) (idx[d] = rem % (dims[d] as number)), (rem = Math.floor(rem / (dims[d] as number))), (base += (idx[d] as number) * (strides[d] as number));
  for (let j = 0; j < len;) {
    const k = idx[D] ?? 0, run = Math.min(inner - k, len - j);
    if (t === 1 && run >= 64) heap.set(a.subarray(base, base + run), to + j); // a view costs ~50 ns: short runs loop
    else if (t === 0 && run >= 16) heap.fill(a[base] as number, to + j, to + j + run);
    else for (let q = to + j, e = q + run, p = base; q < e; q++, p += t) heap[q] = a[p] as number;
    j += run;
    base -= k * t, (idx[D] = 0);
    for (let d = D - 1; d >= 0; d--) { // carry into the outer dims
      base += strides[d] as number;
      if ((idx[d] = (idx[d] as number) + 1) < (dims[d] as number)) break;
      base -= (idx[d] as number) * (strides[d] as number), (idx[d] = 0);
    }
  }
}

/** The r for which element i of `shape` reads buf[floor(i / r) % size], 0 if none: 1 for the buffer repeated along
 * leading dims (a bias row), the row length for a column (x.mean(1, true) read by x), and both at once. */
function repeats(s: Strided, shape: readonly number[]): number {
  let acc = 1, d = shape.length - 1, r = 1;
  for (; d >= 0 && (s.strides[d] === 0 || shape[d] === 1); d--) r *= shape[d] as number;
  for (; d >= 0 && acc < s.buf.size; acc *= shape[d--] ?? 1) if (shape[d] !== 1 && s.strides[d] !== acc) return 0;
  for (; d >= 0; d--) if (shape[d] !== 1 && s.strides[d] !== 0) return 0;
  return acc === s.buf.size ? r : 0;
}

/** Whether element i reads buf[i % size]: in order, or a row repeated along leading dims. */
export const periodic = (s: Strided, shape: readonly number[]): boolean => repeats(s, shape) === 1;
/** How a SIMD kernel reads each input (mode "g": cpu.ts's strided reads): an array only where some input is gathered. */
export const reads = (inputs: readonly Strided[], modes: readonly string[], shape: readonly number[]): Read[] | undefined =>
  modes.includes("g") ? inputs.map((s, j) => (modes[j] === "g" ? repeats(s, shape) || strided(s.strides, shape) : 1)) : undefined;

/**
 * Elements [off, off + len) of input `a` read as `r` (see Read) into the heap at `to`. A periodic input: one period,
 * then doubled; a repeated column: runs of one value.
 */
function fill(a: Float32Array, r: Read, n: number, off: number, len: number, to: number): void {
  if (typeof r !== "number") return gather(a, r, off, len, to);
  if (r > 1 && r < 16) // short runs: one loop (a fill call per run took ~8 ns per element at r = 2)
    for (let j = 0, q = Math.floor(off / r), k = off - q * r, v = a[q % a.length] as number; j < len; j++) {
      heap[to + j] = v;
      if (++k === r) (k = 0), (v = a[++q % a.length] as number);
    }
  else if (r > 1)
    for (let i = off, q = Math.floor(off / r), end = off + len; i < end; q++) heap.fill(a[q % a.length] as number, to + i - off, to + (i = Math.min(end, (q + 1) * r)) - off);
  if (r > 1) return;
  if (a.length >= n) return heap.set(len === a.length ? a : a.subarray(off, off + len), to); // a view is ~50 ns
  const p = a.length, phase = off % p, first = Math.min(len, p - phase);
  heap.set(a.subarray(phase, phase + first), to);
  if (first < len) heap.set(a.subarray(0, Math.min(phase, len - first)), to + first);
  for (let done = p; done < len; done *= 2) heap.copyWithin(to + done, to, to + Math.min(done, len - done));
}

/** map: out[i] = expr(ins at i), i < out.length, inputs read as `reads` (see Read; all in order if absent) or single;
 * sum: the float64 sum of the `count` values from `from` of the n computed that way (all n by default); columns: the
 * values as [outer, red, inner] (inner <= CHUNK) summed over red into out[o * inner + j], as columnSums sums them. */
export interface SimdKernel {
  map(ins: readonly Float32Array[], consts: readonly number[], out: Float32Array, reads?: readonly Read[]): void;
  sum(ins: readonly Float32Array[], consts: readonly number[], n: number, reads?: readonly Read[], from?: number, count?: number): number;
  columns(ins: readonly Float32Array[], consts: readonly number[], reads: readonly Read[] | undefined, dims: readonly [number, number, number], out: Float64Array): boolean;
}

/** A SIMD kernel for `k` with single-element inputs where `scalar`, or null when some primitive has no wasm row. */
export function simdKernel(k: Kernel, scalar: readonly boolean[]): SimdKernel | null {
  const single = k.inputs.map((_, j) => j).filter((j) => scalar[j]);
  const arrays = k.inputs.map((_, j) => j).filter((j) => !scalar[j]);
  const header = Math.ceil((k.consts.length + single.length) / 4) * 16;
  const made = wasmKernel(k, scalar, header, CHUNK * 4);
  if (!made) return null;
  let module: object;
  try {
    module = new WebAssembly.Module(made.code);
  } catch {
    return null; // a runtime without SIMD: the JS kernel
  }
  reserve(made.end);
  const fns = { ...(new WebAssembly.Instance(module, { m: { m: memory, ...IMPORTS } }).exports as {
    map: (end: number, rem: number) => void;
    sum: (end: number, rem: number) => number;
  }), columns: undefined as ColumnSum | null | undefined };
  const at = header / 4, outAt = at + arrays.length * CHUNK;
  let view = new Float32Array(0); // the last chunk's output as a view: loops repeat one length
  const output = (len: number) => (view.length === len && view.buffer === heap.buffer ? view : (view = heap.subarray(outAt, outAt + len)));
  /** Writes the header (consts rounded to float32, as every kernel reads them) and returns a chunk loader. */
  const begin = (ins: readonly Float32Array[], consts: readonly number[], n: number, reads?: readonly Read[]) => {
    if (heap.buffer !== memory.buffer) heap = new Float32Array(memory.buffer);
    runs++;
    consts.forEach((c, j) => (heap[j] = c));
    single.forEach((j, q) => (heap[consts.length + q] = (ins[j] as Float32Array)[0] as number));
    return (off: number, len: number): void =>
      arrays.forEach((j, q) => fill(ins[j] as Float32Array, reads?.[j] ?? 1, n, off, len, at + q * CHUNK));
  };
  return {
    map(ins, consts, out, reads) {
      const load = begin(ins, consts, out.length, reads);
      for (let off = 0; off < out.length; off += CHUNK) {
        const len = Math.min(CHUNK, out.length - off);
        load(off, len);
        fns.map(((len + 3) >> 2) << 4, 0);
        out.set(output(len), off);
      }
    },
    columns(ins, consts, reads, [outer, red, inner], out) { // columnSums over the chunk's output, in the scratch memory
      const accAt = Math.ceil(made.end / 16) * 16, rows = Math.floor(CHUNK / inner), n = outer * red * inner;
      const sum = (fns.columns ??= columnsOf(accAt, outAt * 4));
      if (!sum) return false;
      reserve(accAt + CHUNK * 8 + 64);
      const load = begin(ins, consts, n, reads), acc = new Float64Array(memory.buffer, accAt, inner);
      for (let o = 0; o < outer; o++) {
        acc.fill(0);
        for (let r = 0; r < red; r += rows) {
          const b = Math.min(rows, red - r), len = b * inner;
          load((o * red + r) * inner, len);
          fns.map(((len + 3) >> 2) << 4, 0), sum(b, (inner + 3) >> 2, inner * 4);
        }
        out.set(acc, o * inner);
      }
      return true;
    },
    sum(ins, consts, n, reads, from = 0, count = n) {
      const load = begin(ins, consts, n, reads);
      let acc = 0;
      for (let off = from, end = from + count; off < end; off += CHUNK) {
        const len = Math.min(CHUNK, end - off);
        load(off, len);
        acc += fns.sum((len >> 2) << 4, len & 3);
      }
      return acc;
    },
  };
}

/** Export `name` of a module importing only the scratch memory, or null without SIMD. */
function exported<F>(code: Uint8Array, name: string): F | null {
  try {
    return (new WebAssembly.Instance(new WebAssembly.Module(code), { m: { m: memory } }).exports as Record<string, F>)[name] ?? null;
  } catch {
    return null;
  }
}
type ColumnSum = (rows: number, groups: number, stride: number) => void;
/** columnsModule's sum with its accumulators at byte `acc` and rows at `src`, or null without SIMD. */
const columnsOf = (acc: number, src: number): ColumnSum | null => exported<ColumnSum>(columnsModule(acc, src), "sum");
let columnSum: ColumnSum | null | undefined; // made at the first call
const [ACC, SRC] = [0, CHUNK * 8 + 64]; // bytes: float64 accumulators for up to CHUNK columns, then rows of float32

/**
 * out[at + j] += a[r * inner + j] for each row r of `a` in order, j < inner: the CPU's JS loop summing a block of
 * rows, by columnsModule's (false if SIMD is missing). Rows pass through the scratch memory, as many whole rows at
 * a time as fit in a chunk; rows longer than a chunk, a chunk of columns at a time.
 */
export function columnSums(a: Float32Array, inner: number, out: Float64Array, at: number): boolean {
  if (columnSum === undefined) (columnSum = columnsOf(ACC, SRC)), reserve(SRC + CHUNK * 4 + 64);
  if (!columnSum) return false;
  if (heap.buffer !== memory.buffer) heap = new Float32Array(memory.buffer);
  const acc = new Float64Array(memory.buffer, ACC, CHUNK), sum = columnSum;
  for (let j0 = 0; j0 < inner; j0 += CHUNK) {
    const w = Math.min(CHUNK, inner - j0);
    acc.set(out.subarray(at + j0, at + j0 + w));
    rowsIn(a, 0, inner, j0, w, 0, a.length / inner, SRC, (b) => sum(b, (w + 3) >> 2, inner * 4));
    out.set(acc.subarray(0, w), at + j0);
  }
  return runs++, true;
}

/** Rows [from, to) of `a` from `base` (`width` apart), columns [j0, j0 + w), to byte `at` of the heap, whole rows as many as a
 * chunk holds (one row's w if w < width) a batch at a time, each then given to f(its rows, its first row). */
function rowsIn(a: Float32Array, base: number, width: number, j0: number, w: number, from: number, to: number, at: number, f: (b: number, r: number) => void): void {
  const batch = w === width ? Math.floor(CHUNK / width) : 1;
  for (let r = from; r < to; r += batch) {
    const b = Math.min(batch, to - r), s = base + r * width + j0;
    heap.set(a.subarray(s, s + (b - 1) * width + w), at / 4), f(b, r);
  }
}

type ArgFn = (rows: number, groups: number, stride: number, first: number) => void;
const argFns: Partial<Record<"max" | "min", ArgFn | null>> = {}; // made at the first call; null: no SIMD
const [BEST, IDX, ROWS] = [0, CHUNK * 4 + 64, CHUNK * 8 + 128]; // bytes: each lane's best, its row (i32), then rows of float32

/**
 * The first extreme (NaN first) along the middle of `a` as [outer, red, inner] and its index, into vals and idx, as
 * cpu.ts's loop: columns (inner >= 4) by argModule's lanes over rows copied in (rowsIn); a row (inner 1) as 16
 * or 64 interleaved columns, then the lanes' bests compared (the earlier index on a tie) and the rest in a loop.
 */
export function argExtremes(op: "max" | "min", a: Float32Array, [outer, red, inner]: readonly [number, number, number], vals: Float32Array, idx: Float32Array): boolean {
  const arg = op in argFns ? argFns[op] : (argFns[op] = exported<ArgFn>(argModule(op, BEST, IDX, ROWS), "arg"));
  if (!arg) return false;
  reserve(ROWS + CHUNK * 4 + 64);
  if (heap.buffer !== memory.buffer) heap = new Float32Array(memory.buffer);
  const ints = new Int32Array(memory.buffer), rows = inner === 1, w0 = rows ? (red < 1024 ? 16 : 64) : inner, sign = op === "max" ? 1 : -1;
  for (let o = 0; o < outer; o++) {
    const base = o * red * inner, n = rows ? Math.floor(red / w0) : red; // "rows" of w0 lanes each
    for (let j0 = 0; j0 < w0; j0 += CHUNK) {
      const w = Math.min(CHUNK, w0 - j0), at = base + j0;
      heap.set(a.subarray(at, at + w), BEST / 4), ints.fill(0, IDX / 4, IDX / 4 + w);
      rowsIn(a, base, w0, j0, w, 1, n, ROWS, (b, r) => arg(b, (w + 3) >> 2, w0 * 4, r));
      if (!rows) vals.set(heap.subarray(BEST / 4, BEST / 4 + w), o * inner + j0);
      if (!rows) for (let j = 0; j < w; j++) idx[o * inner + j0 + j] = ints[IDX / 4 + j] as number;
    }
    if (!rows) continue;
    let best = NaN, bi = -1; // the lanes' bests, element w0 * row + lane each, then the rest of the row
    for (let l = 0; l < w0; l++) {
      const v = heap[BEST / 4 + l] as number, e = w0 * (ints[IDX / 4 + l] as number) + l;
      if (bi < 0 || (v !== v ? best === best || e < bi : best === best && (v * sign > best * sign || (v === best && e < bi)))) (best = v), (bi = e);
    }
    for (let r = n * w0, v = 0; r < red; r++) if (best === best && ((v = a[base + r] as number) * sign > best * sign || v !== v)) (best = v), (bi = r);
    (vals[o] = best), (idx[o] = bi);
  }
  return (runs++, true);
}
