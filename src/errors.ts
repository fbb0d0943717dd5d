// Every user-facing message, in PyTorch's exact words where PyTorch has them; otherwise naming
// the function, the argument and the offending value or shape.
import type { Shape } from "./backend/backend.js";

/** An integer as Python prints it: exact past 2^53 (String(2 ** 60) ends in 000). */
export const int = (d: number): string => (Number.isSafeInteger(d) || !Number.isInteger(d) ? String(d) : BigInt(d).toString());
const fmtShape = (s: Shape): string => `[${s.map(int).join(", ")}]`;
const TORCH_TYPE: Record<string, string> = { float32: "Float", int64: "Long", bool: "Bool" };
const torchShape = (s: Shape, dtype: string): string => `[torch.${TORCH_TYPE[dtype]}Tensor ${fmtShape(s)}]`;

const EXTRA: Record<string, string> = { add: "alpha", sub: "alpha", rsub: "alpha", div: "roundingMode" };
export const errors = {
  broadcast: (a: number, b: number, dim: number) =>
    new Error(
      `The size of tensor a (${int(a)}) must match the size of tensor b (${int(b)}) at non-singleton dimension ${dim}`,
    ),
  dimRange: (dim: number, ndim: number) => {
    const n = Math.max(ndim, 1);
    return new RangeError(
      `Dimension out of range (expected to be in range of [${-n}, ${n - 1}], but got ${int(dim)})`,
    );
  },
  disposed: () => new Error("tensor has been disposed"),
  implicitGrad: () => new Error("grad can be implicitly created only for scalar outputs"),
  noGrad: () => new Error("element 0 of tensors does not require grad and does not have a grad_fn"),
  gradShape: (v: Shape, out: Shape) =>
    new Error(
      `Mismatch in shape: grad_output[0] has a shape of torch.Size(${fmtSize(v)}) and output[0] has a shape of torch.Size(${fmtSize(out)}).`,
    ),
  backwardTwice: () =>
    new Error(
      "Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). Saved intermediate values of the graph are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if you need to access saved tensors after calling backward.",
    ),
  leafInplace: () =>
    new Error("a leaf Variable that requires grad is being used in an in-place operation."),
  leafViewInplace: () =>
    new Error("a view of a leaf Variable that requires grad is being used in an in-place operation."),
  viewNoGrad: (indirect: boolean) =>
    new Error(
      `A view was created in no_grad mode and ${indirect ? "its base or another view of its base has been" : "is being"} modified inplace with grad mode enabled. Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify your code by moving both the view and the inplace either both inside the no_grad block (if you don't want the inplace to be tracked) or both outside (if you want the inplace to be tracked).`,
    ),
  detachView: () =>
    new Error(
      "Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set as True, gradients are views of DDP buckets, and hence detach_() cannot be called on these gradients. To fix this error, please refer to the Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution.",
    ),
  meanDtype: (dtype: string) =>
    new Error(
      `mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: ${dtype === "bool" ? "Bool" : "Long"}`,
    ),
  internalOverlap: () =>
    new Error(
      "unsupported operation: more than one element of the written-to tensor refers to a single memory location. Please clone() the tensor before performing the operation.",
    ),
  rsubNumber: (a: unknown, b: unknown) =>
    new TypeError(
      `rsub() received an invalid combination of arguments - got (${pyType(a)}, ${pyType(b)}), but expected one of:\n * (Tensor input, Tensor other, *, Number alpha)\n * (Tensor input, Number other, Number alpha)\n`,
    ),
  viewStride: () =>
    new Error(
      "view size is not compatible with input tensor's size and stride (at least one dimension spans across two contiguous subspaces). Use .reshape(...) instead.",
    ),
  missingShape: (fn: "reshape" | "expand" | "view") =>
    new TypeError(fn === "view"
      ? "view() received an invalid combination of arguments - got (), but expected one of:\n * (torch.dtype dtype)\n * (tuple of SymInts size)\n"
      : `${fn}() missing 1 required positional arguments: "${fn === "reshape" ? "shape" : "size"}"`),
  expandSizes: (shape: Shape, dtype: string, sizes: Shape) =>
    new Error(
      `expand(${dtype === "bool" ? "CPUBoolType" : `torch.${TORCH_TYPE[dtype]}Tensor`}{${fmtShape(shape)}}, size=${fmtShape(sizes)}): the number of sizes provided (${sizes.length}) must be greater or equal to the number of dimensions in the tensor (${shape.length})`,
    ),
  memOverlap: () =>
    new Error(
      "unsupported operation: some elements of the input tensor and the written-to tensor refer to a single memory location. Please clone() the tensor before performing the operation.",
    ),
  versionMismatch: (shape: Shape, dtype: string, producer: string | null, version: number, expected: number) =>
    new Error(
      `one of the variables needed for gradient computation has been modified by an inplace operation: ${torchShape(shape, dtype)}${producer ? `, which is output 0 of ${producer},` : ""} is at version ${version}; expected version ${expected} instead. Hint: enable anomaly detection to find the operation that failed to compute its gradient, with torch.autograd.set_detect_anomaly(True).`,
    ),
  /** requiresGrad_(false), or the setter (which says only the first sentence for true), on a non-leaf. */
  requiresGradNonLeaf: (flag = false) => new Error(`you can only change requires_grad flags of leaf variables.${flag ? ""
    : " If you want to use a computed variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach()."}`),
  device: (a: string, b: string) => // PyTorch names the non-CPU device first
    new Error(`Expected all tensors to be on the same device, but found at least two devices, ${a === "cpu" ? b : a} and ${a === "cpu" ? a : b}!`),
  cpuScalarGrad: () => new Error(
    'a 0-d cpu tensor that requires grad cannot join an op on the webgpu device opened with { thread: "main" }: its gradient would need a synchronous read. Create it on that device, detach() it, or open the device with { thread: "worker" }'),
  /** to() or copy_() onto that device of a tensor that requires grad: backward would read the gradient back synchronously. */
  toAsyncGrad: (what: string) => new Error(
    `${what} of a cpu tensor that requires grad onto the webgpu device opened with { thread: "main" } cannot be recorded: its backward would need a synchronous read. Create the tensor on that device, detach() it, or open the device with { thread: "worker" }`),
  /** backward()'s options: retainGraph only (createGraph, higher-order gradients, is not built). */
  checkBackwardOptions(opts: unknown): void {
    if (typeof opts !== "object" || opts === null) throw errors.badArg("backward", "options", "an object", opts);
    for (const [k, v] of Object.entries(opts)) {
      if (k === "createGraph" && v) throw new Error("backward(): createGraph (higher-order gradients) is not supported");
      if (k !== "retainGraph" && k !== "createGraph") throw errors.badOption("backward", k);
      if (v !== undefined && typeof v !== "boolean") throw errors.badArg("backward", k, "a boolean", v);
    }
  },
  /** The checks of an assignment to .grad, in PyTorch's order. */
  checkGrad(itself: boolean, type: boolean, size: boolean): void {
    if (itself) throw new Error("can't assign Variable as its own grad");
    if (type || size) throw new Error(`assigned grad has data of a different ${type ? "type" : "size"}`);
  },
  /** A CPU tensor past what one JS typed array holds (PyTorch's allocator text, then why). */
  cpuAlloc: (n: number, machine: number | false = false) => new RangeError(`DefaultCPUAllocator: can't allocate memory: you tried to allocate ${BigInt(n) * 4n} bytes (${machine ? `this machine has ${machine} bytes of memory` : "a JavaScript typed array holds at most 4 GiB"})`),
  /** A shape whose bytes pass int64 (PyTorch's check before any allocator). */
  sizeOverflow: (shape: readonly number[]) => new RangeError(`Storage size calculation overflowed with sizes=[${shape.map((d) => BigInt(d)).join(", ")}]`),
  arangeSize: () => new RangeError("invalid size, possible overflow?"),
  castResult: (result: string, to: string) => new Error(`result type ${result} can't be cast to the desired output type ${to}`),
  boolSub: (both: boolean) => new Error(`Subtraction, the \`-\` operator, with ${both ? "two bool tensors is not supported. Use the `^` or `logical_xor()`"
    : "a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()`"} operator instead.`),
  scalarOverflow: (type: "float" | "int64_t") => new Error(`value cannot be converted to type ${type} without overflow`),
  itemNumel: () => new Error("only one element tensors can be converted to Python scalars"),
  viewShape: (shape: Shape, numel: number) =>
    new Error(`shape '${fmtShape(shape)}' is invalid for input of size ${int(numel)}`),
  expand: (size: Shape, shape: Shape, dim: number, have: number, want: number) =>
    new Error(
      `The expanded size of the tensor (${int(want)}) must match the existing size (${int(have)}) at non-singleton dimension ${dim}.  Target sizes: ${fmtShape(size)}.  Tensor sizes: ${fmtShape(shape)}`,
    ),
  /** requiresGrad_(true) of an int64/bool tensor; the setter's says "and complex" as PyTorch's. */
  nonGrad: (setter = false) => new Error(`only Tensors of floating point ${setter ? "and complex " : ""}dtype can require gradients`),
  /** At creation (requires_grad=True), PyTorch's other wording. */
  createNonGrad: () => new Error("Only Tensors of floating point and complex dtype can require gradients"),
  inplaceShape: (out: Shape, self: Shape) =>
    new Error(
      `output with shape ${fmtShape(self)} doesn't match the broadcast shape ${fmtShape(out)}`,
    ),
  badArg: (fn: string, arg: string, what: string, got: unknown) =>
    new TypeError(`${fn}(): argument '${arg}' must be ${what}, but got ${describe(got)}`),
  badOption: (fn: string, key: string) => new TypeError(`${fn}(): got an unexpected option '${key}'`),
  negativeDim: (d: number, shape: Shape) =>
    new RangeError(`Trying to create tensor with negative dimension ${int(d)}: ${fmtShape(shape)}`),
  shapeDim: (d: number) => new RangeError(`invalid shape dimension ${d}`),
  /** A dim past int64 (PyTorch's, from its argument parser), else the range error `inRange` makes. */
  dimArg: (dim: number, inRange: () => Error) => (dim >= 2 ** 63 || dim < -(2 ** 63) ? new RangeError("Overflow when unpacking long") : inRange()),
  numelOverflow: () => new RangeError("numel: integer multiplication overflow"),
  inferTwice: () => new RangeError("only one dimension can be inferred"),
  inferZero: (shape: Shape) =>
    new RangeError(
      `cannot reshape tensor of 0 elements into shape ${fmtShape(shape)} because the unspecified dimension size -1 can be any value and is ambiguous`,
    ),
  expandLeading: (size: number, dim: number) =>
    new RangeError(
      `The expanded size of the tensor (${size}) isn't allowed in a leading, non-existing dimension ${dim}`,
    ),
  ragged: (dim: number, want: number, got: number) =>
    new RangeError(`expected sequence of length ${want} at dim ${dim} (got ${got})`),
  notSequence: (dim: number, got: unknown) =>
    new TypeError(`tensor(): expected a sequence at dim ${dim}, but got ${describe(got)}`),
  tooManyDims: () => new RangeError("tensor(): too many dimensions 'Array' (at most 128; an array containing itself?)"),
  unsupportedArg: (fn: string, arg: string, got: unknown) =>
    new TypeError(`${fn}(): ${arg.startsWith("a ") ? arg : `argument '${arg}'`} is not supported (got ${describe(got)})`),
  /** Refuses arguments past the `takes` a method takes (JS drops them silently), in PyTorch's words. */
  checkArity: (fn: string, takes: number, extra: readonly unknown[]): void => {
    const n = extra.length; // trailing undefineds pass, as refuseExtra's (a wrapper forwarding optional arguments)
    if (extra.some((v) => v !== undefined)) throw new TypeError(takes === 0 ? `${fn}() takes no arguments (${n} given)` : `${fn}() takes ${takes} positional argument${takes > 1 ? "s" : ""} but ${takes + n} were given`);
  },
  /** PyTorch's third argument of fn (add's alpha, div's rounding mode), not implemented: refused, never ignored. */
  refuseExtra: (fn: string, v: unknown): void => {
    if (v !== undefined) throw errors.unsupportedArg(fn, EXTRA[fn.replace(/_$/, "")] ?? "a third argument", v);
  },
  arangeRange: (a: number, b: number) => new RangeError(`unsupported range: ${num(a)} -> ${num(b)}`),
  arangeStep: () => new RangeError("step must be nonzero"),
  arangeArgs: (n: number) => new TypeError(`arange() takes at most start, end, step and then its options, but got ${n} arguments`),
  arangeSign: () => new RangeError("upper bound and larger bound inconsistent with step sign"),
  whereCond: (dtype: string) =>
    new TypeError(
      `where expected condition to be a boolean tensor, but got a tensor with dtype ${dtype === "int64" ? "Long" : "Float"}`,
    ),
  gradDevice: (want: string, got: string) =>
    new Error(`invalid gradient at index 0 - expected device ${want} but got ${got}`),
  dtype: (fn: string, got: unknown) =>
    new TypeError(`${fn}(): unsupported dtype ${describe(got)}; only 'float32' is supported`),
  lr: (lr: number) => new RangeError(`Invalid learning rate: ${pyFloat(lr)}`),
  momentum: (m: number) => new RangeError(`Invalid momentum value: ${pyFloat(m)}`),
  weightDecay: (w: number) => new RangeError(`Invalid weight_decay value: ${pyFloat(w)}`),
  nesterov: () => new Error("Nesterov momentum requires a momentum and zero dampening"),
  optimLeaf: () => new Error("can't optimize a non-leaf Tensor"),
  optimType: (p: unknown) =>
    new TypeError(`optimizer can only optimize Tensors, but one of the params is ${typeName(p)}`),
  optimParams: (got: unknown) =>
    new TypeError(
      `params argument given to the optimizer should be an iterable of Tensors or dicts, but got ${typeName(got) === "Tensor" ? "torch.FloatTensor" : describe(got)}`,
    ),
  emptyParams: () => new Error("optimizer got an empty parameter list"),
  groupType: () => new TypeError("param group must be a dict"),
  groupSet: () =>
    new TypeError(
      "optimizer parameters need to be organized in ordered collections, but the ordering of tensors in sets will change between runs. Please use a list instead.",
    ),
  groupOverlap: () => new Error("some parameters appear in more than one parameter group"),
  emptyReduce: (fn: string) =>
    new Error(
      `${fn}(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument.`,
    ),
};

const fmtSize = fmtShape;

/** A number as Python's str() prints it: an integer as an int, others as a float's repr (1e-05). */
function pyFloat(v: number): string {
  if (!Number.isFinite(v) || (Number.isInteger(v) && Math.abs(v) < 1e16)) return num(v);
  const [m, e] = v.toExponential().split("e") as [string, string];
  const x = Number(e);
  return x < -4 || x >= 16 ? `${m}e${x < 0 ? "-" : "+"}${String(Math.abs(x)).padStart(2, "0")}` : String(v);
}
/** The Python type PyTorch names for a JS value (a tensor: Tensor). */
const pyType = (v: unknown): string =>
  typeof v === "number" ? (Number.isInteger(v) ? "int" : "float") : typeof v === "boolean" ? "bool" : v === null ? "NoneType" : typeName(v);
/** A number as PyTorch prints a double: inf, -inf, nan. */
const num = (v: number): string => (Number.isNaN(v) ? "nan" : Number.isFinite(v) ? String(v) : v > 0 ? "inf" : "-inf");
const typeName = (v: unknown): string =>
  v === null ? "null" : typeof v === "object" ? (v.constructor?.name ?? "object") : typeof v;

export function describe(v: unknown, seen: readonly unknown[] = []): string { // an array in itself, or past 32 deep: [...] (as Python's)
  if (v === null) return "null";
  if (Array.isArray(v)) return seen.includes(v) || seen.length > 32 ? "[...]" : `[${v.map((e) => describe(e, [...seen, v])).join(", ")}]`;
  if (typeof v === "string") return `'${v}'`;
  if (typeof v === "object") return v.constructor?.name ?? "object";
  return typeof v === "bigint" ? `${v}n` : String(v);
}

export const NON_LEAF_GRAD_WARNING =
  "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute won't be populated during autograd.backward(). If you indeed want the .grad field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor instead. See github.com/pytorch/pytorch/pull/30531 for more informations.";
export const DUPLICATE_PARAMS_WARNING =
  "optimizer contains a parameter group with duplicate parameters; in future, this will cause an error; see github.com/pytorch/pytorch/issues/40967 for more information";
const warned = new Set<string>();
/** One of PyTorch's UserWarnings, printed once per process (as Python prints one per call site). */
export function warnOnce(text: string): void {
  if (warned.has(text)) return;
  warned.add(text);
  process.emitWarning(text, "UserWarning");
}
/** PyTorch's UserWarning when reading .grad of a non-leaf. */
export const warnNonLeafGrad = (): void => warnOnce(NON_LEAF_GRAD_WARNING);
