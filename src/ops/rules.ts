// Non-table ops and their gradients, written as Tensor code keyed by PyTorch's grad_fn names:
// reductions (sum, mean, max, min), shapes (reshape, expand, squeeze), copies and fills.
import { isGradEnabled } from "../autograd/grad_mode.js";
import { type BackwardFn, Node, SavedTensor } from "../autograd/node.js";
import { reshapeTo } from "../autograd/views.js";
import { type ReduceOp, numelOf } from "../backend/backend.js";
import type { Device } from "../device.js";
import { errors } from "../errors.js";
import { type ShapeArgs, checkInts, normDim, plainStrides, sameShape, shapeArgs, sizeOverflows, sumToAxes, viewStrides } from "../shape.js";
import { type Dims, Tensor } from "../tensor.js";
import { apply, applyAt, applyInplace, checkCopyShape, checkFloat, checkInplace, copyTo, dense, fill, gradlessView, type Operand, scalarAs } from "./apply.js";
import { type Storage, deferred, producerOf } from "./lazy.js";
import type { OpName } from "./table.js";

export type ValuesIndices = [values: Tensor, indices: Tensor] & { values: Tensor; indices: Tensor };

/** A gradient summed back to `shape` (see reshapeTo: backward closures hold shapes, never tensors). */
const sumBackTo = (shape: readonly number[]): BackwardFn => (g) => [g._sumTo(shape)];

/** Attaches a Node to `out` when grad mode is on and an input needs a gradient. */
function record(out: Tensor, name: string, inputs: Tensor[], saved: Tensor[], fn: BackwardFn): Tensor {
  if (!isGradEnabled()) return out;
  const next = inputs.map((t) => t._edge());
  if (next.every((e) => e === null) && !inputs.some(gradlessView)) return out;
  const sv = saved.map((t) => new SavedTensor(t, t === out ? name : null));
  out._setGradFn(new Node(name, next, inputs.map((t) => t.shape), sv, fn));
  return out;
}

export const full = (shape: readonly number[], v: number, dev: Device): Tensor => fill(shape, v, dev);

function axesOf(fn: string, t: Tensor, dim: Dims | null | undefined, keepdim: unknown): number[] {
  if (typeof keepdim !== "boolean") throw errors.badArg(fn, "keepdim", "a boolean", keepdim);
  if (dim === null || dim === undefined) return t.shape.map((_, i) => i);
  if (typeof dim !== "number" && !Array.isArray(dim))
    throw errors.badArg(fn, "dim", "an integer or an array of integers", dim);
  const dims = typeof dim === "number" ? [dim] : [...dim];
  if (dims.length === 0) return t.shape.map((_, i) => i);
  const axes = dims.map((d) => normDim(fn, d, t.ndim));
  axes.forEach((a, i) => {
    if (axes.indexOf(a) !== i) throw new Error(`dim ${a} appears multiple times in the list of dims`);
  });
  return t.ndim === 0 ? [] : axes.sort((a, b) => a - b);
}

const keptShape = (shape: readonly number[], axes: number[], keepdim: boolean): number[] =>
  keepdim ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));

function reduceSum(t: Tensor, axes: number[], keepdim: boolean): Tensor {
  const shape = keptShape(t.shape, axes, keepdim), dtype = t.dtype === "float32" ? t.dtype : "int64"; // PyTorch counts in int64
  if (axes.length === 0 && dtype !== "float32") return copyTo(t, shape, dtype);
  if (axes.length === 0) { // a 0-d tensor: + 0 as a sum from 0 (-0 gives 0, as PyTorch's)
    const c = copyTo(t, shape, dtype), s = c.add(0);
    return c.dispose(), s;
  }
  return Tensor._fromStorage(reduceOf("sum", t, axes, shape), shape, dtype);
}

/**
 * Reduces t over axes into a tensor of `shape`, deferred until its value is needed (backward of
 * a loss never reads it), taking a pending elementwise producer as the input when the device can.
 */
function reduceOf(op: ReduceOp, t: Tensor, axes: number[], shape: readonly number[], divisor?: number): Storage {
  if (t._strides) return dense(t, (c) => reduceOf(op, c, axes, shape, divisor)); // the result holds what it reads
  const src = producerOf(t), b = t._dev.backend, at = t.shape;
  if (src && b.mapReduce) {
    const mr = b.mapReduce.bind(b), s = t._storage, w = (s.saved(), s.lazy?.once ? new WeakRef(s) : null), v = s.version; // once (CPU, heavy): a later kernel's buffer, if still there
    return deferred(shape, t._dev, src.inputs, () => ((d) => (d?.done && d.version === v ? b.reduce(op, d.done, at, axes) : mr(op, src, at, axes)))(w?.deref()), divisor);
  }
  const input = t._buf;
  return deferred(shape, t._dev, [{ buf: input, strides: [] }], () => b.reduce(op, input, at, axes), divisor);
}

/** Sum over dims (all by default). */
export function sum(t: Tensor, dim: Dims | null | undefined, keepdim: boolean): Tensor {
  const axes = axesOf("sum", t, dim, keepdim);
  const out = reduceSum(t, axes, keepdim);
  const keep = keptShape(t.shape, axes, true), ts = t.shape;
  return record(out, dim === undefined && !keepdim ? "SumBackward0" : "SumBackward1", [t], [], (g) => [copyTo(g.reshape(keep), ts)]);
}

export function mean(t: Tensor, dim: Dims | null | undefined, keepdim: boolean): Tensor {
  if (t.dtype !== "float32") throw errors.meanDtype(t.dtype);
  const axes = axesOf("mean", t, dim, keepdim);
  const n = numelOf(t.shape.filter((_, i) => axes.includes(i)));
  const shape = keptShape(t.shape, axes, keepdim);
  const out = axes.length ? Tensor._fromStorage(reduceOf("sum", t, axes, shape, n), shape) : reduceSum(t, axes, keepdim);
  const keep = keptShape(t.shape, axes, true), all = dim === undefined && !keepdim, ts = t.shape;
  // MeanBackward1 saves self (PyTorch reads its sizes through it): its version and a second backward are checked.
  return record(out, all ? "MeanBackward0" : "MeanBackward1", [t], all ? [] : [t], (g) => [
    applyAt("div", [g.reshape(keep), n], ts),
  ]);
}

/** max/min over everything (a 0-D tensor) or along one dim (values and indices). */
export function extreme(op: "max" | "min", t: Tensor, dim: number | undefined, keepdim: boolean) {
  const B = op === "max" ? "Max" : "Min";
  if (typeof keepdim !== "boolean") throw errors.badArg(op, "keepdim", "a boolean", keepdim);
  if (dim === undefined) {
    if (keepdim) throw new TypeError(`${op}(): keepdim=true needs a dim, as ${op}(dim, keepdim)`); // it was dropped
    if (t.numel === 0) throw errors.emptyReduce(op);
    const out = Tensor._fromStorage(reduceOf(op, t, t.shape.map((_, i) => i), []), [], t.dtype);
    // NOTE: ties share the gradient evenly; a NaN result sends it to the NaN inputs. Chosen on
    // the device: a read here would block (and a { thread: "main" } device cannot).
    return record(out, `${B}Backward1`, [t], [t, out], (g, [x, o]) => {
      const [xt, ot] = [x as Tensor, o as Tensor];
      const mask = apply("where", [ot.isnan(), xt.isnan(), xt.eq(ot)]);
      return [apply("where", [mask, g.div(mask.sum()), 0])]; // not mask * g: 0 * inf elsewhere was NaN
    });
  }
  const axis = normDim(op, dim, t.ndim);
  if (t.ndim > 0 && t.shape[axis] === 0)
    throw new RangeError(`${op}(): Expected reduction dim ${axis} to have non-zero size.`); // an IndexError
  const shape = keptShape(t.shape, t.ndim ? [axis] : [], keepdim);
  let values: Tensor, indices: Tensor;
  if (t.ndim === 0) {
    values = copyTo(t, [], t.dtype);
    const zero = fill([], 0, t._dev);
    indices = Tensor._fromStorage(zero._storage, [], "int64");
    zero.dispose();
  } else {
    const [v, i] = argReduce(op, t, axis);
    values = Tensor._make(v, shape, t._dev, t.dtype);
    indices = Tensor._make(i, shape, t._dev, "int64");
  }
  const keep = keptShape(t.shape, t.ndim ? [axis] : [], true), ts = t.shape, dev = t._dev;
  // The indices are saved: disposing the returned ones (or their scope ending) leaves backward its own.
  record(values, `${B}Backward0`, [t], [indices], (g, [ix]) => {
    if (ts.length === 0) return [g];
    const mask = Tensor._make(dev.backend.oneHot((ix as Tensor)._buf, ts, axis), ts, dev);
    return [apply("where", [mask, g.reshape(keep), 0])];
  });
  return valuesIndices(op, values, indices);
}

/** Values and indices along `axis` (a module-level function: a closure in extreme() would hold t). */
const argReduce = (op: "max" | "min", t: Tensor, axis: number) => dense(t, (c) => c._dev.backend.argReduce(op, c._buf, c.shape, axis));

const INSPECT = Symbol.for("nodejs.util.inspect.custom");
/** [values, indices] with their names, printed as PyTorch's torch.return_types (console.log never throws). */
function valuesIndices(op: string, values: Tensor, indices: Tensor): ValuesIndices {
  const text = (safe: boolean) => () => {
    const s = (t: Tensor) => (safe ? (t as unknown as Record<symbol, () => string>)[INSPECT]!() : t.toString());
    return `torch.return_types.${op}(\nvalues=${s(values)},\nindices=${s(indices)})`;
  };
  return Object.defineProperties(Object.assign([values, indices], { values, indices }), {
    toString: { value: text(false) }, [INSPECT]: { value: text(true) },
  }) as ValuesIndices;
}

/** Resolves one -1 in a requested shape and checks the element count (PyTorch's infer_size). */
function inferShape(fn: string, shape: number[], numel: number): number[] {
  checkInts(fn, "shape", shape);
  let infer = -1;
  let known = 1;
  shape.forEach((d, i) => {
    if (d === -1) {
      if (infer >= 0) throw errors.inferTwice();
      infer = i;
    } else if (d >= 0) known *= d;
    else throw errors.shapeDim(d);
  });
  if (numel !== known && !(infer >= 0 && known > 0 && numel % known === 0)) throw errors.viewShape(shape, numel);
  if (infer < 0) return [...shape];
  if (known === 0) throw errors.inferZero(shape);
  return shape.map((d, i) => (i === infer ? numel / known : d));
}

/** view/reshape: a view, or for reshape a copy where PyTorch's strides allow no view (after expand). */
export function reshape(t: Tensor, args: ShapeArgs, name: string): Tensor {
  const fn = name === "ViewBackward0" ? "view" : "reshape";
  if (args.length === 0) throw errors.missingShape(fn);
  const to = inferShape(fn, shapeArgs(fn, args), t.numel), st = t._strides, ns = st ? viewStrides(t.shape, st, to) : undefined;
  if (ns === null && fn === "view") throw errors.viewStride();
  if (ns === null) { // PyTorch's _unsafe_view of a clone: not a view
    const c = clone(t);
    return record(Tensor._fromStorage(c._storage, to, t.dtype), "UnsafeViewBackward0", [c], [], reshapeTo(t.shape));
  }
  return record(strided(t._view(to, true), ns), name, [t], [], reshapeTo(t.shape));
}

/** t with its strides over its storage `s` (none: row-major). */
const strided = (t: Tensor, s: readonly number[] | null | undefined): Tensor => (s && (t._strides = s), t);

/** A tensor sharing t's storage with no history (its strides kept). */
export const detach = (t: Tensor): Tensor => strided(t._view(t.shape), t._strides);

export function squeeze(t: Tensor, dim?: number): Tensor {
  const st = t._strides;
  if (dim === undefined) {
    const out = strided(t._view(t.shape.filter((d) => d !== 1), true), st?.filter((_, i) => t.shape[i] !== 1));
    return record(out, "SqueezeBackward0", [t], [], reshapeTo(t.shape));
  }
  const a = normDim("squeeze", dim, t.ndim), kept = (d: number, i: number) => i !== a || d !== 1;
  const out = strided(t._view(t.shape.filter(kept), true), st?.filter((_, i) => kept(t.shape[i] as number, i)));
  return record(out, "SqueezeBackward1", [t], [], reshapeTo(t.shape));
}

export function unsqueeze(t: Tensor, dim: number): Tensor {
  const a = normDim("unsqueeze", dim, t.ndim + 1), st = t._strides;
  const shape = [...t.shape], s = st && [...st];
  shape.splice(a, 0, 1);
  s?.splice(a, 0, a >= t.ndim ? 1 : (t.shape[a] as number) * (st?.[a] as number));
  return record(strided(t._view(shape, true), s), "UnsqueezeBackward0", [t], [], reshapeTo(t.shape));
}

/** A view of t, as PyTorch's: where a dim grows, its stride over the storage is 0 (reads go through
 * the strides, in-place writes into it raise PyTorch's overlap error, writes to t reach it). */
export function expand(t: Tensor, args: ShapeArgs): Tensor {
  if (args.length === 0) throw errors.missingShape("expand");
  const sizes = shapeArgs("expand", args);
  checkInts("expand", "size", sizes);
  if (sizes.length < t.ndim) throw errors.expandSizes(t.shape, t.dtype, sizes);
  const off = sizes.length - t.ndim;
  const shape = [...sizes].reverse().map((s, r) => { // from the last dim, as PyTorch checks them
    const i = sizes.length - 1 - r, have = i >= off ? (t.shape[i - off] as number) : 1;
    if (s === -1) {
      if (i < off) throw errors.expandLeading(s, i);
      return have;
    }
    if (i >= off && have !== 1 && have !== s) throw errors.expand(sizes, t.shape, i, have, s);
    if (s < 0) throw errors.negativeDim(s, sizes);
    return s;
  }).reverse();
  if (shape.reduce((a, d) => a * (d || 1), 1) >= 2 ** 52 && sizeOverflows(shape)) throw errors.numelOverflow(); // it passed, then later ops threw
  const src = t._strides ?? plainStrides(t.shape), st = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = i - off, n = shape[i] as number;
    st[i] = (d >= 0 ? t.shape[d] : 1) !== n ? 0 : d >= 0 ? (src[d] as number) : i === shape.length - 1 ? 1 : (shape[i + 1] as number) * (st[i + 1] as number);
  }
  const grown = numelOf(shape) !== t.numel;
  const out = strided(t._view(shape, true), grown || t._strides ? st : null);
  return record(out, "ExpandBackward0", [t], [], grown ? sumBackTo(t.shape) : reshapeTo(t.shape));
}

/** Sums a broadcast result back to `shape` (no graph: used by the engine). */
export function sumTo(t: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(t.shape, shape)) return t;
  const axes = sumToAxes(shape, t.shape);
  return Tensor._fromStorage(reduceOf("sum", t, axes, shape), shape);
}

export function clone(t: Tensor): Tensor {
  return record(copyTo(t, t.shape, t.dtype), "CloneBackward0", [t], [], (g) => [g]);
}

export function toDevice(t: Tensor, dev: Device, what = "to()"): Tensor {
  if (t.isDisposed) throw errors.disposed();
  if (dev === t._dev) return t;
  if (dev.backend.asyncReadsOnly && t.requiresGrad && isGradEnabled()) throw errors.toAsyncGrad(what);
  const out = Tensor._make(dev.backend.upload(t.dataSync()), t.shape, dev, t.dtype), src = t._dev;
  return record(out, "ToCopyBackward0", [t], [], (g) => [
    Tensor._make(src.backend.upload(g.dataSync()), g.shape, src),
  ]);
}

export function clamp(t: Tensor, min?: number | null, max?: number | null): Tensor {
  if ((min === undefined || min === null) && (max === undefined || max === null))
    throw new Error("torch.clamp: At least one of 'min' or 'max' must not be None");
  for (const [n, v] of [["min", min], ["max", max]] as const)
    if (v !== undefined && v !== null && typeof v !== "number")
      throw errors.badArg("clamp", n, "a number or null", v);
    else if (typeof v === "number") checkFloat(v);
  const nonFinite = [min, max].some((v) => typeof v === "number" && !Number.isFinite(v)); // a float bound, given
  const single = min == null || max == null, bound = (v: number | null | undefined, none: number): number =>
    v == null || (single && Number.isNaN(v)) ? none : v; // a lone NaN bound is ignored, as PyTorch's clamp_min/max
  const nan = +(single && Number.isNaN(min ?? max)); // a lone NaN bound: no gradient
  return apply("clamp", [nonFinite ? t.float() : t, bound(min, -Infinity), bound(max, Infinity), nan]);
}

/** Comparisons and isnan: a bool tensor with no graph. */
export function compare(op: OpName, t: Tensor, o?: Operand): Tensor {
  const r = apply(op, op === "isnan" ? [t] : [t, o as Operand]); // gt() says 'other' is missing
  const b = Tensor._fromStorage(r._storage, r.shape, "bool");
  r.dispose();
  return b;
}

/** Whether an in-place write to `t` from `ops` records a graph (then it goes through applyInplace). */
const records = (t: Tensor, ops: readonly Operand[]): boolean => // bool/int64 take no gradient
  isGradEnabled() && t.dtype === "float32" && (t.requiresGrad || !!t._viewOf?.base.requiresGrad || ops.some((o) => o instanceof Tensor && o.requiresGrad));

/** fill_(v), or zero_() (v undefined): under grad mode recorded as FillBackward2 / ZeroBackward0. */
export function fillInplace(t: Tensor, v?: number): void { // fill_ checked v is a number
  if (v !== undefined) v = scalarAs(t.dtype, v);
  if (records(t, [])) applyInplace(v === undefined ? "zero" : "fill", v === undefined ? [t] : [t, v]);
  else checkInplace(t, [], true), fill(t.shape, v ?? 0, t._dev, t);
}

export function copyInplace(t: Tensor, src: Tensor): void {
  if (!(src instanceof Tensor)) throw errors.badArg("copy_", "src", "a Tensor", src);
  const s = src._dev === t._dev ? src : toDevice(src, t._dev, "copy_()");
  try {
    checkInplace(t, [t, s], s === t); // before the shapes, as PyTorch (a grown expand may copy itself)
    if (records(t, [s])) checkCopyShape(s, t.shape), applyInplace("copyInto", [t, s]); // CopyBackwards
    else copyTo(s, t.shape, t.dtype, t);
  } finally { if (s !== src) s.dispose(); } // also when a check throws
}

