// apply(): runs a table op on its inputs' backend with broadcasting, and under grad mode records a
// Node whose backward runs one gradient kernel per input that needs it. Also the in-place variant.
import type { Kernel, Strided } from "../backend/backend.js";
import { isGradEnabled } from "../autograd/grad_mode.js";
import { type Edge, Node, type Saved, SavedScalar, SavedTensor } from "../autograd/node.js";
import { errors } from "../errors.js";
import { broadcastShapes, broadcastStrides, sameShape } from "../shape.js";
import { Tensor } from "../tensor.js";
import type { Device } from "../device.js";
import { type E, type Leaf, g as g_, leaves } from "./expr.js";
import { OPS, type OpName, type Variant, gradFnName, saves } from "./table.js";

export type Operand = Tensor | number;

const kernels = new Map<string, Kernel>();

/** The kernel computing `expr` with the given leaves read from buffers and the rest from consts. */
function kernel(key: string, expr: E, bufLeaves: readonly Leaf[], constLeaves: readonly Leaf[]): Kernel {
  let k = kernels.get(key);
  if (!k) kernels.set(key, (k = { key, expr, inputs: bufLeaves, consts: constLeaves }));
  return k;
}

export function sameDevice(ts: readonly Tensor[]): Device {
  const d = (ts[0] as Tensor)._dev;
  for (const t of ts) if (t._dev !== d) throw errors.device(d.type, t._dev.type);
  return d;
}

function checkOperand(fn: string, o: unknown, i: number): asserts o is Operand {
  if (!(o instanceof Tensor) && typeof o !== "number")
    throw errors.badArg(fn, i === 0 ? "input" : "other", "a Tensor or a number", o);
}

/** Runs op `name`'s forward; writes into `into` (same shape as the result) when given. */
function forward(name: OpName, ops: readonly Operand[], into?: Tensor, at?: readonly number[]) {
  const spec = OPS[name];
  ops.forEach((o, i) => checkOperand(name, o, i));
  const ts = ops.filter((o): o is Tensor => o instanceof Tensor);
  const dev = sameDevice(into ? [into, ...ts] : ts);
  let shape: readonly number[] = at ?? [];
  for (const t of ts) shape = broadcastShapes(shape, t.shape);
  if (into && !sameShape(shape, into.shape)) throw errors.inplaceShape(shape, into.shape);
  const variant = ops.map((o) => (o instanceof Tensor ? "t" : "s")).join("") as Variant;
  const args = spec.args;
  const k = kernel(`${name}:fwd:${variant}`, spec.fwd,
    args.filter((_, i) => ops[i] instanceof Tensor), args.filter((_, i) => !(ops[i] instanceof Tensor)));
  const inputs: Strided[] = ts.map((t) => ({ buf: t._buf, strides: broadcastStrides(t.shape, shape) }));
  const consts = ops.filter((o): o is number => typeof o === "number");
  const buf = dev.backend.map(k, inputs, consts, shape, into?._buf);
  return { spec, dev, shape, variant, buf };
}

/** Records the Node of op `name` for `out`; `savedSelf` replaces ops[0] where it was overwritten. */
function record(name: OpName, ops: readonly Operand[], out: Tensor, variant: Variant, savedSelf?: Tensor) {
  const spec = OPS[name];
  const fnName = gradFnName(spec, variant);
  if (!fnName || !isGradEnabled()) return;
  const next: Edge[] = ops.map((o) => (o instanceof Tensor ? o._edge() : null));
  if (next.every((e) => e === null)) return;
  const need = saves(spec, spec.args.filter((_, i) => next[i]));
  const savedLeaves: Leaf[] = [];
  const saved: Saved[] = [];
  const env = new Map<Leaf, number>(); // leaf -> const value, for number operands
  spec.args.forEach((l, i) => {
    const o = ops[i] as Operand;
    if (typeof o === "number") {
      env.set(l, o);
      if (need.has(l)) saved.push(new SavedScalar());
    } else if (need.has(l)) {
      savedLeaves.push(l);
      const t = i === 0 && savedSelf ? savedSelf : o;
      saved.push(new SavedTensor(t, t === out ? fnName : t.gradFn?.name ?? null));
    }
  });
  if (need.has("out")) {
    savedLeaves.push("out");
    saved.push(new SavedTensor(out, fnName));
  }
  const shape = out.shape;
  const node = new Node(fnName, next, ops.map((o) => (o instanceof Tensor ? o.shape : [])), saved,
    (g, tensors) => spec.args.map((l, i) => {
      const d = (spec.grads as Partial<Record<Leaf, E>>)[l];
      if (!d || !next[i]) return null;
      if (d === g_) return g; // identity gradient (add, sub's first input): no kernel
      // Bind exactly the leaves this gradient reads: buffers for g and saved tensors, uniforms for numbers.
      const used = leaves(d);
      const bufs: [Leaf, Tensor][] = [["g", g], ...savedLeaves.map((s, j) => [s, tensors[j]] as [Leaf, Tensor])];
      const ins = bufs.filter(([s]) => used.has(s));
      const consts = [...env].filter(([s]) => used.has(s));
      const k = kernel(`${name}:d${l}:${variant}`, d, ins.map(([s]) => s), consts.map(([s]) => s));
      const inputs = ins.map(([, t]) => ({ buf: t._buf, strides: broadcastStrides(t.shape, shape) }));
      return Tensor._make(g._dev.backend.map(k, inputs, consts.map(([, v]) => v), shape), shape, g._dev);
    }));
  out._setGradFn(node);
}

/** Out-of-place op. @example apply("mul", [x, 2]) */
export function apply(name: OpName, ops: readonly Operand[]): Tensor {
  const { dev, shape, variant, buf } = forward(name, ops);
  const out = Tensor._make(buf, shape, dev);
  record(name, ops, out, variant);
  return out;
}

/** An op evaluated at a given (larger) broadcast shape, without a graph: fused broadcast + op. */
export function applyAt(name: OpName, ops: readonly Operand[], shape: readonly number[]): Tensor {
  const r = forward(name, ops, undefined, shape);
  return Tensor._make(r.buf, r.shape, r.dev);
}

/** In-place op on ops[0]: writes its storage, bumps its version, rebases its history. */
export function applyInplace(name: OpName, ops: readonly Operand[]): Tensor {
  const self = ops[0] as Tensor;
  const tracks = isGradEnabled() && ops.some((o) => o instanceof Tensor && o.requiresGrad);
  if (isGradEnabled() && self.isLeaf && self.requiresGrad) throw errors.leafInplace();
  if (!tracks) {
    forward(name, ops, self);
    self._bumpVersion();
    return self;
  }
  // With a graph, compute into a new buffer and swap it in: the old one is the saved `self`.
  const { variant, buf } = forward(name, ops, undefined);
  if (buf.size !== self.numel) throw errors.inplaceShape([buf.size], self.shape);
  const old = self._swapBuf(buf);
  record(name, ops, self, variant, old);
  return self;
}

/** A tensor of `shape` filled with v, or v written into `into`. */
export function fill(shape: readonly number[], v: number, dev: Device, into?: Tensor): Tensor {
  const k = kernel("copy:fwd:s", OPS.copy.fwd, [], ["x"]);
  const buf = dev.backend.map(k, [], [v], shape, into?._buf);
  return into ?? Tensor._make(buf, shape, dev);
}

/** A contiguous copy of t broadcast to `shape`, or written into `into` (no graph). */
export function copyTo(t: Tensor, shape: readonly number[], dtype = t.dtype, into?: Tensor): Tensor {
  if (into && !sameShape(broadcastShapes(t.shape, shape), shape)) throw errors.inplaceShape(t.shape, shape);
  const k = kernel("copy:fwd:t", OPS.copy.fwd, ["x"], []);
  const buf = t._dev.backend.map(k, [{ buf: t._buf, strides: broadcastStrides(t.shape, shape) }], [], shape, into?._buf);
  return into ?? Tensor._make(buf, shape, t._dev, dtype);
}
