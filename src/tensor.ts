// Tensor: shape, dtype, device, requiresGrad, grad and gradFn over a backend buffer; every math
// method goes through ops/ (apply for the op table, rules for reductions and shapes).
import { runBackward } from "./autograd/engine.js";
import { AccumulateGrad, type Node, shortName } from "./autograd/node.js";
import { type ViewOf, viewGradFn, viewOf } from "./autograd/views.js";
import type { Buf } from "./backend/backend.js";
import { type Device, type DeviceLike, resolveDevice } from "./device.js";
import { errors, warnNonLeafGrad } from "./errors.js";
import { checkList, formatTensor } from "./format.js";
import { apply, applyInplace, castCopy, dense, type Operand } from "./ops/apply.js";
import { Storage } from "./ops/lazy.js";
import * as R from "./ops/rules.js";
import { graphed, scopeSync, track, untrack } from "./scope.js";
import { sameShape, type ShapeArgs, sizeAt } from "./shape.js";

export type DType = "float32" | "int64" | "bool";
export type Dims = number | readonly number[];

const inspect = Symbol.for("nodejs.util.inspect.custom");
const throwNoGrad = (): never => { throw errors.noGrad(); };
const arity = errors.checkArity;

export class Tensor {
  /** @internal */ _storage: Storage;
  /** @internal */ _dev: Device;
  readonly shape: readonly number[]; // not frozen: Object.freeze made small ops 1.4-1.8x slower (bench/results/*-ab-review-*)
  readonly dtype: DType;
  private leafRequiresGrad = false;
  /** @internal As set (a view's may be stale: read gradFn). */ _gradFn: Node | null = null;
  /** @internal Set on views (autograd/views.ts). */ _viewOf: ViewOf | null = null;
  /** @internal Strides over the storage where not row-major (a grown expand and its views: 0s), else null. */ _strides: readonly number[] | null = null;
  /** .grad's tensor; one the user disposed reads as none, as after `t.grad = null` (backward and step threw). */ private gradT: Tensor | null = null;
  private get _grad(): Tensor | null { return this.gradT?.isDisposed ? (this.gradT = null) : this.gradT; }
  private set _grad(g: Tensor | null) { this.gradT = g; }
  /** Whether .grad was handed out (read or assigned by the user): else replacing it frees it. */
  private gradOut = false;
  private retains = false;
  private acc: AccumulateGrad | null = null;
  private disposed = false;
  /** @internal Not disposed by scope(): kept, a .grad, or saved for backward. */ _kept = false;
  /** @internal The handle a SavedTensor unpacks. */ _saved = false;
  /** The storage it had when disposed while views of it lived. */ private viewed: Storage | null = null;
  /** Use tensor(), zeros(), ... to create tensors. */
  private constructor(storage: Storage, shape: readonly number[], dev: Device, dtype: DType = "float32") {
    if (!(storage instanceof Storage)) throw new TypeError("new Tensor() is internal: create tensors with tensor(), zeros(), ones(), ...");
    this._storage = storage;
    storage.handles++;
    this.shape = shape.slice();
    this._dev = dev, (this.dtype = dtype);
    track(this);
  }
  /** @internal */ static _make(buf: Buf, shape: readonly number[], dev: Device, dtype: DType = "float32"): Tensor { return new Tensor(new Storage(buf, null, dev), shape, dev, dtype); }
  /** @internal */ static _fromStorage(s: Storage, shape: readonly number[], dtype: DType = "float32"): Tensor {
    return new Tensor(s, shape, s.dev, dtype);
  }
  /** @internal A tensor sharing this one's storage and version counter; `view`: autograd's view. */
  _view(shape: readonly number[], view = false): Tensor {
    if (this.disposed) throw errors.disposed();
    const t = new Tensor(this._storage, shape, this._dev, this.dtype);
    return view && ((t._viewOf = viewOf(this)), this._storage.views++), t;
  }
  /** @internal */ get _buf(): Buf { return this._storage.buf; }
  /** @internal */ get _version(): number { return this._storage.version; }
  /** @internal Sets grad_fn; `move`: a retainGrad() mark follows (an in-place op rebasing it). */
  _setGradFn(n: Node, move = true): void {
    if (move && this._gradFn && this.retains) (this._gradFn.retained = null), (n.retained = new WeakRef(this));
    this._gradFn = graphed(this, n, this._gradFn);
  }
  private get fn(): Node | null { return this._viewOf ? viewGradFn(this, this._viewOf) : this._gradFn; }

  /** Releases this tensor's memory now rather than when it is garbage collected (views and saved
   * tensors sharing it keep it); using it afterwards throws. @example t.dispose() */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    untrack(this);
    const s = this._storage;
    if (this._viewOf) s.views--;
    else if (s.views) this.viewed = s; // live views of it may still need its graph (scope.ts)
    this._storage = new Storage(null, null, this._dev);
    if (--s.handles === 0) s.release();
  }
  get isDisposed(): boolean { return this.disposed; }
  /** @internal Disposed while views of it live. */ get _viewsLive(): boolean { return (this.viewed?.views ?? 0) > 0; }

  get device(): Device["type"] { return this._dev.type; }
  get ndim(): number { return this.shape.length; }
  get numel(): number { return this.shape.reduce((a, b) => a * b, 1); }
  /** The shape (a copy), or one dim's size (negative from the end), as PyTorch's size(). @example x.size(-1) */
  size(): number[]; size(dim: number): number; size(dim?: number, ...x: never[]): number[] | number { arity("size", 1, x); return dim === undefined ? [...this.shape] : sizeAt(this.shape, dim); }
  /** The number of dims, as PyTorch's dim(). */ dim(...x: never[]): number { arity("dim", 0, x); return this.shape.length; }
  get isLeaf(): boolean { return this.fn === null; }
  get gradFn(): Node | null { return this.fn; }
  /** A view requires grad while its base does, as PyTorch's (no grad_fn if made under noGrad or before). */
  get requiresGrad(): boolean { return this.leafRequiresGrad || this._gradFn !== null || !!this._viewOf?.base.requiresGrad; }
  set requiresGrad(v: boolean) { if (typeof v === "boolean" && !this.disposed) { if (!this.isLeaf) throw errors.requiresGradNonLeaf(v); if (v && this.dtype !== "float32") throw errors.nonGrad(true); } this.requiresGrad_(v); }

  /** The accumulated gradient of a leaf (or of a tensor that called retainGrad()). */
  get grad(): Tensor | null {
    if (!this.isLeaf && !this.retains && !this._grad) return warnNonLeafGrad(), null; // an assigned one is kept, as PyTorch's
    this.gradOut ||= this._grad !== null;
    return this._grad;
  }
  set grad(g: Tensor | null) {
    if (g !== null && (!(g instanceof Tensor) || this.disposed)) throw this.disposed ? errors.disposed() : errors.badArg("grad", "grad", "a Tensor or null", g);
    if (g) errors.checkGrad(g === this, g.dtype !== this.dtype || g._dev !== this._dev, !sameShape(g.shape, this.shape));
    this._setGrad(g, g !== null);
  }
  /** @internal .grad for the optimizer: not handed out, so zeroGrad() can free it at once. */
  get _gradRef(): Tensor | null { return this._grad; }
  /** @internal Replaces .grad, freeing the old one now if it was never handed out. */
  _setGrad(g: Tensor | null, out: boolean): void {
    if (this._grad && this._grad !== g && !this.gradOut) this._grad.dispose();
    if (g) g._kept = true;
    this._grad = g;
    this.gradOut = out;
  }

  /** Sets requiresGrad on a leaf. @example w.requiresGrad_() */
  requiresGrad_(flag = true, ...x: never[]): this {
    if (arity("requiresGrad_", 1, x), typeof flag !== "boolean" || this.disposed) throw this.disposed ? errors.disposed() : errors.badArg("requiresGrad_", "requiresGrad", "a boolean", flag);
    if (!this.isLeaf) {
      if (!flag) throw errors.requiresGradNonLeaf();
      return this;
    }
    if (flag && this.dtype !== "float32") throw errors.nonGrad();
    this.leafRequiresGrad = flag;
    return this;
  }
  /** Keeps .grad on a non-leaf during backward. @example y.retainGrad() */
  retainGrad(...x: never[]): void {
    if (arity("retainGrad", 0, x), this.disposed) throw errors.disposed();
    if (!this.requiresGrad) throw new Error("can't retain_grad on Tensor that has requires_grad=False");
    if (this.isLeaf) return;
    if (!this.retains) (this.fn as Node).retained = new WeakRef(this); // not a leaf: it has one
    this.retains = true;
  }
  get retainsGrad(): boolean { return this.retains; }
  /** A tensor sharing storage with no history. @example const d = y.detach() */
  detach(...x: never[]): Tensor { arity("detach", 0, x); return R.detach(this); }
  /** Detaches in place (not a view: PyTorch refuses). */
  detach_(...x: never[]): this {
    if (arity("detach_", 0, x), this.disposed || this._viewOf) throw this.disposed ? errors.disposed() : errors.detachView();
    this._gradFn = null, (this.leafRequiresGrad = false);
    return this;
  }

  /** Computes gradients of this tensor w.r.t. graph leaves. @example loss.backward() */
  backward(gradient?: Tensor | null, opts: { retainGraph?: boolean; createGraph?: false } = {}, ...x: never[]): void {
    if (arity("backward", 2, x), this.disposed) throw errors.disposed();
    errors.checkBackwardOptions(opts);
    if (gradient === undefined || gradient === null) {
      if (this.numel !== 1 && this.requiresGrad) throw errors.implicitGrad(); // else PyTorch says it needs none
    } else {
      if (!(gradient instanceof Tensor))
        throw errors.badArg("backward", "gradient", "a Tensor", gradient);
      if (!sameShape(gradient.shape, this.shape)) throw errors.gradShape(gradient.shape, this.shape);
    }
    if (!this.requiresGrad) throw errors.noGrad(); // after the gradient's shape check, as PyTorch
    if (gradient && gradient._dev !== this._dev && gradient.ndim) throw errors.gradDevice(this.device, gradient.device); // 0-d: copied, as PyTorch's
    // The implicit seed and intermediate gradients are disposed as backward ends; .grad is kept.
    scopeSync(() => {
      const seed = gradient?.detach().to(this._dev).float() ?? R.full(this.shape, 1, this._dev); // an int64/bool one cast, as PyTorch; never recorded
      const root = this._edge(); // none for a view requiring grad through its base only
      runBackward(root ?? throwNoGrad(), seed, opts.retainGraph ?? false);
    });
  }
  /** @internal The graph edge for this tensor as an input: its grad_fn, or its leaf accumulator. */
  _edge(): Node | null {
    const fn = this.fn;
    if (fn) return fn;
    if (!this.leafRequiresGrad) return null;
    return (this.acc ??= new AccumulateGrad(this));
  }
  /** @internal grad += g (g copied when someone else holds it or a view of it, as reshape's grad). */
  _accumulateGrad(g: Tensor, shared: boolean): void {
    const old = this._grad;
    if (old === null) this._setGrad(shared || g._storage.handles > 1 || g._strides ? g.clone() : g, false);
    // A non-leaf's retained grad out of place, as PyTorch's retain_grad hook: a held one stays.
    else if (old._dev !== g._dev || !sameShape(old.shape, g.shape) || !this.isLeaf) this._setGrad(old.add(g), false);
    else applyInplace("add", [old, g]);
  }
  /** @internal Sums a broadcast gradient back to `shape`. */
  _sumTo(shape: readonly number[]): Tensor { return R.sumTo(this, shape); }

  /** Computes a pending (fused) result now; a no-op once computed. @example y.realize() */
  realize(...x: never[]): this { arity("realize", 0, x), void this._storage.buf; return this; }

  // Reads.
  /** The values, copied to the host. @example await t.data() */
  data(): Promise<Float32Array> {
    try {
      if (this._strides) return dense(this, (c) => c.data()); // a grown expand: its values, not its storage's
      const s = this._storage.scratch();
      return s ? this._dev.backend.read(s, true) : this._dev.backend.read(this._buf);
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }
  /** The values, blocking until the device has them. @example t.dataSync() */
  dataSync(...x: never[]): Float32Array {
    if (arity("dataSync", 0, x), this._strides) return dense(this, (c) => c.dataSync());
    const s = this._storage.scratch();
    return s ? this._dev.backend.readSync(s, true) : this._dev.backend.readSync(this._buf);
  }
  /** The single value of a one-element tensor. @example loss.item() */
  item(...x: never[]): number {
    arity("item", 0, x);
    if (this.numel !== 1) throw errors.itemNumel();
    return this.dataSync()[0] as number;
  }
  /** JSON.stringify(t) gives its values, as tolist() (it gave the tensor's internals). */ toJSON(): NestedNumbers { return this.tolist(); }
  /** Nested arrays of numbers (a number for 0-D). @example t.tolist() */
  tolist(...x: never[]): NestedNumbers {
    const d = (arity("tolist", 0, x), checkList(this.shape), this.dataSync());
    const build = (dim: number, off: number): NestedNumbers => {
      if (dim === this.ndim) return d[off] as number;
      const stride = this.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: this.shape[dim] as number }, (_, i) => build(dim + 1, off + i * stride));
    };
    return build(0, 0);
  }
  /** PyTorch's repr, awaiting the device without blocking. @example console.log(await t.format()) */
  async format(): Promise<string> { const sfx = this.suffix(), d = this.data(); return formatTensor(await d, this.shape, sfx, this.dtype); } // as of the call
  /** PyTorch's repr (blocks on a device read). */
  toString(): string { return formatTensor(this.dataSync(), this.shape, this.suffix(), this.dtype); }
  [inspect](): string { try { return this.toString(); } catch (e) { return `tensor(<${(e as Error).message}>)`; } } // console.log never throws
  private suffix(): string[] {
    const fn = this.fn;
    return fn ? [`grad_fn=<${shortName(fn.name)}>`] : this.requiresGrad ? ["requires_grad=True"] : [];
  }

  // Elementwise ops (NumPy broadcasting; a number is a scalar operand).
  add(o: Operand, alpha?: never): Tensor { errors.refuseExtra("add", alpha); return apply("add", [this, o]); }
  sub(o: Operand, alpha?: never): Tensor { errors.refuseExtra("sub", alpha); return apply("sub", [this, o]); }
  /** other - this. @example x.rsub(2) // 2 - x */
  rsub(o: Operand, alpha?: never): Tensor { errors.refuseExtra("rsub", alpha); return apply("rsub", [this, o]); }
  mul(o: Operand, ...x: never[]): Tensor { arity("mul", 1, x); return apply("mul", [this, o]); }
  div(o: Operand, roundingMode?: never): Tensor { errors.refuseExtra("div", roundingMode); return apply("div", [this, o]); }
  pow(o: Operand, ...x: never[]): Tensor { arity("pow", 1, x); return typeof o === "number" ? apply("pows", [this, o, o - 1]) : apply("pow", [this, o]); }
  maximum(o: Tensor, ...x: never[]): Tensor { arity("maximum", 1, x); return apply("maximum", [this, o]); }
  minimum(o: Tensor, ...x: never[]): Tensor { arity("minimum", 1, x); return apply("minimum", [this, o]); }
  neg(...x: never[]): Tensor { arity("neg", 0, x); return apply("neg", [this]); }
  exp(...x: never[]): Tensor { arity("exp", 0, x); return apply("exp", [this]); }
  log(...x: never[]): Tensor { arity("log", 0, x); return apply("log", [this]); }
  sqrt(...x: never[]): Tensor { arity("sqrt", 0, x); return apply("sqrt", [this]); }
  abs(...x: never[]): Tensor { arity("abs", 0, x); return apply("abs", [this]); }
  sin(...x: never[]): Tensor { arity("sin", 0, x); return apply("sin", [this]); }
  cos(...x: never[]): Tensor { arity("cos", 0, x); return apply("cos", [this]); }
  tanh(...x: never[]): Tensor { arity("tanh", 0, x); return apply("tanh", [this]); }
  sigmoid(...x: never[]): Tensor { arity("sigmoid", 0, x); return apply("sigmoid", [this]); }
  relu(...x: never[]): Tensor { arity("relu", 0, x); return apply("relu", [this]); }
  square(...x: never[]): Tensor { arity("square", 0, x); return apply("square", [this]); }
  reciprocal(...x: never[]): Tensor { arity("reciprocal", 0, x); return apply("reciprocal", [this]); }
  log1p(...x: never[]): Tensor { arity("log1p", 0, x); return apply("log1p", [this]); }
  expm1(...x: never[]): Tensor { arity("expm1", 0, x); return apply("expm1", [this]); }
  /** torch.clamp: one bound at least (both null throws, as PyTorch's). @example x.clamp(0, 1); x.clamp(null, 1) */
  clamp(min?: number | null, max?: number | null, ...x: never[]): Tensor { arity("clamp", 2, x); return R.clamp(this, min, max); }
  gt(o: Operand, ...x: never[]): Tensor { arity("gt", 1, x); return R.compare("gt", this, o); }
  lt(o: Operand, ...x: never[]): Tensor { arity("lt", 1, x); return R.compare("lt", this, o); }
  ge(o: Operand, ...x: never[]): Tensor { arity("ge", 1, x); return R.compare("ge", this, o); }
  le(o: Operand, ...x: never[]): Tensor { arity("le", 1, x); return R.compare("le", this, o); }
  eq(o: Operand, ...x: never[]): Tensor { arity("eq", 1, x); return R.compare("eq", this, o); }
  ne(o: Operand, ...x: never[]): Tensor { arity("ne", 1, x); return R.compare("ne", this, o); }
  isnan(...x: never[]): Tensor { arity("isnan", 0, x); return R.compare("isnan", this); }

  // In place.
  add_(o: Operand, alpha?: never): this { errors.refuseExtra("add_", alpha); applyInplace("add", [this, o]); return this; }
  sub_(o: Operand, alpha?: never): this { errors.refuseExtra("sub_", alpha); applyInplace("sub", [this, o]); return this; }
  mul_(o: Operand, ...x: never[]): this { arity("mul_", 1, x); applyInplace("mul", [this, o]); return this; }
  div_(o: Operand, roundingMode?: never): this { errors.refuseExtra("div_", roundingMode); applyInplace("div", [this, o]); return this; }
  zero_(...x: never[]): this { arity("zero_", 0, x); R.fillInplace(this); return this; }
  fill_(v: number, ...x: never[]): this { arity("fill_", 1, x); if (typeof v !== "number") throw errors.badArg("fill_", "value", "a number", v); R.fillInplace(this, v); return this; }
  /** src's values into this; nonBlocking as PyTorch's (copies run in order either way). */ copy_(src: Tensor, nonBlocking?: boolean, ...x: never[]): this { arity("copy_", 2, x); if (nonBlocking !== undefined && typeof nonBlocking !== "boolean") throw errors.badArg("copy_", "nonBlocking", "a boolean", nonBlocking); R.copyInplace(this, src); return this; }

  // Reductions and shapes.
  sum(dim?: Dims | null, keepdim = false, ...x: never[]): Tensor { arity("sum", 2, x); return R.sum(this, dim, keepdim); }
  mean(dim?: Dims | null, keepdim = false, ...x: never[]): Tensor { arity("mean", 2, x); return R.mean(this, dim, keepdim); }
  max(): Tensor;
  max(dim: number, keepdim?: boolean): R.ValuesIndices;
  max(dim?: number, keepdim = false, ...x: never[]): Tensor | R.ValuesIndices { arity("max", 2, x); return R.extreme("max", this, dim, keepdim); }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): R.ValuesIndices;
  min(dim?: number, keepdim = false, ...x: never[]): Tensor | R.ValuesIndices { arity("min", 2, x); return R.extreme("min", this, dim, keepdim); }
  reshape(...shape: ShapeArgs): Tensor { return R.reshape(this, shape, "ReshapeAliasBackward0"); }
  view(...shape: ShapeArgs): Tensor { return R.reshape(this, shape, "ViewBackward0"); }
  expand(...shape: ShapeArgs): Tensor { return R.expand(this, shape); }
  squeeze(dim?: number, ...x: never[]): Tensor { arity("squeeze", 1, x); return R.squeeze(this, dim); }
  unsqueeze(dim: number, ...x: never[]): Tensor { arity("unsqueeze", 1, x); return R.unsqueeze(this, dim); }
  clone(...x: never[]): Tensor { arity("clone", 0, x); return R.clone(this); }
  /** Copies to another device. @example x.to("cpu") */
  to(device: DeviceLike, ...x: never[]): Tensor { arity("to", 1, x); return R.toDevice(this, resolveDevice(device, "to")); }
  cpu(...x: never[]): Tensor { arity("cpu", 0, x); return this.to("cpu"); }
  /** As float32 (itself if it is), as PyTorch's .float(). */ float(...x: never[]): Tensor { arity("float", 0, x); return this.dtype === "float32" && !this.disposed ? this : castCopy(this, "float32"); }
  /** As int64 (itself if it is), truncated toward zero: PyTorch's .long(). */ long(...x: never[]): Tensor { arity("long", 0, x); return this.dtype === "int64" && !this.disposed ? this : castCopy(this, "int64"); }
  /** As bool (itself if it is; nonzero is true): PyTorch's .bool(). */ bool(...x: never[]): Tensor { arity("bool", 0, x); return this.dtype === "bool" && !this.disposed ? this : castCopy(this, "bool"); }
}

export type NestedNumbers = number | NestedNumbers[];
