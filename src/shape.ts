// Shape arithmetic: broadcasting (NumPy rules, PyTorch's error text), dim normalisation, and the
// axes a broadcast gradient must be summed over to return to its input's shape.
import type { Shape } from "./backend/backend.js";
import { errors, int } from "./errors.js";

export function broadcastShapes(a: Shape, b: Shape): number[] {
  const na = a.length, nb = b.length, n = na > nb ? na : nb;
  const out = new Array<number>(n);
  for (let i = n - 1; i >= 0; i--) { // bounds checked: a negative index is a slow property lookup
    const ia = i - n + na, ib = i - n + nb, da = ia >= 0 ? (a[ia] as number) : 1, db = ib >= 0 ? (b[ib] as number) : 1;
    if (da !== db && da !== 1 && db !== 1) throw errors.broadcast(da, db, i);
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Wraps a possibly negative dim of `fn` into [0, ndim), with PyTorch's error otherwise. */
export function normDim(fn: string, dim: unknown, ndim: number): number {
  if (typeof dim !== "number" || !Number.isInteger(dim)) throw errors.badArg(fn, "dim", "an integer", dim);
  const n = Math.max(ndim, 1);
  if (dim < -n || dim >= n) throw errors.dimArg(dim, () => errors.dimRange(dim, ndim));
  return dim < 0 ? dim + n : dim;
}

/** The size of dim `dim` (negative from the end), as PyTorch's size(dim). */
export function sizeAt(shape: Shape, dim: number): number {
  if (shape.length === 0 && typeof dim === "number") throw errors.dimArg(dim, () => new RangeError(`Dimension specified as ${int(dim)} but tensor has no dimensions`));
  return shape[normDim("size", dim, shape.length)] as number;
}

/** Checks that argument `arg` of `fn` is a list of integers (sizes, shapes). */
export function checkInts(fn: string, arg: string, v: readonly unknown[]): asserts v is readonly number[] {
  for (const d of v) {
    if (typeof d !== "number" || !Number.isInteger(d)) throw errors.badArg(fn, arg, "an array of integers", v);
    if (Math.abs(d) >= 2 ** 63) throw errors.badArg(fn, arg, "an array of integers within int64", v); // PyTorch's sizes are int64
  }
}

/** The axes of `outShape` summed (kept as size 1) to reduce a broadcast result to `shape`. */
export function sumToAxes(shape: Shape, outShape: Shape): number[] {
  const off = outShape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < outShape.length; i++) {
    if (i < off || (shape[i - off] === 1 && outShape[i] !== 1)) axes.push(i);
  }
  return axes;
}

export const sameShape = (a: Shape, b: Shape): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** Sizes given as one array or as separate numbers. */
export type ShapeArgs = [readonly number[]] | number[];
export function shapeArgs(fn: string, a: ShapeArgs): number[] {
  if (Array.isArray(a[0]) && a.length > 1) errors.checkArity(fn, 1, a.slice(1)); // expand([2, 2], 3)
  return Array.isArray(a[0]) ? [...(a[0] as readonly number[])] : (a as number[]);
}

/**
 * Strides that view (shape, strides) as `to` without a copy, or null where PyTorch's view cannot
 * (computeStride): a dim of `to` would span chunks of memory that are not contiguous to each other.
 */
export function viewStrides(shape: Shape, strides: readonly number[], to: Shape): number[] | null {
  if (shape.includes(0)) return plainStrides(to);
  const out = new Array<number>(to.length).fill(1);
  let v = to.length - 1, base = strides[strides.length - 1] ?? 1, tn = 1, vn = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    tn *= shape[d] as number;
    if (d > 0 && (shape[d - 1] === 1 || strides[d - 1] === tn * base)) continue; // the chunk goes on
    for (; v >= 0 && (vn < tn || to[v] === 1); v--) (out[v] = vn * base), (vn *= to[v] as number);
    if (vn !== tn) return null;
    if (d > 0) (base = strides[d - 1] as number), (tn = vn = 1);
  }
  return v === -1 ? out : null;
}

/** Row-major strides (PyTorch's contiguous ones, size-1 dims included). */
export function plainStrides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  for (let i = shape.length - 1, acc = 1; i >= 0; acc *= shape[i--] as number) s[i] = acc;
  return s;
}

/** Whether t's elements share memory (stride 0 along a dim longer than 1, a grown expand and its
 * views, whose `_strides` are their strides over their storage): PyTorch refuses writes into it. */
export const overlapping = (t: { readonly shape: Shape; readonly _strides: readonly number[] | null }): boolean =>
  (t._strides?.some((s, i) => s === 0 && (t.shape[i] as number) > 1) ?? false) && !t.shape.includes(0);

/** PyTorch's product of sizes (times `bytes`) past int64, in uint64 and in order: [2**53, 2**53, 0] overflows. */
export function sizeOverflows(shape: Shape, bytes = 1): boolean {
  let p = 1n, over = false;
  for (const d of shape) (p *= BigInt(d)), (over ||= p >= 1n << 64n);
  return over || p * BigInt(bytes) >= 1n << 63n;
}

/** Strides of an input read at `from`, re-expressed at the broadcast shape `to`. */
export function restride(strides: readonly number[], from: readonly number[], to: readonly number[]): readonly number[] {
  if (sameShape(from, to) && !from.includes(1)) return strides;
  const off = to.length - from.length;
  const out = new Array<number>(to.length).fill(0);
  from.forEach((d, i) => (out[i + off] = d === 1 ? 0 : (strides[i] as number)));
  return out;
}
export const sameStrides = (a: readonly number[] | null, b: readonly number[] | null): boolean => a === b || (!!a && !!b && sameShape(a, b));
