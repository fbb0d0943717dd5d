// Function forms of binary ops (torch.where, torch.pow(2, x), ...), for operands that may be numbers.
import { errors } from "./errors.js";
import { apply, checkFloat, type Operand } from "./ops/apply.js";
import { Tensor } from "./tensor.js";

function needTensor(fn: string, ops: readonly Operand[]): void {
  if (!ops.some((o) => o instanceof Tensor)) throw errors.badArg(fn, "input", "a Tensor", ops[0]);
}
/** A binary op's function form: either operand may be a number (one at least is a tensor at run time). */
export type BinaryFn = (a: Operand, b: Operand, extra?: never) => Tensor;
const binary = (name: "add" | "sub" | "mul" | "div" | "pow" | "maximum" | "minimum" | "rsub"): BinaryFn =>
  (a: Operand, b: Operand, extra?: never): Tensor => {
    errors.refuseExtra(name, extra);
    needTensor(name, [a, b]);
    return apply(name, [a, b]);
  };

/** torch.add(a, b). @example add(x, 2) */
export const add = binary("add");
/** torch.sub(a, b). @example sub(x, y) */
export const sub = binary("sub");
/** torch.mul(a, b). @example mul(x, y) */
export const mul = binary("mul");
/** torch.div(a, b). @example div(x, 2) */
export const div = binary("div");
/** torch.pow(a, b); a may be a number. @example pow(2, x) */
export const pow: BinaryFn = (a: Operand, b: Operand, extra?: never): Tensor =>
  a instanceof Tensor && typeof b === "number" ? (errors.refuseExtra("pow", extra), a.pow(b)) : binary("pow")(a, b, extra);
/** torch.rsub(a, b) = b - a; a must be a tensor, as PyTorch's. @example rsub(x, 2) // 2 - x */
export const rsub = (a: Tensor, b: Operand, alpha?: never): Tensor => {
  if (!(a instanceof Tensor)) throw errors.rsubNumber(a, b);
  return binary("rsub")(a, b, alpha);
};
/** torch.maximum (tensors only, as PyTorch's). @example maximum(x, y) */
export const maximum: (a: Tensor, b: Tensor) => Tensor = binary("maximum");
/** torch.minimum (tensors only, as PyTorch's). @example minimum(x, y) */
export const minimum: (a: Tensor, b: Tensor) => Tensor = binary("minimum");

/** torch.where(cond, x, y): x where the bool tensor cond is true, else y. @example where(x.gt(0), x, 0) */
export function where(cond: Tensor, x: Operand, y: Operand, ...extra: never[]): Tensor {
  errors.checkArity("where", 3, extra);
  if (!(cond instanceof Tensor)) throw errors.badArg("where", "condition", "a Tensor", cond);
  if (cond.dtype !== "bool") throw errors.whereCond(cond.dtype);
  for (const v of [x, y]) if (typeof v === "number") checkFloat(v);
  return apply("where", [cond, x, y]);
}
