// apply(): runs a table op on its inputs' backend with broadcasting, and under grad mode records a
// Node whose backward runs one gradient kernel per input that needs it. Also the in-place variant.
import { isGradEnabled } from "../autograd/grad_mode.js";
import { type BackwardFn, type Edge, Node, type Saved, SavedScalar, SavedTensor } from "../autograd/node.js";
import { checkViewInplace, rebaseView } from "../autograd/views.js";
import { errors } from "../errors.js";
import { broadcastShapes, overlapping, sameShape } from "../shape.js";
import { type DType, Tensor } from "../tensor.js";
import type { Device } from "../device.js";
import { type E, type Leaf, decide, g as g_, leaf, leavesCached, num, select, substitute, x as X } from "./expr.js";
import { type Builder, compose } from "./lazy.js";
import { OPS, type OpName, type OpSpec, type Variant, gradFnName, saves } from "./table.js";

export type Operand = Tensor | number;
const NO_SHAPE: readonly number[] = []; // a number operand's entry in a Node's input shapes

/** `expr` with leaves[k] bound to vals[k] through the builder: tensors (inlined when lazy) or numbers. */
function bind(b: Builder, expr: E, leaves: readonly Leaf[], vals: readonly Operand[]): E {
  const e = decide(expr, leaves, vals); // selects on numbers alone: here, not per element
  if (e._bound?.leaves !== leaves) { // which leaves e reads (pows' gradient not y - 1, fill not x), memoized on e
    const at = leaves.flatMap((l, k) => (leavesCached(e).includes(l) ? [k] : []));
    e._bound = { leaves, at, from: at.map((k) => leaf(leaves[k] as Leaf)) };
  }
  const { at, from } = e._bound, to = new Array<E>(at.length);
  for (let j = 0; j < at.length; j++) { const v = vals[at[j] as number] as Operand; to[j] = typeof v === "number" ? b.constant(v) : b.tensor(v); }
  return substitute(e, from, to);
}

/**
 * An in-place write of v (a tensor broadcast to its shape, or a number) into `into`'s buffer, or a new
 * one (Storage.assign). It is a sync point: state updated in place (parameters, accumulated grads) is
 * not left as a growing recipe.
 */
function writeInto(into: Tensor, v: Operand): void {
  // A fill of a grown expand fills its storage, as PyTorch's reaches the expand's input (copies raise).
  if (into._strides && into.numel === 0) return; // an empty expand: nothing to write
  if (v === into) return void into._storage.version++; // copy_ of itself: PyTorch's returns early (after the checks)
  const shape = into._strides ? [into._storage.size] : into.shape;
  into._storage.assign(compose(shape, into._dev, (b) => castTo(bind(b, X, ["x"], [v]), into.dtype)), 0); // in its own buffer if it can
}

/** What a write into a tensor of `dtype` stores, as PyTorch casts: bool is != 0, int64 truncates
 * (NaN and values past its range give its minimum, as x86 does). */
const castTo = (e: E, dtype: DType): E => dtype === "bool" ? num(e.ne(0))
  : dtype === "int64" ? select(e.abs().lt(2 ** 63), select(e.trunc().eq(0), 0, e.trunc()), -(2 ** 63)) : e;
const IPOW = X.ipow(leaf("y"));
const RANK = { bool: 0, int64: 1, float32: 2 } as const, TYPE = ["Bool", "Long", "Float"] as const;

const FLOAT_OUT = new Set<string>(["div", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "reciprocal", "log1p",
  "expm1", "gt", "lt", "ge", "le", "eq", "ne", "isnan"]); // comparisons: compare() labels them bool
const NO_BOOL: Partial<Record<OpName, string>> = { relu: "Boolean inputs not supported for relu", abs: `"abs_cpu" not implemented for 'Bool'`,
  neg: "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead." };

/** PyTorch's result type: float32 from a float32 tensor or a fractional number, else int64 from an
 * int64 tensor or an integer, else bool (square of bool: int64); math functions give float32. */
function resultType(name: OpName, ops: readonly Operand[]): DType {
  if ((ops[0] instanceof Tensor && ops[0].dtype === "float32" && name !== "where") || FLOAT_OUT.has(name)) return "float32";
  let r = name === "square" ? 1 : 0;
  for (let i = name === "where" ? 1 : 0, n = name === "clamp" ? 3 : ops.length; i < n && r < 2; i++) { // where's condition and clamp's flag take no part
    const o = ops[i] as Operand; // clamp's absent bounds come as ±Infinity
    // An integer past int64's range is a float (1e20: PyTorch's Python float), not int64's minimum.
    r = Math.max(r, o instanceof Tensor ? RANK[o.dtype] : Number.isInteger(o) && Math.abs(o) < 2 ** 63 ? 1 : name === "clamp" && !Number.isFinite(o) ? 0 : 2);
  }
  return r === 2 ? "float32" : r === 1 ? "int64" : "bool";
}

/** PyTorch's rule for arithmetic in place on a bool/int64 tensor: its result type must cast to it. */
function checkCast(name: OpName, self: Tensor, o: Operand): void {
  const to = RANK[self.dtype], arith = name === "add" || name === "sub" || name === "mul" || name === "div";
  const r = to === 2 || !arith ? to : RANK[resultType(name, [self, o])];
  if (r > to) throw errors.castResult(TYPE[r], TYPE[to]);
}

/** A number stored as float32 (fill, clamp, where): PyTorch refuses finite ones past its range. */
export function checkFloat(v: number): void {
  if (Math.abs(v) > 3.4028234663852886e38 && Number.isFinite(v)) throw errors.scalarOverflow("float");
}
/** v as a tensor of `dtype` stores it, with PyTorch's range checks: float32 as checkFloat, int64
 * truncated (finite, under 2^63), bool as v != 0. */
export function scalarAs(dtype: DType, v: number): number {
  if (dtype === "int64" && !(Math.abs(v) < 2 ** 63)) throw errors.scalarOverflow("int64_t");
  return dtype === "float32" ? (checkFloat(v), v) : dtype === "bool" ? +(v !== 0) : Math.trunc(v) + 0;
}

/** Operands are tensors or numbers; torch.maximum/minimum take tensors only. */
function checkOperand(fn: string, o: unknown, i: number): asserts o is Operand {
  if (o instanceof Tensor) return;
  const tensorOnly = fn === "maximum" || fn === "minimum";
  if (typeof o !== "number" || tensorOnly) {
    const arg = (fn === "where" ? ["condition", "input", "other"] : ["input", "other"])[i] ?? "other";
    throw errors.badArg(fn, arg, tensorOnly ? "a Tensor" : "a Tensor or a number", o);
  }
}

/** ops on one device: a 0-d CPU tensor may join an op of another device (copied there), as a CPU
 * scalar joins a CUDA op in PyTorch, but not as the tensor an in-place op writes. */
function placed(ops: readonly Operand[], inplace: boolean): readonly Operand[] {
  let dev: Device | undefined, mixed = false;
  for (const o of ops) if (o instanceof Tensor) (dev ??= o._dev) === o._dev || (mixed = true);
  if (!mixed) return ops;
  // PyTorch checks shapes first (TensorIterator): broadcasting, then an in-place op's output shape.
  const to = ops.reduce<readonly number[]>((s, o) => (o instanceof Tensor ? broadcastShapes(s, o.shape) : s), NO_SHAPE);
  if (inplace && !sameShape(to, (ops[0] as Tensor).shape)) throw errors.inplaceShape(to, (ops[0] as Tensor).shape);
  const scalar = (o: Operand, i: number): boolean => o instanceof Tensor && o._dev.type === "cpu" && o.ndim === 0 && !(inplace && i === 0);
  dev = (ops.find((o, i) => o instanceof Tensor && !scalar(o, i)) as Tensor)._dev;
  for (const [i, o] of ops.entries())
    if (o instanceof Tensor && o._dev !== dev && !scalar(o, i)) throw (dev.backend.check?.(), o._dev.backend.check?.(), errors.device(dev.type, o._dev.type)); // a shut-down device says so
  if (isGradEnabled() && dev.backend.asyncReadsOnly && ops.some((o, i) => scalar(o, i) && (o as Tensor).requiresGrad)) throw errors.cpuScalarGrad();
  return ops.map((o, i) => (scalar(o, i) ? ((c) => (copiedFrom ??= new WeakMap()).set(c, o as Tensor) && c)((o as Tensor).to(dev as Device)) : o));
}
/** A 0-d CPU operand's copy on the op's device -> the operand: a saved copy checks the operand's version (its writes). */
let copiedFrom: WeakMap<Tensor, Tensor> | undefined; // made at the first copy: no lookup per saved tensor before

/** Runs (or, fused, records) op `name`'s forward at the broadcast shape, or at `at`; `ops` as run. */
function forward(name: OpName, operands: readonly Operand[], at?: readonly number[], inplace = false) {
  const spec = OPS[name];
  let bits = 0, shape: readonly number[] | undefined = at?.slice();
  for (let i = 0; i < operands.length; i++) checkOperand(name, operands[i], i), (bits = bits * 2 + (operands[i] instanceof Tensor ? 0 : 1));
  const variant = VARIANTS[operands.length]?.[bits] ?? operands.map((o) => (o instanceof Tensor ? "t" : "s")).join("");
  const no = (operands[0] as Tensor).dtype === "bool" && NO_BOOL[name];
  if (no) throw new Error(no);
  if (name === "pow" && operands.every((o) => o instanceof Tensor && o.dtype === "bool")) throw new Error(`"pow" not implemented for 'Bool'`);
  if (name === "pows" && (operands[0] as Tensor).dtype !== "float32" && Number.isInteger(operands[1]) && (operands[1] as number) < 0)
    throw new Error("Integers to negative integer powers are not allowed.");
  const bools = name === "sub" || name === "rsub" ? operands.filter((o) => o instanceof Tensor && o.dtype === "bool").length : 0;
  if (bools) throw errors.boolSub(bools === operands.length);
  const ops = placed(operands, inplace);
  let dev: Device | undefined;
  // The first shape copied (t.shape is the user's array, a recipe's must not change); rsub(a, b) is b - a.
  for (const o of name === "rsub" ? [...ops].reverse() : ops)
    if (o instanceof Tensor) (dev = o._dev), (shape = !shape ? o.shape.slice() : sameShape(shape, o.shape) ? shape : broadcastShapes(shape, o.shape));
  shape ??= NO_SHAPE;
  if (inplace && !sameShape(shape, (ops[0] as Tensor).shape)) throw errors.inplaceShape(shape, (ops[0] as Tensor).shape); // before compose's size check
  const dtype = inplace ? (ops[0] as Tensor).dtype : resultType(name, ops);
  // An int64 power by squaring, as PyTorch's integer kernel (a float pow goes through exp2/log2 on WebGPU: 7 ** 7 was 823544).
  const fwd = dtype === "int64" && (name === "pow" || name === "pows") ? IPOW : spec.fwd;
  if (isGradEnabled() && ops.some(heavyPending)) savedFirst(spec, ops);
  const storage = compose(shape, dev as Device, (b) => castTo(bind(b, fwd, spec.args, ops), dtype));
  return { spec, dev, shape, variant: variant as Variant, storage, ops, dtype };
}
/** Operand kinds by count and bits (1: number), as literals: grad_fn lookups by a concatenated string cost ~4 % of an op. */
const VARIANTS: readonly (readonly string[])[] = [[""], ["t", "s"], ["tt", "ts", "st", "ss"], ["ttt", "tts", "tst", "tss", "stt", "sts", "sst", "sss"]];

const heavyPending = (o: Operand): boolean => o instanceof Tensor && (o._storage.lazy?.expr.size ?? 0) >= 16; // a call, or 16 nodes
/** Marks the operands backward will read (Storage.saved) before the op's kernel inlines them (marked after, both computed them). */
function savedFirst(spec: OpSpec, ops: readonly Operand[]): void {
  const need = saves(spec, ops.reduce<number>((m, o, i) => (o instanceof Tensor && o.requiresGrad ? m | (1 << i) : m), 0));
  ops.forEach((o, i) => o instanceof Tensor && need.has(spec.args[i] as Leaf) && o._storage.saved());
}

/**
 * Records the Node of op `name` for `out` and returns it. In place: `savedSelf` replaces ops[0]
 * (overwritten), and operands sharing its storage are saved at version `before`, as PyTorch saved
 * them before the write (backward then raises, as PyTorch's does, if it needs them).
 */
function record(
  name: OpName, ops: readonly Operand[], out: Tensor, variant: Variant, savedSelf?: Tensor, before?: number, edges?: Edge[],
): Node | null {
  const spec = OPS[name];
  const fnName = gradFnName(spec, variant);
  if (!fnName || !isGradEnabled()) return null;
  const next: Edge[] = edges ?? edgesOf(ops);
  if (next.every((e) => e === null) && !ops.some(gradlessView)) return null;
  const need = saves(spec, next.reduce((m, e, i) => (e ? m | (1 << i) : m), 0));
  const savedLeaves: Leaf[] = [];
  const saved: Saved[] = [];
  const nums: (number | undefined)[] = []; // by argument: the value of a number operand
  spec.args.forEach((l, i) => {
    const o = ops[i] as Operand;
    if (typeof o === "number") {
      nums[i] = o;
      if (need.has(l)) saved.push(new SavedScalar());
    } else if (need.has(l)) {
      savedLeaves.push(l);
      const t = i === 0 && savedSelf ? savedSelf : o;
      saved.push(new SavedTensor(t, null, t._storage === out._storage && savedSelf ? before : t._version, copiedFrom?.get(t)));
    }
  });
  if (need.has("out")) {
    savedLeaves.push("out");
    out._storage.saved();
    saved.push(new SavedTensor(out, fnName));
  }
  const node = new Node(fnName, next, ops.map((o) => (o instanceof Tensor ? o.shape : NO_SHAPE)), saved,
    gradients(spec, next, savedLeaves, nums, out.shape));
  const listed = (spec as OpSpec).listed;
  if (listed) node.shown = next.filter((_, i) => listed(i, ops[i]));
  out._setGradFn(node);
  return node;
}

/** A view requiring grad through its base only (made under noGrad, or before the base required grad;
 * no edge): ops on it record a node whose edge to it is none, as PyTorch's. */
export const gradlessView = (o: Operand): boolean => o instanceof Tensor && !!o._viewOf && o.requiresGrad;
const edgesOf = (ops: readonly Operand[]): Edge[] => ops.map((o) => (o instanceof Tensor ? o._edge() : null));

/**
 * The backward of one recorded op, made out here: a closure made in record() would share its scope,
 * which holds the operands and the result (a kept loss would keep its whole graph's activations).
 */
function gradients(spec: OpSpec, next: readonly Edge[], savedLeaves: readonly Leaf[], nums: readonly (number | undefined)[], shape: readonly number[]): BackwardFn {
  return (g, tensors) => spec.args.map((l, i) => {
    const d = (spec.grads as Partial<Record<Leaf, E>>)[l];
    if (!d || !next[i]) return null;
    if (d === g_) return g; // identity gradient (add, sub's first input): no kernel
    // Bind exactly the leaves this gradient reads: g and saved tensors, numbers as constants.
    const ls = leavesCached(d), args: readonly Leaf[] = spec.args;
    const vs = ls.map((u): Operand => {
      const j = savedLeaves.indexOf(u); // a saved tensor, else a number operand
      return (u === "g" ? g : j >= 0 ? tensors[j] : nums[args.indexOf(u)]) as Operand;
    });
    return Tensor._fromStorage(compose(shape, g._dev, (b) => bind(b, d, ls, vs)), shape);
  });
}

/** Out-of-place op. @example apply("mul", [x, 2]) */
export function apply(name: OpName, ops: readonly Operand[]): Tensor {
  const r = forward(name, ops);
  const out = Tensor._fromStorage(r.storage, r.shape, r.dtype);
  record(name, r.ops, out, r.variant);
  return out;
}

/** An op evaluated at a given (larger) broadcast shape, without a graph: fused broadcast + op. */
export function applyAt(name: OpName, ops: readonly Operand[], shape: readonly number[]): Tensor {
  const r = forward(name, ops, shape);
  return Tensor._fromStorage(r.storage, r.shape, r.dtype);
}

/** In-place op on ops[0]: its storage takes the result (views see it), its version is bumped,
 * and under grad mode its history is rebased onto the op, which saves the overwritten values. */
export function applyInplace(name: OpName, ops: readonly Operand[]): Tensor {
  const self = ops[0] as Tensor, view = self._viewOf;
  if (ops.length > 1) checkOperand(`${name}_`, ops[1], 1); // add_() without an operand too
  checkInplace(self, ops, name === "fill" || name === "zero" || (name === "copyInto" && ops[1] === self));
  const { variant, storage, ops: run } = forward(name, ops, undefined, true);
  try { checkCast(name, self, ops[1] as Operand); } catch (e) { throw (storage.release(), e); } // the result held its inputs' buffers (without fusion, its own)
  const old = Tensor._fromStorage(self._storage.snapshot(), self.shape, self.dtype), before = self._version;
  // The operands' edges as they were: a view of self renewed after the write would miss the op.
  const edges = isGradEnabled() ? edgesOf(run) : undefined;
  if (self._strides) storage.release(), writeInto(self, ops[1] ?? 0); // a fill of a grown expand (checkInplace)
  else self._storage.assign(storage, edges?.some((e) => e) || run.some(gradlessView) ? -1 : 1); // a sync point; over `old` when no graph
  const node = record(name, run, self, variant, old, before, edges);
  if (node && view) rebaseView(self, view, node);
  old.dispose(); // a saved copy has a handle of its own
  return self;
}

/**
 * PyTorch's checks of an in-place write to ops[0], ahead of shapes: a view's rules, the leaf rule,
 * elements sharing memory (a grown expand or a view of one: only a fill, or a copy of itself, `fill`,
 * may write them; a fill fills the storage, the expand's input), then a partial overlap with an operand.
 */
export function checkInplace(self: Tensor, ops: readonly Operand[], fill = false): void {
  const others = ops.some((o, i) => i > 0 && o instanceof Tensor && o.requiresGrad);
  if (self._viewOf) checkViewInplace(self, self._viewOf, others);
  if (isGradEnabled() && self.isLeaf && self.requiresGrad) throw errors.leafInplace();
  if (overlapping(self) && !fill) throw errors.internalOverlap();
  // Another layout of the same memory (a view of another shape) overlaps it partially: PyTorch refuses.
  // (Not an operand with elements sharing memory: PyTorch finds that too hard to tell, and checks shapes.)
  if (ops.some((o) => o instanceof Tensor && o._storage === self._storage && !sameShape(o.shape, self.shape) && !overlapping(o))) throw errors.memOverlap();
}

/** t as another dtype (PyTorch's .float()/.long()/.bool(); no graph): bool is != 0, int64 truncates. */
export function castCopy(t: Tensor, dtype: DType): Tensor {
  if (t.isDisposed) throw errors.disposed();
  return Tensor._fromStorage(compose(t.shape, t._dev, (b) => castTo(b.tensor(t), dtype)), t.shape, dtype);
}

/** `use` of t's values as a row-major tensor: t itself, or for a grown expand a copy freed after. */
export function dense<R>(t: Tensor, use: (c: Tensor) => R): R {
  if (!t._strides) return use(t);
  const c = copyTo(t, t.shape);
  try { return use(c); } finally { c.dispose(); }
}

/** A tensor of `shape` filled with v, or v written into `into`. */
export function fill(shape: readonly number[], v: number, dev: Device, into?: Tensor): Tensor {
  if (into) return writeInto(into, v), into;
  return Tensor._fromStorage(compose(shape, dev, (b) => b.constant(v)), shape);
}

/** copy_'s shape rule: `src` must broadcast to `shape`, the destination's. */
export function checkCopyShape(src: Tensor, shape: readonly number[]): void {
  const both = broadcastShapes(shape, src.shape);
  if (!sameShape(both, shape)) throw errors.inplaceShape(both, shape);
}

/** A contiguous copy of t broadcast to `shape`, or written into `into` (no graph). */
export function copyTo(t: Tensor, shape: readonly number[], dtype = t.dtype, into?: Tensor): Tensor {
  if (into) {
    checkCopyShape(t, shape);
    writeInto(into, t);
    return into;
  }
  const own = shape.slice(); // often another tensor's shape (a user's array): never the recipe's
  return Tensor._fromStorage(compose(own, t._dev, (b) => b.tensor(t)), own, dtype);
}
