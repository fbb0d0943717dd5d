// IR → WebAssembly SIMD: a kernel's expression as f32x4 code, 4 elements per step, one row per
// primitive. Each f32x4 op rounds to float32 as the JS rows' Math.fround does, so both give the
// same bits (exp, expm1, tanh, log, log1p, sin, cos, pow: wasm_math.ts); a kernel with a primitive that has no
// row here (ipow) stays JS (returns null).
import type { Kernel } from "../backend/backend.js";
import { factor, leaves, nested, split, type BinaryPrim, type CmpPrim, type Cond, type E, type Leaf, type UnaryPrim } from "./expr.js";
import { ADD as F64X2_ADD, AND, BITSELECT as SELECT, bytes, F32X4_EQ, F32X4_GT, F32X4_LT, F32X4_NE, get, HIGH_HALF, leb, MATH, type MathPrim, mathRow, NOT, OR,
  powRow, PROMOTE, set, simd, splat } from "./wasm_math.js";

const vec = (xs: number[][]): number[] => [...leb(xs.length), ...xs.flat()];
const sec = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];
const str = (s: string): number[] => vec([...s].map((ch) => [ch.charCodeAt(0)]));

const UNARY: Partial<Record<UnaryPrim, number>> = { neg: 0xe1, abs: 0xe0, sqrt: 0xe3, trunc: 0x69 };
const BINARY: Partial<Record<BinaryPrim, number>> = { add: 0xe4, sub: 0xe5, mul: 0xe6, div: 0xe7 };
const CMP: Record<CmpPrim, number> = { eq: 0x41, ne: 0x42, lt: 0x43, gt: 0x44, le: 0x45, ge: 0x46 };

/** Emits one function body: v128 locals are allocated as expressions need them. */
class Body {
  code: number[] = [];
  v128s = 0;
  constructor(readonly first: number, readonly env: Map<Leaf, number[]>) {}
  local(): number { return this.first + this.v128s++; }
  /** Pushes `e` (an f32x4) onto the stack. */
  emit(e: E): void {
    const n = e.n, c = this.code;
    switch (n.k) {
      case "leaf": return void c.push(...(this.env.get(n.name) ?? unbound(n.name)));
      case "lit": return void c.push(...splat(n.v));
      case "un": {
        if (n.op === "sign") { // (a > 0 ? 1 : 0) | (a < 0 ? -1 : 0): NaN and ±0 give 0, as gw_sign
          const t = this.keep(n.a);
          return void c.push(...get(t), ...splat(0), ...F32X4_GT, ...splat(1), ...AND,
            ...get(t), ...splat(0), ...F32X4_LT, ...splat(-1), ...AND, ...OR);
        }
        this.emit(n.a);
        if (MATH.has(n.op)) return mathRow(this, n.op as MathPrim);
        return void c.push(...simd(UNARY[n.op] ?? unsupported()));
      }
      case "bin": {
        if (n.op === "maximum" || n.op === "minimum") { // a > b ? a : b, then NaN if either is NaN
          const a = this.keep(n.a), b = this.keep(n.b);
          return void c.push(...get(a), ...get(b), ...get(a), ...get(b),
            ...(n.op === "maximum" ? F32X4_GT : F32X4_LT), ...SELECT,
            ...get(a), ...get(a), ...F32X4_NE, ...OR, ...get(b), ...get(b), ...F32X4_NE, ...OR);
        }
        if (n.op === "pow") return powRow(this, this.keep(n.a), this.keep(n.b));
        this.emit(n.a), this.emit(n.b);
        return void c.push(...simd(BINARY[n.op] ?? unsupported()));
      }
      case "sel": return this.emit(n.t), this.emit(n.f), this.cond(n.c), void c.push(...SELECT);
      case "num": return this.cond(n.c), void c.push(...splat(1), ...AND);
    }
  }
  /** Pushes a condition as a lane mask. */
  cond(v: Cond): void {
    const n = v.n, c = this.code;
    switch (n.k) {
      case "cmp": return this.emit(n.a), this.emit(n.b), void c.push(...simd(CMP[n.op]));
      case "isnan": {
        const t = this.keep(n.a);
        return void c.push(...get(t), ...get(t), ...F32X4_NE);
      }
      case "not": return this.cond(n.a), void c.push(...NOT);
      default: return this.cond(n.a), this.cond(n.b), void c.push(...(n.k === "and" ? AND : OR));
    }
  }
  /** Computes `e` into a new local. */
  keep(e: E): number {
    const l = this.local();
    this.emit(e), this.code.push(...set(l));
    return l;
  }
}

class Unsupported extends Error {}
const unsupported = (): never => { throw new Unsupported(); };
const unbound = (l: Leaf): never => { throw new Error(`wasm: leaf ${l} is not bound`); };

// Control and integer opcodes (https://webassembly.github.io/spec/core/binary/instructions.html).
const [BLOCK, LOOP, IF, END, BR, BR_IF, I32_CONST, I32_ADD, I32_GE_U, F64_ADD, VOID] =
  [0x02, 0x03, 0x04, 0x0b, 0x0c, 0x0d, 0x41, 0x6a, 0x4f, 0xa0, 0x40];
const mem = (op: number, offset: number, align: number): number[] => [...simd(op), align, ...leb(offset)];
const [LOAD, LOAD32_SPLAT, STORE, I32X4_SPLAT, I32X4_LT_S, F64X2_EXTRACT] = [0x00, 0x09, 0x0b, 0x11, 0x39, 0x21];
const [END_BYTES, REM, I] = [0, 1, 2]; // locals: the two parameters, the byte offset; v128s follow

/**
 * A module importing memory m.m and exporting map(end, 0) (out = expr for the bytes [0, end) of
 * each array) and sum(end, rem): f64 (the sum over [0, end) plus `rem` more elements). Layout:
 * consts then single-element inputs as floats at 0, then each other input in its `chunk`-byte
 * region from `header`, then the output, then a region per stage; `end`: the bytes it spans.
 * A heavy call (exp, tanh, sin, ...) over the arrays that another one's operand reads is made in a loop of
 * its own, a stage, over the chunk (and one vector more: the sum's last elements): in one loop a chain of
 * calls runs at their latency, 3 tanh/sigmoid links 1.2x slower fused than unfused; the stages' iterations
 * overlap. Calls side by side stay in one loop (as stages, two exp summed: 1.15x slower), but for sin and cos,
 * whose rows branch to Math's beyond 2^20 (x.sin() * x.cos() in one loop: 1.5x slower).
 */
export function wasmKernel(k: Kernel, scalar: readonly boolean[], header: number, chunk: number): { code: Uint8Array; end: number } | null {
  const input = (l: Leaf): boolean => k.inputs.includes(l) && !scalar[k.inputs.indexOf(l)];
  const calls = nested(k.expr, (v) => v.n.k === "un" && MATH.has(v.n.op) && [...leaves(v)].some(input)); // heavy, over the arrays
  const trig = (v: E): boolean => calls.picked.size > 1 && calls.picked.has(v.key) && (v.n.k === "un" && (v.n.op === "sin" || v.n.op === "cos"));
  const { expr, parts } = split(k.expr, (v) => calls.inner.has(v.key) || trig(v)), stages = new Set(parts.map((_, j) => `i${1e6 + j}`));
  const fs = [...parts, expr].map((e) => factor(e, (l) => input(l) || stages.has(l)));
  const f = fs.pop() as ReturnType<typeof factor>;
  const env = new Map<Leaf, number[]>();
  let region = 0;
  for (const l of k.inputs) if (input(l)) env.set(l, [...get(I), ...mem(LOAD, header + region++ * chunk, 4)]);
  const out = header + region * chunk, named = [...k.consts, ...k.inputs.filter((_, j) => scalar[j])];
  const stage = (j: number): number => out + chunk + j * (chunk + 16);
  parts.forEach((_, j) => env.set(`i${1e6 + j}`, [...get(I), ...mem(LOAD, stage(j), 4)]));
  try {
    const fns = ["map", "sum"].map((kind) => {
      const b = new Body(3, env), c = b.code;
      named.forEach((l, j) => { // a float from the header, in all four lanes
        const t = b.local();
        env.set(l, get(t)), c.push(I32_CONST, 0, ...mem(LOAD32_SPLAT, 4 * j, 2), ...set(t));
      });
      const hoist = (g: typeof f): void => g.hoisted.forEach((h, j) => env.set(`c${1000 + j}`, get(b.keep(h))));
      const value = (g: typeof f): void => {
        g.shared.forEach((s, j) => env.set(`i${1000 + j}`, get(b.keep(s))));
        b.emit(g.expr);
      };
      const loop = (bound: number[], body: () => void): void => {
        c.push(I32_CONST, 0, ...set(I), BLOCK, VOID, LOOP, VOID, ...get(I), ...bound, I32_GE_U, BR_IF, 1), body();
        c.push(...get(I), I32_CONST, 16, I32_ADD, ...set(I), BR, 0, END, END);
      };
      fs.forEach((g, j) => (hoist(g), loop([...get(END_BYTES), I32_CONST, 16, I32_ADD], () => (c.push(...get(I)), value(g), c.push(...mem(STORE, stage(j), 4))))));
      hoist(f);
      const [lo, hi, v] = [b.local(), b.local(), b.local()]; // float64 sums of lanes 0-1 and 2-3
      const accumulate = (): number[] => [...set(v), ...get(lo), ...get(v), ...PROMOTE, ...F64X2_ADD, ...set(lo),
        ...get(hi), ...get(v), ...get(v), ...HIGH_HALF, ...PROMOTE, ...F64X2_ADD, ...set(hi)];
      if (kind === "map") loop(get(END_BYTES), () => (c.push(...get(I)), value(f), c.push(...mem(STORE, out, 4))));
      else loop(get(END_BYTES), () => (value(f), c.push(...accumulate())));
      if (kind === "sum") { // the last `rem` elements, the other lanes masked to +0
        c.push(...get(REM), IF, VOID), value(f);
        c.push(...simd(0x0c), ...bytes(Int32Array.of(0, 1, 2, 3)), ...get(REM), ...simd(I32X4_SPLAT), ...simd(I32X4_LT_S), ...AND);
        c.push(...accumulate(), END, ...get(lo), ...get(hi), ...F64X2_ADD, ...set(v));
        c.push(...get(v), ...simd(F64X2_EXTRACT), 0, ...get(v), ...simd(F64X2_EXTRACT), 1, F64_ADD);
      }
      return [...vec([[1, 0x7f], [...leb(b.v128s), 0x7b]]), ...c, END]; // locals: one i32, the v128s (their count in LEB128: as a byte, 128+ made the module invalid)
    });
    const types = [[0x60, 2, 0x7f, 0x7f, 0], [0x60, 2, 0x7f, 0x7f, 1, 0x7c], [0x60, 1, 0x7c, 1, 0x7c], [0x60, 2, 0x7c, 0x7c, 1, 0x7c]]; // (i32, i32) -> (), -> f64; f64 -> f64; (f64, f64) -> f64
    return { code: module(types, [["sin", 2], ["cos", 2], ["pow", 3]], [["map", 0, fns[0] as number[]], ["sum", 1, fns[1] as number[]]]), end: stage(parts.length) }; // Math's (wasm_math.ts IMPORTS)
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
}

/**
 * A module importing memory m.m and exporting sum(rows, groups, stride): for each of `rows` rows of float32 at `src`
 * (`stride` bytes apart, in order), acc[j] += row[j] for the float64 acc[j] at `acc`, j < 4 groups (lanes past a
 * row's end read on: their acc is padding). Each column in the rows' order: the JS loop's bits, NaN's sign/payload aside.
 */
export function columnsModule(acc: number, src: number): Uint8Array {
  const V = 6, I32_SHL = 0x74;
  const c = overRows(0, (J, ROW) => {
    const c = [...get(ROW), ...get(J), I32_ADD, ...mem(LOAD, src, 0), ...set(V)]; // src: an offset (i32.const is signed)
    for (const h of [0, 1]) { // acc at j * 2 (+ 16): lanes 0-1 (2-3) as float64
      const at = [...get(J), I32_CONST, 1, I32_SHL];
      c.push(...at, ...at, ...mem(LOAD, acc + 16 * h, 4), ...get(V), ...(h ? [...get(V), ...HIGH_HALF] : []), ...PROMOTE, ...F64X2_ADD, ...mem(STORE, acc + 16 * h, 4));
    }
    return c;
  });
  return module([[0x60, 3, 0x7f, 0x7f, 0x7f, 0]], [], [["sum", 0, [...vec([[3, 0x7f], [1, 0x7b]]), ...c]]]);
}

/**
 * A module importing memory m.m and exporting arg(rows, groups, stride, first): for each of `rows` rows of float32 at
 * `src` (`stride` bytes apart, in order, numbered from `first`), in each lane of `groups` f32x4 groups, where the value
 * beats the lane's best at `best` (op's strict > or <; NaN beats a number, nothing beats NaN) it becomes the best and
 * its row number the i32 at `idx`: each lane keeps its first extreme, as cpu.ts's argReduce loop.
 */
export function argModule(op: "max" | "min", best: number, idx: number, src: number): Uint8Array {
  const [FIRST, V, B, M] = [3, 7, 8, 9];
  const c = overRows(1, (J, ROW, R) => [...get(ROW), ...get(J), I32_ADD, ...mem(LOAD, src, 0), ...set(V), ...get(J), ...mem(LOAD, best, 4), ...set(B),
    ...get(V), ...get(B), ...(op === "max" ? F32X4_GT : F32X4_LT), ...get(V), ...get(V), ...F32X4_NE, ...get(B), ...get(B), ...F32X4_EQ, ...AND, ...OR, ...set(M),
    ...get(J), ...get(V), ...get(B), ...get(M), ...SELECT, ...mem(STORE, best, 4),
    ...get(J), ...get(FIRST), ...get(R), I32_ADD, ...simd(I32X4_SPLAT), ...get(J), ...mem(LOAD, idx, 4), ...get(M), ...SELECT, ...mem(STORE, idx, 4)]);
  return module([[0x60, 4, 0x7f, 0x7f, 0x7f, 0x7f, 0]], [], [["arg", 0, [...vec([[3, 0x7f], [3, 0x7b]]), ...c]]]);
}

/** A function's code running `body` for each f32x4 group (local J: its byte offset) of each of `rows` rows (local ROW: the
 * row's byte offset, `stride` apart; R: its number): params rows, groups, stride, then `extra` more; R, J, ROW after them. */
function overRows(extra: number, body: (J: number, ROW: number, R: number) => number[]): number[] {
  const [ROWS, GROUPS, STRIDE, R, J, ROW, I32_SHL] = [0, 1, 2, 3 + extra, 4 + extra, 5 + extra, 0x74];
  return [I32_CONST, 0, ...set(ROW), BLOCK, VOID, LOOP, VOID, ...get(R), ...get(ROWS), I32_GE_U, BR_IF, 1,
    I32_CONST, 0, ...set(J), BLOCK, VOID, LOOP, VOID, ...get(J), ...get(GROUPS), I32_CONST, 4, I32_SHL, I32_GE_U, BR_IF, 1, ...body(J, ROW, R),
    ...get(J), I32_CONST, 16, I32_ADD, ...set(J), BR, 0, END, END,
    ...get(ROW), ...get(STRIDE), I32_ADD, ...set(ROW), ...get(R), I32_CONST, 1, I32_ADD, ...set(R), BR, 0, END, END, END];
}

/** A module of function `types` importing memory m.m (a page at least) and functions m.<name> (`imports`: name, type), exporting `fns` (name, type, body). */
function module(types: number[][], imports: [string, number][], fns: [string, number, number[]][]): Uint8Array {
  return Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...sec(1, vec(types)),
    ...sec(2, vec([[...str("m"), ...str("m"), 0x02, 0, 1], ...imports.map(([f, t]) => [...str("m"), ...str(f), 0, t])])),
    ...sec(3, vec(fns.map(([, t]) => [t]))), ...sec(7, vec(fns.map(([f], j) => [...str(f), 0, imports.length + j]))),
    ...sec(10, vec(fns.map(([, , body]) => [...leb(body.length), ...body])))]);
}
