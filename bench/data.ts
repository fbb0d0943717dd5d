// Deterministic inputs shared by every system (torch_ref.py computes the same numbers), so that
// each cell's `check` can be compared across systems. Values are a multiplicative hash of the index.
import type { Output } from "./types.js";

const GOLDEN = 0x9e3779b1;

/** u(i) in [-1, 1): the same float32 values as torch_ref.py's `uniform(n, seed)`. */
export function uniform(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  const s = Math.imul(seed, 0x6b43a9b5) >>> 0;
  for (let i = 0; i < n; i++) out[i] = ((Math.imul((i + s) >>> 0, GOLDEN) >>> 0) / 4294967296) * 2 - 1;
  return out;
}

export const w1Input = (n: number): Float32Array => uniform(n, 1);
export const w2Inputs = (n: number): [Float32Array, Float32Array] => [uniform(n, 2), uniform(n, 3)];

/** W3: x in [-1, 1), y = 3x + 1 + 0.1 u. */
export function w3Inputs(n: number): [Float32Array, Float32Array] {
  const x = uniform(n, 4);
  const e = uniform(n, 5);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = 3 * (x[i] as number) + 1 + 0.1 * (e[i] as number);
  return [x, y];
}

/** W4: x in [0.5, 1), so the chain below stays bounded. */
export function w4Input(n: number): Float32Array {
  const u = uniform(n, 6);
  for (let i = 0; i < n; i++) u[i] = 0.75 + 0.25 * (u[i] as number);
  return u;
}

/**
 * The W4 chain, op k of 100: k % 4 = 0: t + x, 1: t * 0.5, 2: t - 0.1, 3: t * x; then sum and
 * backward to x. Two of the four ops take the leaf x, so x collects 50 gradient contributions.
 */
export type ChainOp = "addX" | "mulHalf" | "subTenth" | "mulX";
export const CHAIN: readonly ChainOp[] = ["addX", "mulHalf", "subTenth", "mulX"];
export const chainOp = (k: number): ChainOp => CHAIN[k % 4] as ChainOp;

/** The number every system reports for a result: the float64 sum, or the value itself. */
export function checkOf(o: Output): number {
  if (typeof o === "number") return o;
  let s = 0;
  for (let i = 0; i < o.length; i++) s += o[i] as number;
  return s;
}
