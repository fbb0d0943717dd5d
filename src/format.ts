// PyTorch 1.13-faithful repr() of float32 tensors: a port of torch/_tensor_str.py with the default
// print options (precision 4, threshold 1000, edgeitems 3, linewidth 80, sci_mode None).
// Numbers are rounded exactly (half-even on the binary value), as Python's '{:.4f}'/'{:.4e}' do.
import { getHeapStatistics } from "node:v8";
import { errors, int } from "./errors.js";

const PRECISION = 4;
const THRESHOLD = 1000;
const EDGE_ITEMS = 3;
const LINE_WIDTH = 80;
const PREFIX = "tensor(";

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** The exact decimal value of a finite positive double: digits / 10^scale. */
function exactDecimal(x: number): { digits: bigint; scale: number } {
  f64[0] = x;
  const bits = u64[0] ?? 0n;
  const biased = Number((bits >> 52n) & 0x7ffn);
  let mantissa = bits & 0xfffffffffffffn;
  let exp = -1074;
  if (biased !== 0) {
    mantissa |= 1n << 52n;
    exp = biased - 1075;
  }
  while (exp < 0 && (mantissa & 1n) === 0n) {
    mantissa >>= 1n;
    exp += 1;
  }
  if (exp >= 0) return { digits: mantissa << BigInt(exp), scale: 0 };
  // m * 2^-k == m * 5^k / 10^k
  return { digits: mantissa * 5n ** BigInt(-exp), scale: -exp };
}

/** n / 10^drop rounded half to even (drop <= 0 scales up exactly). */
function roundHalfEven(n: bigint, drop: number): bigint {
  if (drop <= 0) return n * 10n ** BigInt(-drop);
  const divisor = 10n ** BigInt(drop);
  let q = n / divisor;
  const twice = (n % divisor) * 2n;
  if (twice > divisor || (twice === divisor && (q & 1n) === 1n)) q += 1n;
  return q;
}

function nonFinite(v: number): string {
  if (Number.isNaN(v)) return "nan";
  return v > 0 ? "inf" : "-inf";
}

const signOf = (v: number): string => (v < 0 || Object.is(v, -0) ? "-" : "");

/** Python's '{:.Nf}'.format(v). */
function toFixedPy(v: number, decimals: number): string {
  if (!Number.isFinite(v)) return nonFinite(v);
  const abs = Math.abs(v);
  let q = 0n;
  if (abs !== 0) {
    const { digits, scale } = exactDecimal(abs);
    q = roundHalfEven(digits, scale - decimals);
  }
  const s = q.toString().padStart(decimals + 1, "0");
  if (decimals === 0) return signOf(v) + s;
  return `${signOf(v)}${s.slice(0, -decimals)}.${s.slice(-decimals)}`;
}

/** Python's '{:.Ne}'.format(v): at least two exponent digits, e.g. 1.0000e+05. */
function toExpPy(v: number, decimals: number): string {
  if (!Number.isFinite(v)) return nonFinite(v);
  const abs = Math.abs(v);
  let q = 0n;
  let exp10 = 0;
  if (abs !== 0) {
    const { digits, scale } = exactDecimal(abs);
    const len = digits.toString().length;
    exp10 = len - 1 - scale;
    q = roundHalfEven(digits, len - (decimals + 1));
    if (q.toString().length > decimals + 1) {
      q /= 10n;
      exp10 += 1;
    }
  }
  const s = q.toString().padEnd(decimals + 1, "0");
  const mant = decimals > 0 ? `${s.slice(0, 1)}.${s.slice(1)}` : s;
  const expStr = Math.abs(exp10).toString().padStart(2, "0");
  return `${signOf(v)}${mant}e${exp10 < 0 ? "-" : "+"}${expStr}`;
}

/** PyTorch's _Formatter state, built from the (possibly summarized) values. */
interface Formatter {
  /** For int64/bool tensors: values print as integers / True-False, right-aligned. */
  kind?: "int64" | "bool";
  intMode: boolean;
  sciMode: boolean;
  maxWidth: number;
}

function makeFormatter(values: readonly number[], dtype: string): Formatter {
  if (dtype === "int64" || dtype === "bool") {
    const kind = dtype;
    const f: Formatter = { kind, intMode: true, sciMode: false, maxWidth: 1 };
    for (const v of values) f.maxWidth = Math.max(f.maxWidth, formatValue(f, v).length);
    return f;
  }
  const fmt: Formatter = { intMode: true, sciMode: false, maxWidth: 1 };
  const vals = values.filter((v) => Number.isFinite(v) && v !== 0);
  if (vals.length === 0) return fmt;
  let min = Infinity;
  let max = 0;
  for (const v of vals) {
    const a = Math.abs(v);
    if (a < min) min = a;
    if (a > max) max = a;
  }
  fmt.intMode = vals.every((v) => Number.isInteger(v));
  const wide = max / min > 1000 || max > 1e8;
  let text: (v: number) => string;
  if (fmt.intMode) {
    fmt.sciMode = wide;
    // int mode reserves one column for the trailing "."
    text = wide ? (v) => toExpPy(v, PRECISION) : (v) => `${toFixedPy(v, 0)}.`;
  } else {
    fmt.sciMode = wide || min < 1e-4;
    text = fmt.sciMode ? (v) => toExpPy(v, PRECISION) : (v) => toFixedPy(v, PRECISION);
  }
  for (const v of vals) fmt.maxWidth = Math.max(fmt.maxWidth, text(v).length);
  return fmt;
}

function formatValue(fmt: Formatter, v: number): string {
  let s: string;
  if (fmt.kind === "bool") s = v !== 0 ? "True" : "False";
  else if (fmt.kind === "int64") s = Number.isFinite(v) ? BigInt(Math.trunc(v)).toString() : String(v); // exact past 2^53
  else if (fmt.sciMode) s = toExpPy(v, PRECISION);
  else if (fmt.intMode) s = toFixedPy(v, 0) + (Number.isFinite(v) ? "." : "");
  else s = toFixedPy(v, PRECISION);
  return s.padStart(fmt.maxWidth, " ");
}

/** Indices printed along a dimension; null marks the elided middle. */
function shownIndices(size: number, summarize: boolean): (number | null)[] {
  if (summarize && size > 2 * EDGE_ITEMS) {
    const head = Array.from({ length: EDGE_ITEMS }, (_, i) => i);
    const tail = Array.from({ length: EDGE_ITEMS }, (_, i) => size - EDGE_ITEMS + i);
    return [...head, null, ...tail];
  }
  return Array.from({ length: size }, (_, i) => i);
}

/** A dense row-major view being printed. */
interface View {
  data: Float32Array;
  shape: readonly number[];
  strides: number[];
  summarize: boolean;
}

function dimOf(view: View, d: number): { size: number; stride: number } {
  return { size: view.shape[d] ?? 0, stride: view.strides[d] ?? 0 };
}

/** The values PyTorch's get_summarized_data keeps (edge items only along every long dim). */
function collectValues(view: View, offset: number, d: number, out: number[]): void {
  if (d === view.shape.length) {
    out.push(view.data[offset] ?? 0);
    return;
  }
  const { size, stride } = dimOf(view, d);
  for (const i of shownIndices(size, view.summarize)) {
    if (i !== null) collectValues(view, offset + i * stride, d + 1, out);
  }
}

function vectorStr(view: View, fmt: Formatter, offset: number, indent: number): string {
  const { size, stride } = dimOf(view, view.shape.length - 1);
  const perLine = Math.max(1, Math.floor((LINE_WIDTH - indent) / (fmt.maxWidth + 2)));
  const items = shownIndices(size, view.summarize).map((i) =>
    i === null ? " ..." : formatValue(fmt, view.data[offset + i * stride] ?? 0),
  );
  const lines: string[] = [];
  for (let i = 0; i < items.length; i += perLine) {
    lines.push(items.slice(i, i + perLine).join(", "));
  }
  return `[${lines.join(`,\n${" ".repeat(indent + 1)}`)}]`;
}

function tensorStr(view: View, fmt: Formatter, offset: number, d: number, indent: number): string {
  const ndim = view.shape.length;
  if (ndim === 0) return formatValue(fmt, view.data[0] ?? 0);
  if (d === ndim - 1) return vectorStr(view, fmt, offset, indent);
  const { size, stride } = dimOf(view, d);
  const slices = shownIndices(size, view.summarize).map((i) =>
    i === null ? "..." : tensorStr(view, fmt, offset + i * stride, d + 1, indent + 1),
  );
  const sep = `,${"\n".repeat(ndim - d - 1)}${" ".repeat(indent + 1)}`;
  return `[${slices.join(sep)}]`;
}

/** PyTorch's _add_suffixes, including its off-by-two line-length bookkeeping. */
function addSuffixes(body: string, suffixes: readonly string[], indent: number): string {
  const parts = [body];
  let lastLineLen = body.length - body.lastIndexOf("\n") + 1;
  for (const suffix of suffixes) {
    if (lastLineLen + suffix.length + 2 > LINE_WIDTH) {
      parts.push(`,\n${" ".repeat(indent)}${suffix}`);
      lastLineLen = indent + suffix.length;
    } else {
      parts.push(`, ${suffix}`);
      lastLineLen += suffix.length + 2;
    }
  }
  parts.push(")");
  return parts.join("");
}

/** Python's str(tuple(shape)). */
function pyTuple(shape: readonly number[]): string {
  return shape.length === 1 ? `(${int(shape[0] ?? 0)},)` : `(${shape.map(int).join(", ")})`;
}

/**
 * Formats float32 values of the given shape as PyTorch's repr. suffixes are the trailing items such
 * as "requires_grad=True" or "grad_fn=<MulBackward0>" (already formatted, printed after the data,
 * separated by ", "). device is omitted for cpu; for another device pass its formatted item, e.g.
 * "device='webgpu'", as the first suffix (as PyTorch prints device='cuda:0').
 */
export function formatTensor(
  data: Float32Array,
  shape: readonly number[],
  suffixes: readonly string[] = [],
  dtype: "float32" | "int64" | "bool" = "float32",
): string {
  const bad = (arg: string, what: string, v: unknown) => errors.badArg("formatTensor", arg, what, v); // it is exported
  if (!(data instanceof Float32Array)) throw bad("values", "a Float32Array", data);
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) throw bad("shape", "an array of sizes (integers >= 0)", shape);
  if (!Array.isArray(suffixes) || suffixes.some((x) => typeof x !== "string")) throw bad("suffixes", "an array of strings", suffixes);
  if (!["float32", "int64", "bool"].includes(dtype)) throw bad("dtype", "'float32', 'int64' or 'bool'", dtype);
  const numel = shape.reduce((a, b) => a * b, 1);
  if (data.length !== numel) {
    throw new Error(`formatTensor: ${data.length} values for shape [${shape.join(", ")}]`);
  }
  const indent = PREFIX.length;
  if (numel === 0) {
    // PyTorch prints the size of empty tensors unless 1-D, after device but before autograd items.
    const all = [...suffixes];
    if (shape.length !== 1) {
      let at = 0;
      while (at < all.length && (all[at] ?? "").startsWith("device=")) at += 1;
      all.splice(at, 0, `size=${pyTuple(shape)}`);
    }
    // Values say int64 and bool when there are some; an empty one names its dtype after the size.
    if (dtype !== "float32") all.splice(all.findIndex((x) => !/^(device|size)=/.test(x)) >>> 0, 0, `dtype=torch.${dtype}`);
    return addSuffixes(`${PREFIX}[]`, all, indent);
  }
  const strides: number[] = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d -= 1) {
    strides[d] = (strides[d + 1] ?? 1) * (shape[d + 1] ?? 1);
  }
  const view: View = { data, shape, strides, summarize: numel > THRESHOLD };
  const values: number[] = [];
  collectValues(view, 0, 0, values);
  const fmt = makeFormatter(values, dtype);
  return addSuffixes(PREFIX + tensorStr(view, fmt, 0, 0, indent), suffixes, indent);
}

/** Throws before tolist() builds more arrays than the JS heap can hold (2^31 empty rows aborted Node). */
export function checkList(shape: readonly number[]): void {
  let arrays = 1, numel = 1;
  for (const [i, d] of shape.entries()) (numel *= d), (arrays += i < shape.length - 1 ? numel : 0);
  if (arrays + numel < 2 ** 22) return;
  const bytes = arrays * 48 + numel * 8, max = getHeapStatistics().heap_size_limit; // a JSArray and its header; a double
  if (bytes > max) throw new RangeError(`tolist(): ${int(arrays)} arrays of ${int(numel)} numbers need about ${int(bytes)} bytes; the JavaScript heap holds at most ${max} (node --max-old-space-size raises it)`);
}
