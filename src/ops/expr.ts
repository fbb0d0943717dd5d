// A tiny typed scalar IR: the only way op math is written. Expressions are immutable trees over the
// leaves x, y, z (inputs), out (the forward result) and g (the incoming gradient); render.ts prints them.

/** Table leaves, plus i<k>/c<k>: the k-th buffer / constant of a fused kernel. */
export type Leaf = "x" | "y" | "z" | "w" | "out" | "g" | `i${number}` | `c${number}`;
export type UnaryPrim =
  | "neg" | "exp" | "log" | "sqrt" | "abs" | "sin" | "cos" | "tanh" | "log1p" | "expm1" | "sign" | "trunc";
export type BinaryPrim = "add" | "sub" | "mul" | "div" | "pow" | "ipow" | "maximum" | "minimum";
export type CmpPrim = "lt" | "le" | "gt" | "ge" | "eq" | "ne";

type Node =
  | { k: "leaf"; name: Leaf }
  | { k: "lit"; v: number }
  | { k: "un"; op: UnaryPrim; a: E }
  | { k: "bin"; op: BinaryPrim; a: E; b: E }
  | { k: "sel"; c: Cond; t: E; f: E }
  | { k: "num"; c: Cond };

type CondNode =
  | { k: "cmp"; op: CmpPrim; a: E; b: E }
  | { k: "and" | "or"; a: Cond; b: Cond }
  | { k: "not"; a: Cond }
  | { k: "isnan"; a: E };

const HEAVY: ReadonlySet<UnaryPrim> = new Set(["exp", "log", "sin", "cos", "tanh", "log1p", "expm1"]);

/** A scalar expression. Literals must be finite (WGSL has no inf/nan literals). */
export class E {
  private k?: string;
  private s?: number;
  /** @internal leavesCached's and decide's memos: fields, read per op (a WeakMap lookup each cost more). */
  _leaves?: readonly Leaf[];
  /** @internal */ _chooses?: boolean;
  /** @internal apply.ts bind()'s memo: which of an op's `leaves` it reads, as positions and leaf nodes. */
  _bound?: { leaves: readonly Leaf[]; at: readonly number[]; from: readonly E[] };
  constructor(readonly n: Node) {}
  /** Nodes counted as a tree (a shared subexpression at each use; memoized), a function call (exp, sin,
   * pow: a WGSL body inlined at each use) as 16: what the key spells, weighed as a compiler inlines it. */
  get size(): number {
    const n = this.n;
    return (this.s ??= n.k === "leaf" || n.k === "lit" ? 1 : n.k === "un" ? (HEAVY.has(n.op) ? 16 : 1) + n.a.size
      : n.k === "bin" ? (n.op === "pow" ? 16 : 1) + n.a.size + n.b.size
      : n.k === "sel" ? 1 + n.c.size + n.t.size + n.f.size : 1 + n.c.size);
  }
  /** A structural key (memoized): equal keys mean the same computation. */
  get key(): string {
    if (this.k === undefined) {
      const n = this.n;
      this.k =
        n.k === "leaf" ? n.name
        : n.k === "lit" ? String(n.v)
        : n.k === "un" ? `${n.op}(${n.a.key})`
        : n.k === "bin" ? `${n.op}(${n.a.key},${n.b.key})`
        : n.k === "sel" ? `sel(${n.c.key},${n.t.key},${n.f.key})`
        : `num(${n.c.key})`;
    }
    return this.k;
  }
  add(b: E | number): E { return bin("add", this, b); }
  sub(b: E | number): E { return bin("sub", this, b); }
  mul(b: E | number): E { return bin("mul", this, b); }
  div(b: E | number): E { return bin("div", this, b); }
  pow(b: E | number): E { return bin("pow", this, b); }
  /** An integer power (integer operands): PyTorch's for int64, by squaring. */
  ipow(b: E | number): E { return bin("ipow", this, b); }
  maximum(b: E | number): E { return bin("maximum", this, b); }
  minimum(b: E | number): E { return bin("minimum", this, b); }
  neg(): E { return un("neg", this); }
  exp(): E { return un("exp", this); }
  log(): E { return un("log", this); }
  sqrt(): E { return un("sqrt", this); }
  abs(): E { return un("abs", this); }
  sin(): E { return un("sin", this); }
  cos(): E { return un("cos", this); }
  tanh(): E { return un("tanh", this); }
  log1p(): E { return un("log1p", this); }
  expm1(): E { return un("expm1", this); }
  sign(): E { return un("sign", this); }
  trunc(): E { return un("trunc", this); }
  lt(b: E | number): Cond { return cmp("lt", this, b); }
  le(b: E | number): Cond { return cmp("le", this, b); }
  gt(b: E | number): Cond { return cmp("gt", this, b); }
  ge(b: E | number): Cond { return cmp("ge", this, b); }
  eq(b: E | number): Cond { return cmp("eq", this, b); }
  ne(b: E | number): Cond { return cmp("ne", this, b); }
  isnan(): Cond { return new Cond({ k: "isnan", a: this }); }
}

/** A boolean; usable only inside select() or num(). */
export class Cond {
  private k?: string;
  constructor(readonly n: CondNode) {}
  get size(): number { const n = this.n; return 1 + n.a.size + ("b" in n ? n.b.size : 0); }
  get key(): string {
    if (this.k === undefined) {
      const n = this.n;
      this.k =
        n.k === "cmp" ? `${n.op}(${n.a.key},${n.b.key})`
        : n.k === "isnan" ? `isnan(${n.a.key})`
        : n.k === "not" ? `not(${n.a.key})`
        : `${n.k}(${n.a.key},${n.b.key})`;
    }
    return this.k;
  }
  and(b: Cond): Cond { return new Cond({ k: "and", a: this, b }); }
  or(b: Cond): Cond { return new Cond({ k: "or", a: this, b }); }
  not(): Cond { return new Cond({ k: "not", a: this }); }
}

export const lift = (v: E | number): E => {
  if (v instanceof E) return v;
  if (!Number.isFinite(v)) throw new Error(`IR literal must be finite, got ${v}`);
  return new E({ k: "lit", v });
};
// Unary and binary nodes are interned by operator and operand objects (the names never clash):
// composing a kernel again yields the same objects, whose key and kernel are then known. Nodes over
// the permanent leaves never die, so the tables start afresh past MAX_INTERNED nodes (a cache only:
// an equal node made later is another object with the same key; 20 000 distinct kernels held 133 MB).
const interned = new Map<string, WeakMap<E, WeakMap<E, E>>>();
export const MAX_INTERNED = 32768;
let internedCount = 0;
function intern(op: UnaryPrim | BinaryPrim, a: E, b?: E): E {
  if (internedCount >= MAX_INTERNED) interned.clear(), (internedCount = 0);
  let m = interned.get(op), ma = m?.get(a), e = ma?.get(b ?? a);
  if (!m) interned.set(op, (m = new WeakMap()));
  if (!ma) m.set(a, (ma = new WeakMap()));
  if (!e) ma.set(b ?? a, (e = new E(b ? { k: "bin", op: op as BinaryPrim, a, b } : { k: "un", op: op as UnaryPrim, a }))), internedCount++;
  return e;
}
const un = (op: UnaryPrim, a: E): E => intern(op, a);
const bin = (op: BinaryPrim, a: E, b: E | number): E => intern(op, a, lift(b));
const cmp = (op: CmpPrim, a: E, b: E | number): Cond => new Cond({ k: "cmp", op, a, b: lift(b) });

const leafs = new Map<Leaf, E>();
/** The leaf `name` (interned: expressions are immutable, and kernels are built from many leaves). */
export const leaf = (name: Leaf): E => {
  let e = leafs.get(name);
  if (!e) leafs.set(name, (e = new E({ k: "leaf", name })));
  return e;
};
export const lit = (v: number): E => lift(v);
/** select(c, t, f) = c ? t : f */
export const select = (c: Cond, t: E | number, f: E | number): E =>
  new E({ k: "sel", c, t: lift(t), f: lift(f) });
/** A condition as a float 0/1. */
export const num = (c: Cond): E => new E({ k: "num", c });

export const [x, y, z, w, out, g] = (["x", "y", "z", "w", "out", "g"] as const).map(leaf) as [E, E, E, E, E, E];

/** The leaves g, x, y, z, w, out a fixed expression (the op table's) reads, in that order; computed once. */
export const leavesCached = (e: E): readonly Leaf[] =>
  (e._leaves ??= (["g", "x", "y", "z", "w", "out"] as const).filter((l) => leaves(e).has(l)));

/** Every leaf an expression reads. */
export function leaves(e: E | Cond, acc = new Set<Leaf>()): Set<Leaf> {
  const n = e.n;
  switch (n.k) {
    case "leaf": acc.add(n.name); break;
    case "lit": break;
    case "un": case "not": case "isnan": leaves(n.a, acc); break;
    case "num": leaves(n.c, acc); break;
    case "sel": leaves(n.c, acc); leaves(n.t, acc); leaves(n.f, acc); break;
    default: leaves(n.a, acc); leaves(n.b, acc);
  }
  return acc;
}

/** Replaces each (interned) leaf from[k] by to[k] (a scalar operand bound, kernels composed). */
export function substitute(e: E, from: readonly E[], to: readonly E[]): E {
  const n = e.n;
  let a: E;
  switch (n.k) {
    case "leaf": return to[from.indexOf(e)] ?? e; // a linear scan: a handful of leaves are bound
    case "lit": return e;
    case "un": return (a = substitute(n.a, from, to)) === n.a ? e : un(n.op, a);
    case "bin": {
      a = substitute(n.a, from, to);
      const b = substitute(n.b, from, to);
      return a === n.a && b === n.b ? e : bin(n.op, a, b); // unchanged subtrees are shared
    }
    default: { // sel, num: rare (relu-like ops); conditions are rebuilt through the same walk
      const sub = (v: E | Cond): E | Cond => (v instanceof E ? substitute(v, from, to) : rebuild(v, sub));
      return rebuild(e, sub) as E;
    }
  }
}

export type { Node as ENode, CondNode };

const KIDS = ["a", "b", "c", "t", "f"] as const;
const kids = (v: E | Cond): (E | Cond)[] =>
  KIDS.map((k) => (v.n as Record<string, unknown>)[k]).filter((x): x is E | Cond => x instanceof E || x instanceof Cond);

/** `v` with each child replaced by f(child) (v itself when none changes). */
function rebuild(v: E | Cond, f: (x: E | Cond) => E | Cond): E | Cond {
  const n = v.n as Record<string, unknown>, m: Record<string, unknown> = { ...n };
  for (const k of KIDS) if (n[k] instanceof E || n[k] instanceof Cond) m[k] = f(n[k] as E | Cond);
  if (KIDS.every((k) => m[k] === n[k])) return v;
  return v instanceof E ? new E(m as Node) : new Cond(m as CondNode);
}

/**
 * The subexpressions worth computing once (for loops that render `e` per element): those that
 * read no `varying` leaf, hoisted out of the loop, and those read by more than one operation (or twice
 * by one), computed once per element. `expr` reads them as leaves c<1000+k> (hoisted[k]) and i<1000+k> (shared[k]),
 * listed inner ones first. The operations are the same, so the values are too.
 */
export function factor(e: E, varying: (l: Leaf) => boolean): { expr: E; hoisted: E[]; shared: E[] } {
  const count = new Map<string, number>(), varies = new Map<string, boolean>();
  const scan = (v: E | Cond): boolean => { // each subexpression's operands once: a walk of the DAG, not the tree
    const seen = v instanceof E ? count.get(v.key) : undefined;
    if (seen !== undefined) return count.set(v.key, seen + 1), varies.get(v.key) as boolean;
    const vary = v.n.k === "leaf" ? varying(v.n.name) : kids(v).map(scan).some(Boolean);
    if (v instanceof E) count.set(v.key, 1), varies.set(v.key, vary);
    return vary;
  };
  scan(e);
  const hoisted: E[] = [], shared: E[] = [], named = new Map<string, E>();
  const build = (v: E | Cond): E | Cond => {
    if (!(v instanceof E)) return rebuild(v, build);
    if (v.n.k === "leaf" || v.n.k === "lit") return v;
    const known = named.get(v.key), r = known ?? (rebuild(v, build) as E), hoist = !varies.get(v.key);
    if (known || (!hoist && (count.get(v.key) ?? 0) < 2)) return r;
    const list = hoist ? hoisted : shared, name = leaf(`${hoist ? "c" : "i"}${1000 + list.push(r) - 1}`);
    named.set(v.key, name);
    return name;
  };
  return { expr: build(e) as E, hoisted, shared };
}

/** The subexpressions `pick` selects, by key, and the keys of those within another selected one's operands. */
export function nested(e: E, pick: (v: E) => boolean): { picked: Map<string, E>; inner: Set<string> } {
  const picked = new Map<string, E>(), inner = new Set<string>(), memo = new Map<string, Set<string>>(); // the selected keys of each subexpression
  const walk = (v: E | Cond): Set<string> => {
    let s = v instanceof E ? memo.get(v.key) : undefined;
    if (s) return s;
    s = new Set(kids(v).flatMap((c) => [...walk(c)]));
    if (v instanceof E && pick(v)) s.forEach((k) => inner.add(k)), s.add(v.key), picked.set(v.key, v);
    if (v instanceof E) memo.set(v.key, s);
    return s;
  };
  return walk(e), { picked, inner };
}

/** `e` with each subexpression `cut` picks replaced by leaf i<1000000+k> (each once by key, inner ones first), parts[k]
 * its expression over the earlier ones' leaves: a CPU kernel's stages, a loop each (ops/wasm.ts). */
export function split(e: E, cut: (v: E) => boolean): { expr: E; parts: E[] } {
  const parts: E[] = [], named = new Map<string, E>();
  const walk = (v: E | Cond): E | Cond => {
    if (!(v instanceof E)) return rebuild(v, walk);
    if (v.n.k === "leaf" || v.n.k === "lit") return v;
    let r = named.get(v.key);
    if (!r) named.set(v.key, (r = ((w) => (cut(v) ? leaf(`i${1e6 + parts.push(w) - 1}`) : w))(rebuild(v, walk) as E)));
    return r;
  };
  return { expr: walk(e) as E, parts };
}

/** `e` with leaves[k] bound to vals[k] where that is a number (as float32, as a kernel's constant), and each
 * select whose condition reads only those (and float32 literals) decided: the branch not taken is dropped
 * (pows' exponent cases, clamp's flag). The kernel computes the same values, by fewer operations; the
 * number stays a uniform of the kernel, whose key names the branch taken. */
export function decide(e: E, leaves: readonly Leaf[], vals: readonly unknown[]): E {
  let known: Map<Leaf, number> | undefined;
  if ((e._chooses ??= /(^|[(,])(sel|num)\(/.test(e.key))) // whether it has a select or num
    leaves.forEach((l, k) => typeof vals[k] === "number" && (known ??= new Map()).set(l, Math.fround(vals[k] as number)));
  return known ? decided(e, known) : e;
}
function decided(e: E, known: ReadonlyMap<Leaf, number>): E {
  const memo = new Map<E, E>();
  const val = (v: E): number | undefined =>
    v.n.k === "lit" ? (Math.fround(v.n.v) === v.n.v ? v.n.v : undefined) : v.n.k === "leaf" ? known.get(v.n.name) : undefined;
  const truth = (c: Cond): boolean | undefined => { // three-valued: undefined where a leaf is not known
    const n = c.n;
    if (n.k === "not") { const a = truth(n.a); return a === undefined ? a : !a; }
    if (n.k === "isnan") { const a = val(n.a); return a === undefined ? a : Number.isNaN(a); }
    if (n.k === "cmp") {
      const a = val(n.a), b = val(n.b);
      if (a === undefined || b === undefined) return undefined;
      return n.op === "lt" ? a < b : n.op === "le" ? a <= b : n.op === "gt" ? a > b : n.op === "ge" ? a >= b : n.op === "eq" ? a === b : a !== b;
    }
    const a = truth(n.a), b = truth(n.b), stop = n.k === "or"; // or: a true side decides; and: a false one
    return a === stop || b === stop ? stop : a === undefined || b === undefined ? undefined : !stop;
  };
  const walk = (v: E): E => {
    let r = memo.get(v);
    if (r) return r;
    const n = v.n;
    if (n.k === "sel" || n.k === "num") {
      const t = truth(n.c);
      r = t === undefined ? (rebuild(v, (u) => (u instanceof E ? walk(u) : u)) as E) : n.k === "num" ? lift(t ? 1 : 0) : walk(t ? n.t : n.f);
    } else r = n.k === "un" ? un(n.op, walk(n.a)) : n.k === "bin" ? bin(n.op, walk(n.a), walk(n.b)) : v;
    memo.set(v, r);
    return r;
  };
  return walk(e);
}
