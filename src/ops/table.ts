// THE elementwise op table: each op's forward expression, its grad_fn name(s) and one gradient
// expression per input, transcribed from PyTorch's derivatives.yaml (self→x, other→y, result→out).
// Nothing else in the repo spells an elementwise op's math. grad_fn names are copied from PyTorch runs.
import { type Cond, type E, type Leaf, g, leaves, lit, num, out, select, w, x, y, z } from "./expr.js";

/** Which operands are tensors (t) or numbers (s): grad_fn names can differ per overload. */
export type Variant = "t" | "tt" | "ts" | "st" | "ttt";

export interface OpSpec {
  /** The leaves the op reads, in argument order. */
  args: readonly Leaf[];
  /** grad_fn name per variant; undefined means the op records no graph (comparisons). */
  gradFn?: string | Partial<Record<Variant, string>>;
  fwd: E;
  /** Gradient of each differentiable argument, as an expression of x, y, z, out and g. */
  grads: Partial<Record<Leaf, E>>;
  /** The operands next_functions lists, when not all (PyTorch's Scalar overloads take numbers as attributes). */
  listed?: (i: number, operand: unknown) => boolean;
}
const tensors = (_: number, o: unknown): boolean => typeof o !== "number";

const unary = (gradFn: string, fwd: E, dx: E): OpSpec => ({ args: ["x"], gradFn, fwd, grads: { x: dx } });
const binary = (gradFn: OpSpec["gradFn"], fwd: E, dx: E, dy: E): OpSpec => ({
  args: ["x", "y"], gradFn, fwd, grads: { x: dx, y: dy },
});
const compare = (c: Cond): OpSpec => ({ args: ["x", "y"], fwd: num(c), grads: {} });
const one = lit(1);

// NOTE: pow's gradient is 0 where the exponent is 0, and the exponent's gradient is 0 where
// the base is 0 and the exponent non-negative (PyTorch's pow_backward_self / _exponent).
const powDx = select(y.eq(0), 0, g.mul(y.mul(x.pow(y.sub(1)))));
const powDy = g.mul(select(x.eq(0).and(y.ge(0)), 0, out.mul(x.log()))); // g * where(...): an inf g makes the 0 NaN, as PyTorch
// x ** number: PyTorch's pow takes 1 for 0, sqrt for 0.5, 1/sqrt for -0.5, x for 1, x*x for 2,
// x*x*x for 3, 1/x for -1, 1/(x*x) for -2 (sqrt(-0) = -0, sqrt(-inf) = NaN where C pow gives +0, +inf;
// cubes exact on WebGPU, whose pow goes through exp2/log2); its gradient's x ** (y - 1) as well.
// The number is known at the op: apply.ts's bind keeps the one branch it takes (no pow call for these).
const spow = (e: E): E => select(e.eq(0), 1, select(e.eq(0.5), x.sqrt(), select(e.eq(-0.5), one.div(x.sqrt()), select(e.eq(1), x,
  select(e.eq(2), x.mul(x), select(e.eq(3), x.mul(x).mul(x), select(e.eq(-1), one.div(x), select(e.eq(-2), one.div(x.mul(x)), x.pow(e)))))))));

export const OPS = {
  neg: unary("NegBackward0", x.neg(), g.neg()),
  exp: unary("ExpBackward0", x.exp(), g.mul(out)),
  log: unary("LogBackward0", x.log(), g.div(x)),
  sqrt: unary("SqrtBackward0", x.sqrt(), g.div(out.mul(2))),
  abs: unary("AbsBackward0", x.abs(), g.mul(x.sign())),
  sin: unary("SinBackward0", x.sin(), g.mul(x.cos())),
  cos: unary("CosBackward0", x.cos(), g.mul(x.sin().neg())),
  tanh: unary("TanhBackward0", x.tanh(), g.mul(one.sub(out.mul(out)))),
  sigmoid: unary("SigmoidBackward0", one.div(one.add(x.neg().exp())), g.mul(one.sub(out)).mul(out)), // in PyTorch's order
  // NOTE: `x < 0 ? 0 : x` keeps NaN as torch.relu does; the gradient is 0 where out <= 0.
  relu: unary("ReluBackward0", select(x.lt(0), 0, x), select(out.le(0), 0, g)),
  reciprocal: unary("ReciprocalBackward0", one.div(x), g.neg().mul(out.mul(out))),
  square: unary("PowBackward0", x.mul(x), g.mul(x.mul(2))), // PyTorch: grad * (2 * x)
  log1p: unary("Log1PBackward0", x.log1p(), g.div(x.add(1))),
  expm1: unary("Expm1Backward0", x.expm1(), g.mul(out.add(1))),
  // clamp(x, min=y, max=z) with number bounds (±Infinity when absent). maximum/minimum give their
  // second operand on ties (PyTorch's vector loop), so x goes second: clamp(-0, 0) is -0, as PyTorch's.
  // w is 1 for a lone NaN bound: the forward ignores it (y, z infinite), the gradient is 0 (PyTorch
  // compares x with the NaN).
  clamp: {
    args: ["x", "y", "z", "w"],
    gradFn: "ClampBackward1",
    listed: tensors,
    fwd: z.minimum(y.maximum(x)),
    grads: { x: select(x.ge(y).and(x.le(z)).and(w.eq(0)), g, 0) },
  },
  add: binary("AddBackward0", x.add(y), g, g),
  sub: binary("SubBackward0", x.sub(y), g, g.neg()),
  // rsub(x, y) = y - x
  rsub: { ...binary({ tt: "RsubBackward0", ts: "RsubBackward1" }, y.sub(x), g.neg(), g), listed: tensors },
  mul: binary("MulBackward0", x.mul(y), g.mul(y), g.mul(x)),
  div: binary("DivBackward0", x.div(y), g.div(y), g.neg().mul(x.div(y).div(y))),
  pow: { ...binary({ tt: "PowBackward1", ts: "PowBackward0", st: "PowBackward2" }, x.pow(y), powDx, powDy), listed: tensors },
  // In-place writes under grad mode (fill_, zero_, copy_): the overwritten values get no gradient.
  fill: { args: ["x", "y"], gradFn: "FillBackward2", listed: tensors, fwd: y, grads: { x: lit(0) } },
  zero: unary("ZeroBackward0", lit(0), lit(0)),
  copyInto: { args: ["x", "y"], gradFn: "torch::autograd::CopyBackwards", fwd: y, grads: { x: lit(0), y: g } },
  // x ** y for a number y; z is y - 1 computed in double, as PyTorch's gradient computes it (in float32, 1.3 - 1 lost bits).
  pows: { args: ["x", "y", "z"], gradFn: "PowBackward0", listed: tensors, fwd: spow(y), grads: { x: select(y.eq(0), 0, g.mul(y.mul(spow(z)))) } },
  maximum: binary(
    "MaximumBackward0",
    x.maximum(y),
    select(x.lt(y), 0, select(x.eq(y), g.div(2), g)),
    select(x.gt(y), 0, select(x.eq(y), g.div(2), g)),
  ),
  minimum: binary(
    "MinimumBackward0",
    x.minimum(y),
    select(x.gt(y), 0, select(x.eq(y), g.div(2), g)),
    select(x.lt(y), 0, select(x.eq(y), g.div(2), g)),
  ),
  // where(cond=z, x, y): the condition gets no gradient.
  where: {
    args: ["z", "x", "y"],
    gradFn: "WhereBackward0",
    listed: (i) => i > 0, // not the condition
    fwd: select(z.ne(0), x, y),
    grads: { x: select(z.ne(0), g, 0), y: select(z.ne(0), 0, g) },
  },
  gt: compare(x.gt(y)),
  lt: compare(x.lt(y)),
  ge: compare(x.ge(y)),
  le: compare(x.le(y)),
  eq: compare(x.eq(y)),
  ne: compare(x.ne(y)),
  isnan: { args: ["x"], fwd: num(x.isnan()), grads: {} },
  // Internal: copy/broadcast (expand, copy_, clone) and fill.
  copy: { args: ["x"], fwd: x, grads: {} },
} satisfies Record<string, OpSpec>;

export type OpName = keyof typeof OPS;

/** The leaves other than g that the gradients of the arguments in bit mask `args` read: what a
 * Node must save. */
export function saves(s: OpSpec, args: number): ReadonlySet<Leaf> {
  let bySpec = savesOf.get(s);
  if (!bySpec) savesOf.set(s, (bySpec = new Map()));
  let acc = bySpec.get(args);
  if (!acc) bySpec.set(args, (acc = savesUncached(s, s.args.filter((_, i) => args & (1 << i)))));
  return acc;
}
const savesOf = new WeakMap<OpSpec, Map<number, ReadonlySet<Leaf>>>();

function savesUncached(s: OpSpec, args: readonly Leaf[]): Set<Leaf> {
  const acc = new Set<Leaf>();
  for (const a of args) {
    const d = (s.grads as Partial<Record<Leaf, E>>)[a];
    if (d) leaves(d, acc);
  }
  // PyTorch saves a result whichever input needs grad (pow(x, y): y's formula reads it; a write
  // to the result then fails backward even when only x requires grad); inputs only as needed.
  if (Object.values(s.grads).some((d) => d && leaves(d as E).has("out"))) acc.add("out");
  acc.delete("g");
  return acc;
}

export function gradFnName(s: OpSpec, v: Variant): string | undefined {
  if (typeof s.gradFn !== "object") return s.gradFn;
  return s.gradFn[v] ?? s.gradFn.tt;
}
