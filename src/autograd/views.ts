// Views and in-place ops as PyTorch's autograd has them. A view (view, reshape, squeeze, unsqueeze;
// not detach) shares its base's storage and version counter. An in-place op recorded on a view
// rebases the base's history onto CopySlices; a view whose storage was written since its grad_fn
// was set gets a new one, AsStridedBackward0 of its base, when it is next asked for. gradwise's
// views always cover their whole base, so both only reshape gradients (and sum them over an
// expand's repeated elements).
import { errors } from "../errors.js";
import type { Tensor } from "../tensor.js";
import { isGradEnabled } from "./grad_mode.js";
import { type BackwardFn, Node } from "./node.js";

/** A view's link to its base (the root one: never itself a view). */
export interface ViewOf {
  readonly base: Tensor;
  /** Made under noGrad: PyTorch forbids recording an in-place op through it. */
  readonly noGrad: boolean;
  /** The storage version its grad_fn describes. */
  version: number;
}

/** The link for a new view of `t`. */
export const viewOf = (t: Tensor): ViewOf =>
  ({ base: t._viewOf?.base ?? t, noGrad: !isGradEnabled() || !!t._viewOf?.noGrad, version: t._version }); // inherited, as PyTorch's creation meta

const asStrided = (base: Tensor, t: Tensor): Node =>
  new Node("AsStridedBackward0", [base._edge()], [base.shape], [], toBase(t.shape, t._strides, base.shape));
/** A gradient reshaped back to `shape`. Backward closures hold shapes, never their input tensors
 * (a kept loss must not keep its graph's activations alive), so they are made by module-level
 * factories like this one: a closure made inside a function shares that function's scope. */
export const reshapeTo = (shape: readonly number[]): BackwardFn => (g) => [g.reshape(shape)];
/** The dims of a view (of `shape`, with `strides` over its base) along which its elements repeat:
 * stride 0 and longer than 1, a grown expand's. */
const repeated = (shape: readonly number[], strides: readonly number[] | null): number[] =>
  strides ? shape.flatMap((n, i) => (strides[i] === 0 && n > 1 ? [i] : [])) : [];
/** A view's gradient back to its base: summed over repeated dims (as PyTorch's as_strided_backward
 * adds them), then reshaped. */
const toBase = (shape: readonly number[], strides: readonly number[] | null, baseShape: readonly number[]): BackwardFn => {
  if (strides && shape.includes(0)) return () => [null]; // an empty expand: no elements, no gradient
  const dims = repeated(shape, strides);
  return dims.length ? (g) => [g.sum(dims, true).reshape(baseShape)] : reshapeTo(baseShape);
};

/** A view's grad_fn, renewed first when its storage was written since it was set. */
export function viewGradFn(t: Tensor, v: ViewOf): Node | null {
  if (t._version === v.version || (!t._gradFn && !v.base.requiresGrad)) return t._gradFn;
  if (v.noGrad) throw errors.viewNoGrad(true);
  v.version = t._version;
  t._setGradFn(asStrided(v.base, t));
  return t._gradFn;
}

/** PyTorch's checks (check_inplace) before an in-place op on view `t`, which records a graph when
 * the view or `others` (another operand) requires grad; a view requires grad when its base does. */
export function checkViewInplace(t: Tensor, v: ViewOf, others: boolean): void {
  if (!isGradEnabled()) return;
  if (v.noGrad) { // made under noGrad: its grad_fn was never set
    if (others || v.base.requiresGrad) throw errors.viewNoGrad(false);
  } else if ((t.requiresGrad || v.base.requiresGrad) && v.base.isLeaf) throw errors.leafViewInplace();
}

/** CopySlices' backward (out here, so that it holds shapes, not the base tensor). Through a view
 * whose elements repeat (a fill of a grown expand), PyTorch's writes the gradient into such a view
 * of the result, and raises its overlap error. */
const throughView = (inner: Node, shape: readonly number[], strides: readonly number[] | null, baseShape: readonly number[]): BackwardFn =>
  strides && shape.includes(0) ? (g) => [g, ...inner.next.slice(1).map(() => null)] // an empty expand: nothing written
  : repeated(shape, strides).length ? () => { throw errors.internalOverlap(); } : (g) => {
    const [self, ...rest] = inner.apply(g.reshape(shape));
    return [self ? self.reshape(baseShape) : null, ...rest];
  };

/** In-place op `op` on the whole of a base, seen through a view of `shape`: PyTorch's CopySlices. */
class CopySlices extends Node {
  constructor(base: Tensor, readonly inner: Node, view: Tensor) {
    super("torch::autograd::CopySlices", [base._edge(), ...inner.next.slice(1)], [base.shape, ...inner.inputShapes.slice(1)], [],
      throughView(inner, view.shape, view._strides, base.shape));
    if (inner.shown) this.shown = [this.next[0] ?? null, ...inner.shown.slice(1)]; // fill_'s value is not listed
  }
  override release(): void {
    this.inner.release();
  }
}

/** After in-place op `op` was recorded on view `t`: the base's history runs through it. */
export function rebaseView(t: Tensor, v: ViewOf, op: Node): void {
  // PyTorch 1.13 leaves a base's retain_grad() on its old grad_fn here (it moves the view's).
  v.base._setGradFn(new CopySlices(v.base, op, t), false);
  v.version = t._version;
  t._setGradFn(asStrided(v.base, t));
}
