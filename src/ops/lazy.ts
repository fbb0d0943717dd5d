// Fusion: an elementwise result is a lazy expression over realized buffers, inlined into its
// consumers and compiled into one kernel when something needs its buffer (a read, a reduction).
// An in-place op gives its storage a new buffer, so pending recipes over the old one stay valid, or,
// when nothing else holds it, writes it. GRADWISE_FUSION=0 or setFusion(false) realizes every op.
import { type Buf, type Kernel, type MapSource, contiguousStrides } from "../backend/backend.js";
import { checkSize, type Device } from "../device.js";
import { errors } from "../errors.js";
import { restride, sameShape, sameStrides } from "../shape.js";
import { type E, type Leaf, leaf, substitute } from "./expr.js";
import { OPS } from "./table.js";

let fusion = process.env.GRADWISE_FUSION !== "0";
/** Turns elementwise fusion on or off (default on; GRADWISE_FUSION=0 turns it off). */
export const setFusion = (on: boolean): void => {
  if (typeof on !== "boolean") throw errors.badArg("setFusion", "on", "a boolean", on);
  fusion = on;
};
export const isFusionEnabled = (): boolean => fusion;

/** Bounds of one fused kernel: buffers it reads (WebGPU allows 8 storage bindings with the output). */
const MAX_INPUTS = 6;
const MAX_NODES = 24;
const MAX_CONSTS = 16;
/** ...and of its expression as a tree (E.size: a call as 16): relu, square, pow double a chain's tree per link. Kernels
 * compute shared parts once, keys do not; 1024 cut 6 sigmoids + backward to 2 kernels, but split ab.ts's ACT in 5, not 4. */
const MAX_TREE = 256;
/** A recipe larger than this is computed once when a second kernel needs it, not recomputed. */
const RECOMPUTE_NODES = 4;

export interface LazyInput {
  buf: Buf;
  strides: readonly number[];
}

// Explicit release on top of GC: every holder of a buffer (a storage, a pending recipe) counts
// once, and the last one to let go frees it at once. Holders that are dropped without letting go
// (collected tensors) keep their count, and the backend's FinalizationRegistry frees the buffer.
// The count lives on the buffer (b.holders): a WeakMap cost ~7 % of a small training step.
const hold = (b: Buf): void => void b.holders++;
function letGo(b: Buf, dev: Device): void {
  if (b.holders > 0 && --b.holders === 0) dev.backend.free(b);
}
const holdAll = (L: Lazy): void => L.inputs.forEach((x) => hold(x.buf));
const letGoAll = (L: Lazy, dev: Device): void => L.inputs.forEach((x) => letGo(x.buf, dev));

export class Lazy {
  /** The first kernel (Builder.id) that inlined this recipe; a second one reads it from a buffer
   * instead. An id, not the builder: that holds its other inputs' buffers. */
  owner = 0;
  /** Computed once, into its storage's buffer, never inlined (Storage.saved). */
  once = false;
  kernel: Kernel | null = null;
  constructor(
    readonly expr: E, readonly inputs: readonly LazyInput[], readonly consts: readonly number[],
    readonly shape: readonly number[], readonly nodes: number,
    /** A deferred non-elementwise result (a reduction): computes a buffer already held once. */
    readonly run?: () => Buf,
  ) {}
}

/** A buffer, or the recipe for one; shared by a tensor and its views, with the version counter. */
export class Storage {
  version = 0;
  /** Live tensor handles on this storage (the last one disposed releases the buffer); of them, views. */
  handles = 0;
  views = 0;
  private reads = 0;
  constructor(
    private b: Buf | null,
    public lazy: Lazy | null,
    readonly dev: Device,
  ) {
    if (b) hold(b);
    if (lazy) holdAll(lazy);
  }
  get buf(): Buf {
    if (!this.b) {
      const L = this.lazy;
      if (!L) throw errors.disposed();
      if (L.run) this.b = L.run();
      else hold((this.b = realize(L, this.dev)));
      this.lazy = null;
      letGoAll(L, this.dev);
    }
    return this.b;
  }
  /** For a host read: a recipe's values in a buffer of their own that the reader releases (the cpu
   * hands it over, webgpu pools it at once), leaving the recipe pending; null from the second read
   * on, or for a value computed once (kept for backward anyway): read (and keep) the storage's buffer. */
  scratch(): Buf | null {
    const L = this.lazy;
    if (!L || L.run || L.once || this.reads++ > 0) return null;
    return realize(L, this.dev);
  }
  /** Saved for backward or reduced: where a heavy call (exp, tanh, pow: E.size 16) costs more than a pass over memory
   * (Backend.computeOnce), a pending recipe making one is computed once; inlined, each kernel reading it made it again. */
  saved(): void { const L = this.lazy; if (L && !L.run && L.expr.size >= 16 && this.size >= (this.dev.backend.computeOnce ?? Infinity)) L.once = true; }
  /** Its buffer once computed (null while a recipe, or disposed). */ get done(): Buf | null { return this.lazy ? null : this.b; }
  /** Its element count (a pending recipe's without computing it). */
  get size(): number { return this.b?.size ?? (this.lazy ? this.lazy.shape.reduce((a, n) => a * n, 1) : 0); }
  /** An in-place write (a sync point): `s` computed into this storage's buffer when only `over` other handles
   * (an op's snapshot; -1: never) and s's reads hold it, as PyTorch's; else into a new one this storage takes. */
  assign(s: Storage, over = -1): void {
    if (!this.b && !this.lazy) throw errors.disposed();
    const { b, lazy } = this, L = s.lazy;
    if (b && L && !L.run && over >= 0 && writable(b, L, 1 + over)) realize(L, this.dev, b), s.release();
    else (void s.buf, (this.b = s.b), (this.lazy = s.lazy), (s.b = s.lazy = null), this.letGoOf(b, lazy));
    this.version++;
    this.reads = 0;
  }
  /** The current contents as a storage of their own (what an in-place op overwrote). */
  snapshot(): Storage { return new Storage(this.b, this.lazy, this.dev); }
  /** Lets go of the buffer or recipe: called when the last handle is disposed. */
  release(): void {
    const { b, lazy } = this;
    this.b = this.lazy = null;
    this.letGoOf(b, lazy);
  }
  private letGoOf(b: Buf | null, lazy: Lazy | null): void {
    if (b) letGo(b, this.dev);
    if (lazy) letGoAll(lazy, this.dev);
  }
}

/** Whether nothing holds b but `n` handles and L's reads of it in its own layout (no pending reader; views share the storage). */
const writable = (b: Buf, L: Lazy, n: number): boolean =>
  L.inputs.every((x) => x.buf !== b || (n++, sameShape(x.strides, contiguousStrides(L.shape)))) && b.holders === n;

const kernels = new Map<string, Kernel>(), kernelsOfExpr = new WeakMap<E, Map<number, Kernel>>(), MAX_KERNELS = 8192;

const kernelOf = (L: Lazy): Kernel => (L.kernel ??= internKernel(L));

const SLOT_I: E[] = [], SLOT_C: E[] = []; // the leaves i<k>, c<k> (cached: looked up per op)
const slot = (p: "i" | "c", k: number): E => ((p === "i" ? SLOT_I : SLOT_C)[k] ??= leaf(`${p}${k}`));

const names = (p: "i" | "c", n: number): Leaf[] => Array.from({ length: n }, (_, j) => `${p}${j}` as Leaf);
/** The kernel of L's (interned) expression by its input and constant counts; by key the first time. */
function internKernel(L: Lazy): Kernel {
  const counts = L.inputs.length * 4096 + L.consts.length;
  let byCounts = kernelsOfExpr.get(L.expr), k = byCounts?.get(counts);
  if (!byCounts) kernelsOfExpr.set(L.expr, (byCounts = new Map()));
  if (!k) byCounts.set(counts, (k = kernelByKey(L)));
  return k;
}
function kernelByKey(L: Lazy): Kernel {
  const key = `${L.expr.key}|${L.inputs.length}|${L.consts.length}`;
  let k = kernels.get(key);
  if (!k && kernels.size >= MAX_KERNELS) kernels.clear(); // each holds its expression and compiled code (~6.5 KB)
  if (!k) kernels.set(key, (k = { key, expr: L.expr, inputs: names("i", L.inputs.length), consts: names("c", L.consts.length) }));
  return k;
}

const realize = (L: Lazy, dev: Device, into?: Buf): Buf => dev.backend.map(kernelOf(L), L.inputs, L.consts, L.shape, into);

// Backward runs each node through ownInputs: a saved pending recipe its kernels cannot inline goes
// to a buffer only they hold (freed with them), not to its storage, often a dropped intermediate's
// that a loop never awaiting would keep until it awaits (test/sync_memory.test.ts).
const made = new Map<Storage, Buf>();
let owning = false;
export function ownInputs<G, R>(node: { apply(g: G): R }, g: G): R {
  if (owning) return node.apply(g);
  owning = true;
  try { return node.apply(g); } finally {
    owning = false;
    if (made.size) for (const [s, b] of made) letGo(b, s.dev), made.delete(s); // the map's own hold: kernels still reading it keep it
  }
}

const DIV = substitute(OPS.div.fwd, [leaf("x"), leaf("y")], [leaf("i0"), leaf("c0")]); // mean: sum i0 / count c0

/**
 * A result computed only when its buffer is first needed, e.g. a loss that backward never reads:
 * `run` reads `inputs` (held until then) and returns a new buffer; `divisor` divides it (mean).
 */
export function deferred(
  shape: readonly number[], dev: Device, inputs: readonly LazyInput[], run: () => Buf, divisor?: number,
): Storage {
  dev.backend.check?.(), checkSize(shape, dev, true); // always allocated; over an empty dim it can outgrow its input: at the call
  const once = (): Buf => {
    const r = run();
    if (divisor === undefined) return (hold(r), r);
    const q = realize(new Lazy(DIV, [{ buf: r, strides: contiguousStrides(shape) }], [Math.fround(divisor)], shape, 2), dev);
    dev.backend.free(r);
    return (hold(q), q);
  };
  const s = new Storage(null, new Lazy(leaf("i0"), inputs, [], shape, 1, once), dev); // (expr unused)
  if (!fusion) void s.buf;
  return s;
}

/** The pending recipe of `t` as a reduction's fused producer, or null to read its buffer. */
export function producerOf(t: Source): MapSource | null {
  const L = t._storage.lazy;
  if (!L || L.run || L.once || !fusion || !t._storage.dev.backend.mapReduce || !sameShape(L.shape, t.shape)) return null;
  return { kernel: kernelOf(L), inputs: L.inputs, consts: L.consts };
}

/** A tensor as the builder sees it: its storage, its (view) shape and strides (null: row-major). */
export interface Source {
  readonly _storage: Storage;
  readonly shape: readonly number[];
  readonly _strides: readonly number[] | null;
  readonly _saved?: boolean; // a SavedTensor's handle (see ownInputs)
}

/** Collects the inputs and constants of one kernel while an expression is composed. */
let builders = 0;
export class Builder {
  readonly id = ++builders;
  inputs: LazyInput[] = [];
  consts: number[] = [];
  nodes = 1;
  constructor(
    readonly shape: readonly number[],
    private inline = fusion,
  ) {}

  private input(buf: Buf, strides: readonly number[]): E {
    let i = 0; // a loop, not findIndex: no closure per operand
    for (const x of this.inputs) if (x.buf === buf && sameShape(x.strides, strides)) break; else i++;
    if (i === this.inputs.length) this.inputs.push({ buf, strides }), hold(buf);
    return slot("i", i);
  }
  /** The builder holds the buffers it reads until compose() ends: computing another operand's
   * recipe (s.buf below) lets go of that recipe's inputs, which an inlined operand may still read. */
  letGoInputs(dev: Device): void { for (const x of this.inputs) letGo(x.buf, dev); this.inputs = []; }
  /** A uniform constant; equal values share one slot (chains like x*1.5-0.25 repeat them). */
  constant(value: number): E {
    const v = Math.fround(value); // a number operand takes the tensor's dtype, float32
    // A slot each while they last (a key of which values were equal compiled a kernel per pattern), then an equal one's.
    const i = this.consts.length < MAX_CONSTS ? -1 : this.consts.findIndex((c) => Object.is(c, v));
    return slot("c", i >= 0 ? i : this.consts.push(v) - 1);
  }
  /** Lazy operands inlined, by expression: one read again through the same view, or another with its inputs and constants
   * (y * y's gradient g * y + g * y), is the same expression, constant slots included, so the kernel computes it once. */
  private inlined: { t: Source; L: Lazy; e: E }[] | null = null; // few per kernel: a list (a Map per builder cost W2 at 1e3 ~3 %)
  /** The expression reading tensor `t` broadcast to this kernel's shape. */
  tensor(t: Source): E {
    const s = t._storage, L = s.lazy;
    if (L && !L.run && !L.once && this.inline && viewable(L, t) && (L.owner === this.id || L.owner === 0 || L.nodes <= RECOMPUTE_NODES)) {
      L.owner ||= this.id;
      this.nodes += L.nodes;
      const same = this.inlined?.find((v) => v.L.expr === L.expr && sameShape(v.t.shape, t.shape) && sameStrides(v.t._strides, t._strides) && (v.L === L || sameRecipe(v.L, L)));
      const e = same?.e ?? this.inline1(L, t);
      return same || (this.inlined ??= []).push({ t, L, e }), e;
    }
    const m = L && !L.run && owning && t._saved ? made : null; // backward: a buffer of its kernels' own
    if (m && L && !m.has(s)) m.set(s, realize(L, s.dev)), hold(m.get(s) as Buf);
    return this.input(m ? (m.get(s) as Buf) : s.buf, restride(t._strides ?? contiguousStrides(t.shape), t.shape, this.shape));
  }
  private inline1(L: Lazy, t: Source): E {
    const at = t._strides ?? (sameShape(L.shape, t.shape) ? null : contiguousStrides(t.shape));
    if (!at && !this.inputs.length && !this.consts.length && sameShape(t.shape, this.shape) && !t.shape.includes(1))
      return (this.inputs = L.inputs.slice()).forEach((x) => hold(x.buf)), (this.consts = L.consts.slice()), L.expr; // what the loops below collect
    const ni = L.inputs.length, n = ni + L.consts.length, from = new Array<E>(n), to = new Array<E>(n);
    let identity = true;
    for (let k = 0; k < n; k++) {
      const x = k < ni ? L.inputs[k] : undefined; // inputs first, then constants (no negative index)
      const st = !x || !at ? x?.strides : x.strides.some((v) => v !== 0) ? at : at.map(() => 0);
      from[k] = x ? slot("i", k) : slot("c", k - ni);
      to[k] = x ? this.input(x.buf, restride(st as number[], t.shape, this.shape)) : this.constant(L.consts[k - ni] as number);
      identity &&= to[k] === from[k];
    }
    return identity ? L.expr : substitute(L.expr, from, to);
  }
  get tooBig(): boolean {
    return this.inputs.length > MAX_INPUTS || this.nodes > MAX_NODES || this.consts.length > MAX_CONSTS;
  }
  /** The storage of the composed expression (realized at once when fusion is off). */
  finish(expr: E, dev: Device): Storage {
    dev.backend.check?.(); // a lost or shut-down device fails at the op, not at the read
    const s = new Storage(null, new Lazy(expr, this.inputs, this.consts, this.shape, this.nodes), dev);
    if (!fusion) void s.buf;
    return s;
  }
}

const sameRecipe = (a: Lazy, b: Lazy): boolean => a.inputs.length === b.inputs.length && a.consts.every((c, k) => Object.is(c, b.consts[k])) && a.inputs.every((x, k) => x.buf === b.inputs[k]?.buf && sameShape(x.strides, b.inputs[k].strides));

/** A lazy result can be read through a view of another shape or strides when its inputs are laid out like it. */
function viewable(L: Lazy, t: Source): boolean {
  if (!t._strides && sameShape(L.shape, t.shape)) return true;
  const c = contiguousStrides(L.shape);
  return L.inputs.every((x) => x.strides.every((v) => v === 0) || sameShape(x.strides, c));
}

/**
 * Composes `build` with lazy operands inlined; when the kernel would be too big, composes it again
 * reading every operand from its realized buffer.
 */
export function compose(shape: readonly number[], dev: Device, build: (b: Builder) => E): Storage {
  checkSize(shape, dev); // at the op (a CPU result fused into a reduction needs no buffer: see checkSize)
  let b = new Builder(shape);
  try {
    let e = build(b);
    if (b.tooBig || e.size > MAX_TREE) b.letGoInputs(dev), (b = new Builder(shape, false)), (e = build(b));
    return b.finish(e, dev);
  } finally { b.letGoInputs(dev); }
}
