// WebAssembly encoding helpers, and the f32x4 rows of exp, expm1, tanh, log, log1p, sin, cos and pow for ops/wasm.ts:
// each pair of lanes is promoted to float64, computed there to within a few float64 ulps and rounded
// to float32 once, as the JS rows' Math.fround(Math.exp(x)) is: the same float32 for all 2^32 inputs
// on Node 20 but 2 of log1p's (bench/mathcheck.ts; only a value that near a rounding tie can differ).

export const leb = (n: number): number[] => {
  const o: number[] = [];
  do o.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0)), (n = Math.floor(n / 128)); while (n > 0);
  return o;
};
export const simd = (code: number): number[] => [0xfd, ...leb(code)];
const simds = <T extends readonly number[]>(...codes: T): { [K in keyof T]: number[] } => codes.map(simd) as { [K in keyof T]: number[] };
export const bytes = (a: Float32Array | Float64Array | Int32Array): number[] => [...new Uint8Array(a.buffer)];
export const get = (l: number): number[] => [0x20, ...leb(l)], set = (l: number): number[] => [0x21, ...leb(l)];
/** i8x16.shuffle of two vectors by byte indices (0-15 the first, 16-31 the second). */
export const shuffle = (...lanes: number[]): number[] => [...simd(0x0d), ...lanes];
export const HIGH_HALF = shuffle(8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7); // lanes 2-3 to 0-1

/** What a math row needs of the kernel body it is emitted into. */
export interface Emitter {
  readonly code: number[];
  local(): number; // a new v128 local
}

export const [ADD, SUB, MUL, DIV, MIN, MAX, ABS, NEAREST, PROMOTE, DEMOTE, I64X2_SHL, AND, OR, SHR_U, GT, LT, EQ, NE, BITSELECT, XOR, FLOOR, GE] =
  [0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xec, 0x94, 0x5f, 0x5e, 0xcb, 0x4e, 0x50, 0xcd, 0x4a, 0x49, 0x47, 0x48, 0x52, 0x51, 0x75, 0x4c].map(simd) as number[][] as [
    number[], number[], number[], number[], number[], number[], number[], number[], number[], number[], number[], number[], number[],
    number[], number[], number[], number[], number[], number[], number[], number[], number[]];
export const splat = (v: number): number[] => [...simd(0x0c), ...bytes(Float32Array.of(v, v, v, v))]; // f32x4 constants and ops (wasm.ts's, powRow's)
export const [F32X4_EQ, F32X4_NE, F32X4_GT, F32X4_LT, F32X4_ABS, F32X4_TRUNC, F32X4_MUL, F32X4_NEG, NOT] =
  simds(0x41, 0x42, 0x44, 0x43, 0xe0, 0x69, 0xe6, 0xe1, 0x4d);
const f64 = (v: number): number[] => [...simd(0x0c), ...bytes(Float64Array.of(v, v))];
const i64 = (hi: number, lo = 0): number[] => [...simd(0x0c), ...bytes(Int32Array.of(lo, hi, lo, hi))]; // both lanes
const [I32_CONST, IF, END, CALL, VOID, ANY_TRUE, SPLAT, EXTRACT, REPLACE] = [0x41, 0x04, 0x0b, 0x10, 0x40, simd(0x53), simd(0x14), simd(0x21), simd(0x22)] as const;
const [F32_PROMOTE, F64_DEMOTE] = [0xbb, 0xb6];
const fact = (n: number): number => (n < 2 ? 1 : n * fact(n - 1));
// ln 2 as float32(ln 2) + a float64 rest: n * LN2_HI is exact for |n| < 2^29, so x - n ln 2 keeps ~70 bits.
const LN2_HI = Math.fround(Math.LN2), LN2_LO = -1.904654299957768e-9;
/** c[k] = 1/(k+1)!, k < 13: Taylor's expm1(r) = r (c0 + c1 r + ... + c12 r^12), to 2^-56 of it over |r| <= ln 2 / 2. */
const C = Array.from({ length: 13 }, (_, k) => 1 / fact(k + 1));
/** 1/(2k+1), k < 10: log m = 2 s (1 + s^2/3 + s^4/5 + ...), s = (m-1)/(m+1), to 2^-55 of it over |s| <= 0.1716. */
const L = Array.from({ length: 10 }, (_, k) => 1 / (2 * k + 1));

/** Locals holding x, x^2, x^4 and x^8 for x in local xl. */
function powers(e: Emitter, xl: number): number[] {
  const pw = [xl, e.local(), e.local(), e.local()];
  for (let j = 1; j < 4; j++) e.code.push(...get(pw[j - 1] as number), ...get(pw[j - 1] as number), ...MUL, ...set(pw[j] as number));
  return pw;
}
/** Pushes cs[0] + cs[1] x + ... for x = pw[0] (powers()), by Estrin's scheme (a tree of pairs: short chains,
 * so the two lane pairs and the loop's steps overlap). */
function poly(e: Emitter, cs: readonly number[], pw: readonly number[]): void {
  const c = e.code;
  const term = (lo: number, width: number): void => { // cs[lo] + ... + cs[lo + width - 1] x^(width - 1), pushed
    if (width === 1) return void c.push(...f64(cs[lo] as number));
    if (lo + width / 2 >= cs.length) return term(lo, width / 2); // no coefficient in the upper half
    term(lo + width / 2, width / 2), c.push(...get(pw[Math.log2(width / 2)] as number), ...MUL), term(lo, width / 2), c.push(...ADD);
  };
  term(0, 16);
}

/** x (f64x2 in local xl) = n ln 2 + r: returns locals holding s = 2^n and q = expm1(r). x must lie within ±700. */
function reduce(e: Emitter, xl: number): [s: number, q: number] {
  const c = e.code, n = e.local(), r = e.local(), q = e.local(), s = e.local();
  c.push(...get(xl), ...f64(Math.LOG2E), ...MUL, ...NEAREST, ...set(n));
  c.push(...get(xl), ...get(n), ...f64(LN2_HI), ...MUL, ...SUB, ...get(n), ...f64(LN2_LO), ...MUL, ...SUB, ...set(r));
  poly(e, C, powers(e, r)), c.push(...get(r), ...MUL, ...set(q));
  // n + 2^52 + 1023 holds n + 1023 in its low bits; shifted up by 52 they are 2^n's exponent field.
  c.push(...get(n), ...f64(2 ** 52 + 1023), ...ADD, I32_CONST, 52, ...I64X2_SHL, ...set(s));
  return [s, q];
}

/** Pushes log u (+ the local `plus`) for the f64x2 in local ul: u = m 2^k, m in [sqrt 1/2, sqrt 2), so
 * k ln 2 + log m; then u = 0: -inf, u < 0 or NaN: NaN, u = inf: inf. */
function logRow(e: Emitter, ul: number, plus: number): void {
  const c = e.code, m = e.local(), big = e.local(), k = e.local(), s = e.local(), z = e.local(), r = e.local();
  c.push(...get(ul), ...i64(0xfffff, -1), ...AND, ...i64(0x3ff00000), ...OR, ...set(m)); // the mantissa, as [1, 2)
  c.push(...get(m), ...f64(Math.SQRT2), ...GT, ...set(big));
  c.push(...get(m), ...f64(0.5), ...MUL, ...get(m), ...get(big), ...BITSELECT, ...set(m));
  // The exponent field as a float (2^52 + field, less 2^52), less the bias, plus 1 where m was halved.
  c.push(...get(ul), I32_CONST, 52, ...SHR_U, ...i64(0x43300000), ...OR, ...f64(2 ** 52 + 1023), ...SUB);
  c.push(...get(big), ...f64(1), ...AND, ...ADD, ...set(k));
  c.push(...get(m), ...f64(1), ...SUB, ...get(m), ...f64(1), ...ADD, ...DIV, ...set(s), ...get(s), ...get(s), ...MUL, ...set(z));
  poly(e, L, powers(e, z)), c.push(...get(s), ...MUL, ...f64(2), ...MUL, ...get(k), ...f64(LN2_LO), ...MUL, ...ADD);
  if (plus !== ul) c.push(...get(plus), ...ADD);
  c.push(...get(k), ...f64(LN2_HI), ...MUL, ...ADD, ...set(r));
  const pick = (v: number, cond: number[]): number[] => [...f64(v), ...get(r), ...get(ul), ...cond, ...BITSELECT, ...set(r)];
  c.push(...pick(-Infinity, [...f64(0), ...EQ]), ...pick(Infinity, [...f64(Infinity), ...EQ]));
  c.push(...pick(NaN, [...f64(0), ...LT]), ...get(ul), ...get(ul), ...NE, ...get(r), ...OR);
}

// π/2 in parts of 33, 33 and 53 bits: k P1 and k P2 are exact for |k| < 2^20, so x - k π/2 keeps ~100 bits.
const [P1, P2, P3] = [1.5707963267341256, 6.077100506303966e-11, 2.0222662487959506e-21];
/** Taylor's sin r / r in s = r^2 (10 terms), cos r (11): to 2^-56 of it over |r| <= π/4. */
const SIN = Array.from({ length: 10 }, (_, j) => (-1) ** j / fact(2 * j + 1)), COS = Array.from({ length: 11 }, (_, j) => (-1) ** j / fact(2 * j));
/** Pushes sin x or cos x for the f64x2 in local xl: x = k π/2 + r, |r| <= π/4, then sin r or cos r by k mod 4, signed. From
 * |x| > 2^20 (and ±inf) the pair is Math's own, an imported call (sin 0, cos 1): its reduction needs 2/π to ~150 bits. */
function trigRow(e: Emitter, op: "sin" | "cos", xl: number): void {
  const c = e.code, k = e.local(), r = e.local(), s = e.local(), t = e.local(), v = e.local();
  c.push(...get(xl), ...f64(2 / Math.PI), ...MUL, ...NEAREST, ...set(k), ...get(xl)); // k = 0: r is x (-0 stays -0)
  c.push(...get(xl), ...get(k), ...f64(P1), ...MUL, ...SUB, ...get(k), ...f64(P2), ...MUL, ...SUB, ...get(k), ...f64(P3), ...MUL, ...SUB);
  c.push(...get(k), ...f64(0), ...EQ, ...BITSELECT, ...set(r), ...get(r), ...get(r), ...MUL, ...set(s));
  c.push(...get(k), ...f64(op === "cos" ? 1 : 0), ...ADD, ...set(t)); // cos x = sin(x + π/2)
  const pw = powers(e, s);
  poly(e, COS, pw), poly(e, SIN, pw), c.push(...get(r), ...MUL); // cos r, sin r: the first where t is odd
  c.push(...get(t), ...f64(0.5), ...MUL, ...get(t), ...f64(0.5), ...MUL, ...FLOOR, ...NE, ...BITSELECT);
  c.push(...get(t), ...f64(0.25), ...MUL, ...get(t), ...f64(0.25), ...MUL, ...FLOOR, ...SUB, ...f64(0.5), ...GE, ...f64(-0), ...AND, ...XOR, ...set(v));
  c.push(...get(xl), ...ABS, ...f64(2 ** 20), ...GT, ...ANY_TRUE, IF, VOID, ...get(xl), ...EXTRACT, 0, CALL, op === "sin" ? 0 : 1, ...SPLAT);
  c.push(...get(xl), ...EXTRACT, 1, CALL, op === "sin" ? 0 : 1, ...REPLACE, 1, ...set(v), END, ...get(v));
}

/** Pushes op(x) for the f64x2 in local xl. */
function row64(e: Emitter, op: MathPrim, xl: number): void {
  const c = e.code;
  if (op === "sin" || op === "cos") return trigRow(e, op, xl);
  if (op === "tanh") { // tanh |x| = expm1(2|x|) / (expm1(2|x|) + 2), the sign of x put back (tanh 20 is 1 in float64)
    const y = e.local(), t = e.local();
    c.push(...get(xl), ...ABS, ...f64(20), ...MIN, ...f64(2), ...MUL, ...set(y));
    const [s, q] = reduce(e, y);
    c.push(...get(s), ...get(q), ...MUL, ...get(s), ...f64(1), ...SUB, ...ADD, ...set(t));
    return void c.push(...get(t), ...get(t), ...f64(2), ...ADD, ...DIV, ...get(xl), ...f64(-0), ...AND, ...OR);
  }
  if (op === "log") return logRow(e, xl, xl);
  if (op === "log1p") { // log u, u = 1 + x, plus (x - (u - 1)) / u: what rounding 1 + x lost; -0 stays -0
    const u = e.local(), cl = e.local();
    c.push(...get(xl), ...f64(1), ...ADD, ...set(u), ...get(xl), ...get(u), ...f64(1), ...SUB, ...SUB, ...get(u), ...DIV, ...set(cl));
    return logRow(e, u, cl), void c.push(...get(xl), ...f64(-0), ...AND, ...OR);
  }
  // exp: 2^n (1 + q); expm1: 2^n q + (2^n - 1). Beyond these bounds float32 results are 0, -1 or inf.
  const x = e.local();
  c.push(...get(xl), ...f64(-110), ...MAX, ...f64(100), ...MIN, ...set(x));
  const [s, q] = reduce(e, x);
  if (op === "exp") c.push(...get(q), ...f64(1), ...ADD, ...get(s), ...MUL);
  else c.push(...get(s), ...get(q), ...MUL, ...get(s), ...f64(1), ...SUB, ...ADD, ...get(xl), ...f64(-0), ...AND, ...OR); // -0 stays -0
}

/** Relative error allowed for powRow's exp(y log x) (estimated at most 2^-43 over its range), and Math.pow's. */
const POW_EPS = 2 ** -36;
/** Pushes pow(a, b) for the f32x4s in locals al and bl, as Math.fround(Math.pow(a, b)): r = exp(b log |a|) in float64
 * (a finite and not 0, b finite) and the float32 r rounds to, where r (1 - POW_EPS) and r (1 + POW_EPS) round to it
 * too (then Math.pow's value, within that of the exact one, does), negated for a < 0 and an odd b, NaN for a < 0 and
 * b not an integer; other lanes (about 1 in 3 000 near a rounding boundary, a = 0, inf or NaN operands) call Math.pow,
 * imported (func 2; V8 calls the C function Math.pow runs in JS). Then 1 where C's pow gives 1 and Math's NaN
 * (gw_pow): a base of 1 (to NaN), -1 to ±inf. */
export function powRow(e: Emitter, al: number, bl: number): void {
  const c = e.code, v = e.local(), bad = e.local(), f32 = splat, [F32_EXTRACT, F32_REPLACE, I32_EXTRACT] = simds(0x1f, 0x20, 0x1b);
  const halves = [0, 1].map((h) => {
    const [x, y, t, r, m] = [e.local(), e.local(), e.local(), e.local(), e.local()];
    const promote = (l: number): number[] => [...get(l), ...(h ? [...get(l), ...HIGH_HALF] : []), ...PROMOTE];
    c.push(...promote(al), ...ABS, ...set(x), ...promote(bl), ...set(y));
    logRow(e, x, x), c.push(...get(y), ...MUL, ...f64(-110), ...MAX, ...f64(100), ...MIN, ...set(t)); // beyond: 0 or inf in float32
    const [s, q] = reduce(e, t);
    c.push(...get(q), ...f64(1), ...ADD, ...get(s), ...MUL, ...set(r));
    c.push(...get(r), ...f64(1 - POW_EPS), ...MUL, ...DEMOTE, ...get(r), ...f64(1 + POW_EPS), ...MUL, ...DEMOTE, ...F32X4_NE, ...set(m));
    c.push(...get(r), ...DEMOTE, ...set(r));
    return [r, m];
  }) as [number, number][];
  const join = (j: 0 | 1): number[] => [...get(halves[0]![j]), ...get(halves[1]![j]), ...shuffle(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23)];
  const negative = [...get(al), ...f32(0), ...F32X4_LT], whole = [...get(bl), ...get(bl), ...F32X4_TRUNC, ...F32X4_EQ];
  const half = [...get(bl), ...f32(0.5), ...F32X4_MUL], odd = [...half, ...half, ...F32X4_TRUNC, ...F32X4_NE, ...whole, ...AND];
  c.push(...f32(NaN), ...join(0), ...set(v), ...get(v), ...F32X4_NEG, ...get(v), ...negative, ...odd, ...AND, ...BITSELECT); // |a|^b, negated
  c.push(...negative, ...whole, ...NOT, ...AND, ...BITSELECT, ...set(v), ...join(1)); // NaN for a < 0 to a fraction
  c.push(...get(al), ...F32X4_ABS, ...f32(0), ...F32X4_GT, ...get(al), ...F32X4_ABS, ...f32(Infinity), ...F32X4_LT, ...AND);
  c.push(...get(bl), ...F32X4_ABS, ...f32(Infinity), ...F32X4_LT, ...AND, ...NOT, ...OR, ...set(bad), ...get(bad), ...ANY_TRUE, IF, VOID);
  for (let j = 0; j < 4; j++) {
    c.push(...get(bad), ...I32_EXTRACT, j, IF, VOID, ...get(v), ...get(al), ...F32_EXTRACT, j, F32_PROMOTE, ...get(bl), ...F32_EXTRACT, j, F32_PROMOTE);
    c.push(CALL, 2, F64_DEMOTE, ...F32_REPLACE, j, ...set(v), END);
  }
  c.push(END, ...f32(1), ...get(v), ...get(al), ...f32(1), ...F32X4_EQ);
  c.push(...get(al), ...f32(-1), ...F32X4_EQ, ...get(bl), ...F32X4_ABS, ...f32(Infinity), ...F32X4_EQ, ...AND, ...OR, ...BITSELECT);
}
/** What a kernel module imports besides its memory (functions 0, 1, 2). */
export const IMPORTS = { sin: Math.sin, cos: Math.cos, pow: Math.pow } as const;

export type MathPrim = "exp" | "expm1" | "tanh" | "log" | "log1p" | "sin" | "cos";
export const MATH: ReadonlySet<string> = new Set<MathPrim>(["exp", "expm1", "tanh", "log", "log1p", "sin", "cos"]);

/** Replaces the f32x4 on the stack with op of each lane: lanes 0-1 and 2-3 through float64, then rounded. */
export function mathRow(e: Emitter, op: MathPrim): void {
  const c = e.code, v = e.local(), lo = e.local(), hi = e.local();
  c.push(...set(v), ...get(v), ...PROMOTE, ...set(lo), ...get(v), ...get(v), ...HIGH_HALF, ...PROMOTE, ...set(hi));
  row64(e, op, lo), c.push(...DEMOTE, ...set(lo));
  row64(e, op, hi), c.push(...DEMOTE, ...set(hi));
  c.push(...get(lo), ...get(hi), ...shuffle(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23));
}
