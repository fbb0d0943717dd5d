// Creation functions: tensor() from numbers, nested arrays or typed arrays; zeros/ones/full/rand/
// randn/arange and the *Like variants. Shapes come as an array or as separate numbers.
import { checkSize, type DeviceLike, resolveDevice } from "./device.js";
import { describe, errors } from "./errors.js";
import { checkFloat, fill, scalarAs } from "./ops/apply.js";
import { randData, randnData } from "./random.js";
import { checkInts } from "./shape.js";
import { type DType, Tensor } from "./tensor.js";

export interface TensorOptions {
  requiresGrad?: boolean;
  device?: DeviceLike;
  dtype?: "float32";
}
/** tensor()'s nested data (arrays may be readonly; tolist() gives NestedNumbers). */
export type NestedNumbersIn = number | readonly NestedNumbersIn[];
/** A typed array of numbers: tensor() takes its values as float32 (a Float64Array's rounded, as a number array's). */
export type NumberArray = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | Uint8Array | Uint8ClampedArray | Uint16Array | Uint32Array;
export type NestedBooleans = boolean | readonly NestedBooleans[];
type SizeArgs = [readonly number[], TensorOptions?] | number[] | [...number[], TensorOptions]; // number[]: zeros(...x.shape)
const OPTION_KEYS = ["requiresGrad", "device", "dtype"];

function checkOpts(fn: string, o: unknown): TensorOptions {
  if (o === undefined) return {};
  if (typeof o !== "object" || o === null || Array.isArray(o))
    throw errors.badArg(fn, "options", "an object", o);
  const opts = o as TensorOptions;
  for (const k of Object.keys(opts)) if (!OPTION_KEYS.includes(k)) throw errors.badOption(fn, k);
  if (opts.dtype !== undefined && opts.dtype !== "float32") throw errors.dtype(fn, opts.dtype);
  if (opts.requiresGrad !== undefined && typeof opts.requiresGrad !== "boolean")
    throw errors.badArg(fn, "requiresGrad", "a boolean", opts.requiresGrad);
  return opts;
}

/** Splits (shape | ...sizes, opts?) and validates the sizes. */
function sizeArgs(fn: string, args: readonly unknown[]): [number[], TensorOptions] {
  let rest = [...args];
  while (rest.length > 1 && rest[rest.length - 1] === undefined) rest.pop(); // zeros(shape, opts) with opts unset
  let opts: unknown;
  const last = rest[rest.length - 1];
  if (typeof last === "object" && last !== null && !Array.isArray(last) && !(last instanceof Tensor) && !ArrayBuffer.isView(last)) {
    opts = last;
    rest = rest.slice(0, -1);
  }
  const plain = opts === undefined || (Object.getPrototypeOf(opts) === Object.prototype && Object.keys(opts as object).every((k) => OPTION_KEYS.includes(k)));
  if (!rest.length && !plain) throw errors.badArg(fn, "size", "an array of integers", opts); // not options: zeros(new Set([2])) said "got ()"
  if (!rest.length) throw new TypeError(`${fn}() received an invalid combination of arguments - got (), but expected a size: ${fn}([2, 3]) or ${fn}(2, 3)`);
  const shape = Array.isArray(rest[0]) ? [...(rest[0] as unknown[])] : rest;
  if (Array.isArray(rest[0]) && rest.length > 1) throw errors.badArg(fn, "size", "a shape", rest);
  checkInts(fn, "size", shape);
  for (const d of shape) if (d < 0) throw errors.negativeDim(d, shape);
  const o = checkOpts(fn, opts);
  checkSize(shape as number[], resolveDevice(o.device, fn), true); // before any values are made on the host
  return [shape as number[], o];
}

function finish(t: Tensor, opts: TensorOptions): Tensor {
  return opts.requiresGrad ? t.requiresGrad_(true) : t;
}

const copied = (a: NumberArray): Float32Array => {
  try { return new Float32Array(a); } catch { throw errors.badArg("tensor", "data", `a ${a.constructor.name} with a buffer (not detached)`, a); }
};

/** Shape and values; bool when every value is a boolean (PyTorch's dtype for them). */
function flatten(data: unknown): { shape: number[]; values: Float32Array; bool: boolean } {
  if (ArrayBuffer.isView(data) && !(data instanceof DataView) && !(data instanceof BigInt64Array || data instanceof BigUint64Array))
    return { shape: [(data as NumberArray).length], values: copied(data as NumberArray), bool: false };
  if (typeof data === "number" || typeof data === "boolean")
    return { shape: [], values: Float32Array.of(Number(data)), bool: typeof data === "boolean" };
  if (!Array.isArray(data)) throw errors.badArg("tensor", "data", "a number, an array or a typed array of numbers", data);
  const shape: number[] = [];
  for (let d: unknown = data; Array.isArray(d); d = d[0]) if (shape.push(d.length) > 128) throw errors.tooManyDims(); // PyTorch's limit
  const out: number[] = [];
  let bools = 0;
  const walk = (v: unknown, dim: number): void => {
    if (dim === shape.length) {
      if (typeof v !== "number" && typeof v !== "boolean")
        throw new TypeError(`tensor(): could not convert ${describe(v)} to a number (at dim ${dim})`);
      out.push(Number(v));
      bools += typeof v === "boolean" ? 1 : 0;
      return;
    }
    if (!Array.isArray(v)) throw errors.notSequence(dim, v);
    if (v.length !== shape[dim]) throw errors.ragged(dim, shape[dim] as number, v.length);
    for (const e of v) walk(e, dim + 1);
  };
  walk(data, 0);
  return { shape, values: Float32Array.from(out), bool: bools > 0 && bools === out.length };
}

/** A tensor from data. @example tensor([[1, 2], [3, 4]], { requiresGrad: true }) */
export function tensor(data: NestedNumbersIn | NestedBooleans | NumberArray, opts?: TensorOptions, ...extra: never[]): Tensor {
  errors.checkArity("tensor", 2, extra);
  const o = checkOpts("tensor", opts);
  const { shape, values, bool } = flatten(data);
  const dev = resolveDevice(o.device, "tensor");
  const dtype = o.dtype ?? (bool ? "bool" : "float32"); // an explicit float32 wins, as PyTorch's dtype=
  if (dtype !== "float32" && o.requiresGrad) throw errors.createNonGrad();
  return finish(Tensor._make(dev.backend.upload(values), shape, dev, dtype), o);
}

/** f's storage as another dtype (f let go). */
const retyped = (f: Tensor, dtype: DType): Tensor => { const out = Tensor._fromStorage(f._storage, f.shape, dtype); return f.dispose(), out; };

function filled(fn: string, args: readonly unknown[], v: number, dtype: DType = "float32"): Tensor {
  const [shape, opts] = sizeArgs(fn, args);
  checkFloat(v);
  if (dtype !== "float32" && opts.requiresGrad) throw errors.createNonGrad();
  const f = fill(shape, v, resolveDevice(opts.device, fn));
  return finish(dtype === "float32" ? f : retyped(f, dtype), opts);
}

/** @example zeros([2, 3]) or zeros(2, 3) */
export const zeros = (...args: SizeArgs): Tensor => filled("zeros", args, 0);
/** @example ones(3, { requiresGrad: true }) */
export const ones = (...args: SizeArgs): Tensor => filled("ones", args, 1);

/** A boolean value gives a bool tensor, as PyTorch's. @example full([2, 2], 7); full([3], true) */
export function full(size: readonly number[], value: number | boolean, opts?: TensorOptions, ...x: never[]): Tensor {
  errors.checkArity("full", 3, x);
  if (!Array.isArray(size)) throw errors.badArg("full", "size", "an array of integers", size); // full(2, 2, 3) is not 2 x 3
  if (typeof value !== "number" && typeof value !== "boolean") throw errors.badArg("full", "fill_value", "a number or a boolean", value);
  const bool = typeof value === "boolean" && checkOpts("full", opts).dtype === undefined; // an explicit float32 wins
  return filled("full", [size, ...(opts ? [opts] : [])], Number(value), bool ? "bool" : "float32");
}

function random(fn: string, args: readonly unknown[], gen: (n: number) => Float32Array): Tensor {
  const [shape, opts] = sizeArgs(fn, args);
  const dev = resolveDevice(opts.device, fn);
  const n = shape.reduce((a, b) => a * b, 1);
  return finish(Tensor._make(dev.backend.upload(gen(n)), shape, dev), opts);
}
/** Uniform [0, 1); after manualSeed(s), the same numbers as torch.rand. @example rand(2, 3) */
export const rand = (...args: SizeArgs): Tensor => random("rand", args, randData);
/** Standard normal; after manualSeed(s), the same numbers as torch.randn. @example randn([3]) */
export const randn = (...args: SizeArgs): Tensor => random("randn", args, randnData);

/** a * b + c with one rounding: Dekker's exact product, then an exact sum of its two parts with c. */
function fma(a: number, b: number, c: number): number {
  const p = a * b;
  if (!Number.isFinite(p) || !Number.isFinite(c)) return p + c; // (inf - inf in the error terms was NaN)
  const split = (x: number): [number, number] => { const t = 134217729 * x, hi = t - (t - x); return [hi, x - hi]; };
  const [ah, al] = split(a), [bh, bl] = split(b);
  const e = ah * bh - p + ah * bl + al * bh + al * bl; // p + e = a * b
  const s = p + c, v = s - p, t = p - (s - v) + (c - v); // s + t = p + c
  const r = s + (t + e);
  return r === 0 ? s : r; // an exact zero keeps IEEE's sign (-0 + -0)
}

/** Values from start to end (exclusive) by step. @example arange(5); arange(1, 2, 0.25); arange(5, undefined, 2) // torch.arange(5, step=2) */
export function arange(end: number, opts?: TensorOptions): Tensor;
export function arange(start: number, end: number, opts?: TensorOptions): Tensor;
export function arange(start: number, end?: number, step?: number, opts?: TensorOptions): Tensor;
export function arange(start: number, ...rest: (number | TensorOptions | undefined)[]): Tensor { // options may come early
  const at = rest.findIndex((v) => typeof v === "object" && v !== null), opts = at < 0 ? undefined : (rest[at] as TensorOptions);
  const nums = at < 0 ? rest : rest.slice(0, at), [end, step = 1] = nums as [number | undefined, number | undefined];
  let given = rest.length; // trailing undefineds are unset: arange(0, 1, 0.25, opts) with opts undefined
  while (given > 0 && rest[given - 1] === undefined) given--;
  if (at < 0 ? given > 2 : at > 2 || given > at + 1) throw errors.arangeArgs(given + 1);
  const [a, b] = end === undefined ? [0, start] : [start, end];
  for (const [n, v] of [["start", a], ["end", b], ["step", step]] as const)
    if (typeof v !== "number") throw errors.badArg("arange", n, "a number", v);
  if (step === 0 || Number.isNaN(step)) throw errors.arangeStep();
  if (!Number.isFinite(a) || !Number.isFinite(b)) throw errors.arangeRange(a, b);
  if (step > 0 ? b < a : b > a) throw errors.arangeSign(); // not (b - a) * step < 0: it underflows to -0
  const n = Math.ceil((b - a) / step);
  if (!(n < 2 ** 63)) throw errors.arangeSize(); // PyTorch's check of its double count against int64
  const o = checkOpts("arange", opts), dev = resolveDevice(o.device, "arange");
  checkSize([n], dev, true);
  // PyTorch's CPU kernel (AVX2): blocks of 16 as two runs of 8 from a rounded base, then one by one;
  // each start + step * i is a double FMA there (arange(-1, 1, 0.2)[5] is 5.5511e-17, not 0).
  const vec = n - (n % 16), f = Math.fround;
  const vals = Float32Array.from({ length: n }, (_, i) => (i < vec ? fma(i % 8, step, f(fma(step, i - (i % 8), a))) : fma(step, i, a)));
  return finish(Tensor._make(dev.backend.upload(vals), [n], dev), o);
}

function like(fn: string, t: Tensor, v: number | boolean, opts?: TensorOptions): Tensor {
  if (!(t instanceof Tensor)) throw errors.badArg(fn, "input", "a Tensor", t);
  if (t.isDisposed) throw errors.disposed(); // as every use of a disposed tensor
  if (typeof v !== "number" && typeof v !== "boolean") throw errors.badArg(fn, "fill_value", "a number or a boolean", v);
  const o = checkOpts(fn, opts), dtype = o.dtype ?? t.dtype; // PyTorch keeps a bool or int64 dtype
  if (o.requiresGrad && dtype !== "float32") throw errors.createNonGrad();
  const f = fill(t.shape, scalarAs(dtype, Number(v)), resolveDevice(o.device ?? t._dev, fn));
  return finish(dtype === f.dtype ? f : retyped(f, dtype), o);
}
/** @example zerosLike(x) */
export const zerosLike = (t: Tensor, opts?: TensorOptions, ...x: never[]): Tensor => (errors.checkArity("zerosLike", 2, x), like("zerosLike", t, 0, opts));
/** @example onesLike(x) */
export const onesLike = (t: Tensor, opts?: TensorOptions, ...x: never[]): Tensor => (errors.checkArity("onesLike", 2, x), like("onesLike", t, 1, opts));
/** @example fullLike(x, 3) */
export const fullLike = (t: Tensor, v: number | boolean, opts?: TensorOptions, ...x: never[]): Tensor => (errors.checkArity("fullLike", 3, x), like("fullLike", t, v, opts));
