// Bit-exact port of PyTorch 1.13's CPU generator (mt19937 + ATen uniform/normal kernels): after
// manualSeed(s), randData / randnData equal torch.rand / torch.randn. randn(n >= 16) follows x86-64
// AVX2/AVX512 builds; torch without AVX2 (ARM, ATEN_CPU_CAPABILITY=default) uses libm there.

import { errors } from "./errors.js";

const N = 624;
const M = 397;
const U64 = 1n << 64n;
/**
 * c10's default_rng_seed_val, the seed of a fresh torch.Generator(). PyTorch seeds its global CPU
 * generator from /dev/urandom at startup; here the stream starts from this fixed seed instead, so
 * results are reproducible even without manualSeed.
 */
const DEFAULT_SEED = 67280421310721n;

const state = new Uint32Array(N);
let index = N;
let seed = 0n;
/** Second Box-Muller value kept by the scalar normal path (next_double_normal_sample). */
let cachedNormal: number | null = null;

function seedEngine(s: bigint): void {
  seed = s;
  cachedNormal = null; // set_current_seed drops the cached normal as well
  // The engine only ever sees the low 32 bits; initialSeed() still reports all 64.
  state[0] = Number(s & 0xffffffffn);
  for (let j = 1; j < N; j++) {
    const prev = state[j - 1] ?? 0;
    state[j] = Math.imul(1812433253, prev ^ (prev >>> 30)) + j;
  }
  index = N;
}

function twist(): void {
  for (let k = 0; k < N; k++) {
    const k1 = k + 1 < N ? k + 1 : 0;
    const km = k + M < N ? k + M : k + M - N;
    const y = ((state[k] ?? 0) & 0x80000000) | ((state[k1] ?? 0) & 0x7fffffff);
    state[k] = (state[km] ?? 0) ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
  }
  index = 0;
}

function nextU32(): number {
  if (index >= N) twist();
  let y = state[index++] ?? 0;
  y ^= y >>> 11;
  y ^= (y << 7) & 0x9d2c5680;
  y ^= (y << 15) & 0xefc60000;
  y ^= y >>> 18;
  return y >>> 0;
}

/** uniform_real_distribution<float>(0,1): 24 low bits of one 32-bit draw. */
function nextFloat(): number {
  return (nextU32() & 0xffffff) * 5.960464477539063e-8; // 2^-24, exact
}

/** uniform_real_distribution<double>(0,1): random64() = (first draw << 32) | second, 53 bits. */
function nextDouble(): number {
  const hi = nextU32() & 0x1fffff;
  const lo = nextU32();
  return (hi * 4294967296 + lo) * 1.1102230246251565e-16; // 2^-53, exact
}

/**
 * torch.manual_seed: any integer in [-2^63, 2^64); negative seeds wrap to their uint64 bit pattern.
 * Also drops the cached second normal of the scalar randn path.
 */
export function manualSeed(s: number | bigint, ...x: never[]): void {
  errors.checkArity("manualSeed", 1, x);
  if (typeof s !== "number" && typeof s !== "bigint") throw new TypeError(`manualSeed(): argument 'seed' must be an integer, not ${typeof s}`);
  if (typeof s === "number" && !Number.isInteger(s)) {
    throw new RangeError(`manualSeed: seed must be an integer, got ${s}`);
  }
  let v = BigInt(s);
  if (v < -(1n << 63n) || v >= U64) throw new RangeError("Overflow when unpacking long");
  if (v < 0n) v += U64; // PyTorch reinterprets a negative int64 seed as its uint64 bit pattern
  seedEngine(v);
}

/** torch.initial_seed: the last seed set (as uint64), or DEFAULT_SEED. */
export const initialSeed = (): bigint => seed;

/** torch.rand(n): uniform on [0, 1), each value 24 random bits. */
export function randData(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = nextFloat();
  return out;
}

/** torch.randn(n): standard normal; any shape is this stream over its numel. */
export const randnData = (n: number): Float32Array => normalData(n, 0, 1);

/** torch.normal(mean, std, size) / Tensor.normal_ on a contiguous float32 tensor of n elements. */
export function normalData(n: number, mean: number, std: number): Float32Array {
  if (!(std >= 0)) throw new RangeError(`normal expects std >= 0.0, but found std ${std}`);
  const out = new Float32Array(n);
  if (n >= 16) {
    // Vectorised kernel: draw n uniforms, transform 16 at a time; a ragged tail redraws 16 fresh
    // uniforms over the last 16 slots and transforms those (overwriting some finished values).
    const m = Math.fround(mean);
    const sd = Math.fround(std);
    for (let i = 0; i < n; i++) out[i] = nextFloat();
    const exact = m === 0 && sd === 1;
    for (let i = 0; i + 16 <= n; i += 16) fill16(out, i, m, sd, exact);
    if (n % 16 !== 0) {
      for (let i = n - 16; i < n; i++) out[i] = nextFloat();
      fill16(out, n - 16, m, sd, exact);
    }
    return out;
  }
  // Scalar kernel: normal_distribution<double>, two doubles per pair, caching r*sin(theta). JS and
  // glibc double log/sin/cos may differ by an ulp, which survives the cast to float only ~2^-29.
  for (let i = 0; i < n; i++) {
    let z: number;
    if (cachedNormal !== null) {
      z = cachedNormal;
      cachedNormal = null;
    } else {
      const u1 = nextDouble();
      const u2 = nextDouble();
      const r = Math.sqrt(-2 * Math.log(1 - u2));
      const theta = 2 * Math.PI * u1;
      cachedNormal = r * Math.sin(theta);
      z = r * Math.cos(theta);
    }
    out[i] = z * std + mean;
  }
  return out;
}

// ---- float32 emulation of the AVX2 kernel (normal_fill_16_AVX2 with avx_mathfun.h) ----
// GCC contracted many mul/add pairs of log256_ps / sincos256_ps into FMAs; which steps are fused
// was read from the disassembly of Debian's libtorch_cpu.so 1.13 and matters for bit-exactness.
// Constants are given as the bit patterns stored in that binary.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function fromBits(b: number): number {
  u32[0] = b;
  return f32[0] ?? 0;
}

const fr = Math.fround;

/**
 * Fused a*b+c for the kernel's own steps. a*b is exact in a double, so the only error is double
 * rounding (to double, then float) when the double sum lands exactly on a float midpoint. Running
 * logf and the sincos steps over all 2^24 possible inputs each (with fmaf below as reference)
 * found no such case, so this cheap form is exact wherever it is used.
 */
const fused = (a: number, b: number, c: number): number => fr(a * b + c);

/** Correctly rounded float32 fma for arbitrary float32 inputs (the mean/std step). */
function fmaf(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = fr(s);
  // If s is a float midpoint, `other` (its mirror image about s) is the neighbouring float, and
  // the twoSum error of p + c says on which side of the midpoint the exact sum really lies.
  const other = r + 2 * (s - r);
  if (r === s || fr(other) !== other) return r;
  const t = s - p;
  const err = p - (s - t) + (c - t);
  if (err === 0) return r;
  return err > 0 === other > r ? other : r;
}

const SQRTHF = fromBits(0x3f3504f3);
const LOG_P0 = fromBits(0x3d9021bb);
const LOG_P1 = fromBits(0xbdebd1b8);
const LOG_P2 = fromBits(0x3def251a);
const LOG_P3 = fromBits(0xbdfe5d4f);
const LOG_P4 = fromBits(0x3e11e9bf);
const LOG_P5 = fromBits(0xbe2aae50);
const LOG_P6 = fromBits(0x3e4cceac);
const LOG_P7 = fromBits(0xbe7ffffc);
const LOG_P8 = fromBits(0x3eaaaaaa);
const LOG_Q1 = fromBits(0xb95e8083);
const LOG_Q2 = fromBits(0x3f318000);
const TWO_PI = fromBits(0x40c90fdb);
const FOPI = fromBits(0x3fa2f983);
const DP1 = fromBits(0xbf490000);
const DP2 = fromBits(0xb97da000);
const DP3 = fromBits(0xb3222169);
const COS_P0 = fromBits(0x37ccf5ce);
const COS_P1 = fromBits(0xbab6061a);
const COS_P2 = fromBits(0x3d2aaaa5);
const SIN_P0 = fromBits(0xb94ca1f9);
const SIN_P1 = fromBits(0x3c08839e);
const SIN_P2 = fromBits(0xbe2aaaa3);

/** 2^-k for k in 0..25, to scale an integer mantissa into [0.5, 1) exactly. */
const INV_POW2 = Array.from({ length: 26 }, (_, k) => 2 ** -k);

/**
 * log256_ps for one lane, applied to u1 = 1 - u = m * 2^-24 with integer m in [1, 2^24]. Splitting
 * u1 into exponent and mantissa from m (instead of the float's bits) gives the same numbers faster.
 */
function logf(m: number): number {
  const hi = 32 - Math.clz32(m); // m / 2^hi lies in [0.5, 1)
  let e = hi - 24;
  let x = m * (INV_POW2[hi] ?? 0);
  if (x < SQRTHF) {
    e -= 1;
    x = x - 1 + x; // exact
  } else {
    x = x - 1;
  }
  let y = fused(x, LOG_P0, LOG_P1);
  y = fused(x, y, LOG_P2);
  y = fused(x, y, LOG_P3);
  y = fused(x, y, LOG_P4);
  y = fused(x, y, LOG_P5);
  y = fused(x, y, LOG_P6);
  y = fused(x, y, LOG_P7);
  y = fused(x, y, LOG_P8);
  const z = fr(x * x);
  y = fr(x * y);
  y = fused(y, z, fr(e * LOG_Q1));
  y = fr(y - z * 0.5);
  return fused(e, LOG_Q2, fr(x + y));
}

/**
 * normal_fill_16_AVX2: lanes k and k+8 form one Box-Muller pair (cos -> k, sin -> k+8), with
 * sincos256_ps inlined. `exact` says n * std + mean needs no rounding (std 1, mean 0).
 */
function fill16(d: Float32Array, off: number, mean: number, std: number, exact: boolean): void {
  for (let k = 0; k < 8; k++) {
    const m = 16777216 - (d[off + k] ?? 0) * 16777216; // (1 - u) * 2^24, an exact integer
    const radius = fr(Math.sqrt(-2 * logf(m)));
    const theta = fr(TWO_PI * (d[off + k + 8] ?? 0)); // >= 0, so no sign handling is needed

    const j = (Math.trunc(fr(theta * FOPI)) + 1) & ~1; // octant, 0..8
    let x = fused(j, DP1, theta); // Cody-Waite reduction by pi/4 in three parts
    x = fused(j, DP2, x);
    x = fused(j, DP3, x);
    const z = fr(x * x);
    let yc = fused(z, COS_P0, COS_P1);
    yc = fused(z, yc, COS_P2);
    yc = fr(fused(fr(z * yc), z, -(z * 0.5)) + 1);
    let ys = fused(z, SIN_P0, SIN_P1);
    ys = fused(z, ys, SIN_P2);
    ys = fused(fr(z * ys), x, x);
    // j & 2 picks which polynomial is the sine; the sign flips come from bit 2 of j and j - 2.
    const swap = (j & 2) !== 0;
    let sin = swap ? yc : ys;
    let cos = swap ? ys : yc;
    if ((j & 4) !== 0) sin = -sin;
    if (((j - 2) & 4) === 0) cos = -cos;

    const n1 = fr(radius * cos);
    const n2 = fr(radius * sin);
    d[off + k] = exact ? n1 + 0 : fmaf(n1, std, mean); // + 0 turns -0 into 0 like the fma
    d[off + k + 8] = exact ? n2 + 0 : fmaf(n2, std, mean);
  }
}

seedEngine(DEFAULT_SEED);
