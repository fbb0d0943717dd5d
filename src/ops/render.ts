// Prints the scalar IR as WGSL or JS source: one row per primitive, both targets side by side.
// NOTE: WGSL's select takes (ifFalse, ifTrue, cond); WGSL has no inf/nan literals, so helpers in
// shaders/common.wgsl (gw_*) build them from bit patterns and keep NaN/Inf behaving as in PyTorch.
import type { BinaryPrim, CmpPrim, Cond, E, Leaf, UnaryPrim } from "./expr.js";

export type Target = "wgsl" | "js";
type F1 = (a: string) => string;
type F2 = (a: string, b: string) => string;
type F3 = (a: string, b: string, c: string) => string;
const T = (t: Target): 0 | 1 => (t === "wgsl" ? 0 : 1);

const UNARY: Record<UnaryPrim, [wgsl: F1, js: F1]> = {
  neg: [(a) => `gw_neg(${a})`, (a) => `(-${a})`],
  exp: [(a) => `gw_exp(${a})`, (a) => `Math.exp(${a})`],
  log: [(a) => `gw_log(${a})`, (a) => `Math.log(${a})`],
  sqrt: [(a) => `gw_sqrt(${a})`, (a) => `Math.sqrt(${a})`],
  abs: [(a) => `gw_abs(${a})`, (a) => `Math.abs(${a})`],
  sin: [(a) => `gw_sin(${a})`, (a) => `Math.sin(${a})`],
  cos: [(a) => `gw_cos(${a})`, (a) => `Math.cos(${a})`],
  tanh: [(a) => `gw_tanh(${a})`, (a) => `Math.tanh(${a})`],
  log1p: [(a) => `gw_log1p(${a})`, (a) => `Math.log1p(${a})`],
  expm1: [(a) => `gw_expm1(${a})`, (a) => `Math.expm1(${a})`],
  sign: [(a) => `gw_sign(${a})`, (a) => `gw_sign(${a})`],
  trunc: [(a) => `trunc(${a})`, (a) => `Math.trunc(${a})`],
};

const BINARY: Record<BinaryPrim, [wgsl: F2, js: F2]> = {
  add: [(a, b) => `gw_rn(${a} + ${b})`, (a, b) => `(${a} + ${b})`],
  sub: [(a, b) => `gw_rn(${a} - ${b})`, (a, b) => `(${a} - ${b})`],
  mul: [(a, b) => `gw_rn(${a} * ${b})`, (a, b) => `(${a} * ${b})`],
  div: [(a, b) => `gw_div(${a}, ${b})`, (a, b) => `(${a} / ${b})`],
  pow: [(a, b) => `gw_pow(${a}, ${b})`, (a, b) => `gw_pow(${a}, ${b})`],
  ipow: [(a, b) => `gw_ipow(${a}, ${b})`, (a, b) => `gw_ipow(${a}, ${b})`],
  maximum: [(a, b) => `gw_maximum(${a}, ${b})`, (a, b) => `gw_maximum(${a}, ${b})`],
  minimum: [(a, b) => `gw_minimum(${a}, ${b})`, (a, b) => `gw_minimum(${a}, ${b})`],
};

const CMP: Record<CmpPrim, string> = { lt: "<", le: "<=", gt: ">", ge: ">=", eq: "==", ne: "!=" };
const CMP_JS: Record<CmpPrim, string> = { ...CMP, eq: "===", ne: "!==" };

const SELECT: [wgsl: F3, js: F3] = [
  (c, t, f) => `select(${f}, ${t}, ${c})`,
  (c, t, f) => `(${c} ? ${t} : ${f})`,
];
const NUM: [F1, F1] = [(c) => `select(0.0, 1.0, ${c})`, (c) => `(${c} ? 1 : 0)`];
const ISNAN: [F1, F1] = [(a) => `gw_isnan(${a})`, (a) => `Number.isNaN(${a})`];
const LOGIC: Record<"and" | "or", string> = { and: "&&", or: "||" };

const F32 = new Float32Array(1), BITS = new Uint32Array(F32.buffer);
function literal(v: number, t: Target): string {
  // WGSL: the float32 bits through gw_lit, a value the compiler cannot see. lavapipe regrouped
  // (z * w) * 2 around a literal 2 (a fused gradient overflowed at another step than PyTorch's: inf
  // where it is NaN) and took 0 * x as 0 (WGSL lets it assume no inf: 0 * inf was 0, not NaN).
  if (t === "wgsl") return (F32[0] = v), `gw_lit(0x${(BITS[0] as number).toString(16)}u)`;
  const s = String(Math.abs(v));
  return v < 0 || Object.is(v, -0) ? `(-${s})` : s;
}

const f32 = (code: string, t: Target): string => (t === "js" ? `Math.fround(${code})` : code);

/** Renders `e` for target `t`; `env` gives the source text of each leaf. */
export function render(e: E, t: Target, env: Partial<Record<Leaf, string>>): string {
  const r = (v: E): string => render(v, t, env);
  const n = e.n;
  switch (n.k) {
    case "leaf": {
      const s = env[n.name];
      if (s === undefined) throw new Error(`render: leaf ${n.name} is not bound`);
      return s;
    }
    case "lit": return literal(n.v, t);
    // JS computes in float64: rounding each result to float32 keeps fused kernels bit-identical to
    // unfused ones (each op stored as float32), e.g. 0 * x^99 is NaN once x^99 overflows float32.
    case "un": return f32(UNARY[n.op][T(t)](r(n.a)), t);
    case "bin": return f32(BINARY[n.op][T(t)](r(n.a), r(n.b)), t);
    case "sel": return SELECT[T(t)](renderCond(n.c, t, env), r(n.t), r(n.f));
    case "num": return NUM[T(t)](renderCond(n.c, t, env));
  }
}

function renderCond(c: Cond, t: Target, env: Partial<Record<Leaf, string>>): string {
  const n = c.n;
  switch (n.k) {
    case "cmp": {
      const op = (t === "js" ? CMP_JS : CMP)[n.op];
      const [a, b] = [render(n.a, t, env), render(n.b, t, env)];
      // WGSL compilers lower != as an ordered compare (false for NaN); JS's NaN !== x is true.
      if (t === "wgsl" && n.op === "ne") return `(!(${a} == ${b}))`;
      return `(${a} ${op} ${b})`;
    }
    case "isnan": return ISNAN[T(t)](render(n.a, t, env));
    case "not": return `(!${renderCond(n.a, t, env)})`;
    default:
      return `(${renderCond(n.a, t, env)} ${LOGIC[n.k]} ${renderCond(n.b, t, env)})`;
  }
}

/** JS helpers the JS rows call; C semantics where Math differs (pow(1, NaN) = 1, pow(-1, ±inf) = 1). */
export const JS_PRELUDE = `
const gw_pow = (a, b) => (a === 1 || b === 0 ? 1 : (a === -1 && !Number.isFinite(b) && !Number.isNaN(b)) ? 1 : Math.pow(a, b));
const gw_ipow = (a, b) => { // as shaders/common.wgsl's
  if (b < 0) return a === 1 ? 1 : a === -1 ? (b % 2 === 0 ? 1 : -1) : 0;
  let r = 1;
  for (let e = b, x = a; e >= 1; e = Math.floor(e / 2), x = e >= 1 ? x * x : x) if (e % 2 === 1) r *= x;
  return r;
};
const gw_maximum = (a, b) => (a !== a || b !== b ? NaN : a > b ? a : b);
const gw_minimum = (a, b) => (a !== a || b !== b ? NaN : a < b ? a : b);
const gw_sign = (a) => (a > 0 ? 1 : a < 0 ? -1 : 0);
`;
