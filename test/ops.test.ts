// Every fixture case (test/fixtures/ops.json, from PyTorch) on every device, webgpu also with
// { thread: "main" }: forward values, each input's gradient after backward(v), the grad_fn name.
import { beforeAll, describe, expect, test } from "vitest";
import { type Device, type Tensor, pow, tensor, where } from "../src/index.js";
import { type Fx, type Tol, availableDevices, decode, flushesSubnormals, loadFixture, mainThreadDevice, subnormal } from "./setup.js";

interface Case {
  name: string;
  op: string;
  kw: { dim?: number | number[]; keepdim?: boolean; min?: number | null; max?: number | null; shape?: number[] };
  args: (Fx | { number: number | string })[];
  out: Fx;
  gradFn: string | null;
  seed?: Fx;
  grads?: (Fx | null)[];
}

const cases = loadFixture<Case[]>("ops.json");
type Arg = Tensor | number;

function run(c: Case, a: Arg[]): Tensor {
  const [x, y, z] = a as [Tensor, Arg, Arg];
  const k = c.kw;
  switch (c.op) {
    case "clamp": return x.clamp(k.min, k.max);
    case "where": return where(x.gt(0), y, z);
    case "sum": case "mean": return k.dim === undefined ? x[c.op]() : x[c.op](k.dim, k.keepdim);
    case "max": case "min": {
      const src = c.name.includes("ties") ? x.mul(0).add(1) : x;
      return k.dim === undefined ? src[c.op]() : src[c.op](k.dim as number, k.keepdim)[0];
    }
    case "reshape": case "view": case "expand": return x[c.op](k.shape as number[]);
    case "squeeze": return x.squeeze(k.dim as number | undefined);
    case "unsqueeze": return x.unsqueeze(k.dim as number);
    case "pow": return typeof a[0] === "number" ? pow(a[0], y) : x.pow(y);
    default: {
      const m = (x as unknown as Record<string, (o?: Arg) => Tensor>)[c.op];
      if (!m) throw new Error(`no method ${c.op}`);
      return a.length === 1 ? m.call(x) : m.call(x, y);
    }
  }
}

/** The value to compare: the tensor, or (on a device that reads only async) a CPU copy of it. */
type Read = (t: Tensor | null | undefined) => Promise<Tensor | null | undefined>;
const asIs: Read = (t) => Promise.resolve(t);
const viaData: Read = async (t) => t && tensor(await t.data()).reshape(t.shape);

/** On a device that flushes subnormals: the indices where an input or an expected value is one. */
function flushed(c: Case, want: Fx[]): Set<number> {
  const at = new Set<number>();
  for (const f of [...c.args.filter((a): a is Fx => "data" in a), ...want])
    f.data.forEach((v, i) => subnormal(decode(v)) && at.add(i));
  return at;
}

async function check(c: Case, device: Device, read: Read): Promise<void> {
  const flush = await flushesSubnormals(device);
  const args: Arg[] = c.args.map((a) => {
    if ("number" in a) return decode(a.number);
    const t = tensor(a.data.map(decode), { device }).reshape(a.shape).detach();
    return c.seed ? t.requiresGrad_(c.op !== "where" || a !== c.args[0]) : t;
  });
  const out = run(c, args);
  expect(out.gradFn?.name ?? null).toBe(c.gradFn);
  // Subnormals to within one step of the smallest (2^-149), signed zeros exactly; "exact" cases to the bit.
  const tol: Tol = /^(tiny|zeros)/.test(c.name) ? { rtol: 1e-3, atol: 1.5e-45, signedZero: true }
    : /exact|rounding/.test(c.name) ? { rtol: 0, atol: 0 } : {};
  if (flush) tol.skip = flushed(c, [c.out, ...(c.grads ?? []).filter((g): g is Fx => g !== null)]);
  expect(await read(out)).toBeAllClose(c.out, tol);
  if (!c.seed || !c.grads) return;
  out.backward(tensor(c.seed.data.map(decode), { device }).reshape(c.seed.shape).detach());
  for (const [i, g] of c.grads.entries()) {
    const a = args[i];
    if (g === null || typeof a === "number") continue;
    expect(await read(a?.grad), `grad of input ${i}`).toBeAllClose(g, tol.rtol === 0 ? { skip: tol.skip } : tol); // pow's x ** (y-1) is not exact
  }
}

const named = cases.map((c) => [c.name, c] as [string, Case]);
const devices = await availableDevices();
describe.each(devices.map((d) => [d.type, d] as [string, Device]))("%s", (_, device) => {
  test.each(named)("%s matches PyTorch", (_n, c) => check(c, device, asIs));

  // PyTorch's CPU exp is correctly rounded but for an ulp; WebGPU's builtin exp lost up to 62 ulp near
  // |x| = 85 (exp2(x log2 e) rounds the product) before gw_exp reduced its argument.
  // On a device that flushes subnormals (NVIDIA's), inputs and results below 2^-126 are left out.
  let flush = false;
  const ulps = (xs: Float32Array, got: Float32Array, f: (x: number) => number): number => {
    const w = Float32Array.from(xs, f), bits = new Int32Array(got.buffer), want = new Int32Array(w.buffer);
    const off = (i: number) => (flush && (subnormal(xs[i] as number) || subnormal(w[i] as number)) ? 0 : Math.abs((bits[i] as number) - (want[i] as number)));
    return Math.max(...Array.from(bits, (_, i) => off(i)));
  };
  beforeAll(async () => void (flush = await flushesSubnormals(device)));
  test("exp and expm1 stay within 4 ulp of the correctly rounded value over their float32 range", () => {
    const xs = Float32Array.from({ length: 6001 }, (_, i) => (i < 2001 ? -104 + (193 * i) / 2000 : -2 + (i - 2001) / 1000)); // and -2..2 by 0.001
    expect(ulps(xs, tensor(Array.from(xs), { device }).exp().dataSync(), Math.exp)).toBeLessThanOrEqual(4);
    expect(ulps(xs, tensor(Array.from(xs), { device }).expm1().dataSync(), Math.expm1)).toBeLessThanOrEqual(4);
  });

  // PyTorch divides with one rounding; NVIDIA's WGSL a / b was 1 ulp off for 5 in 400 (gw_quot corrects).
  test("divides 2^18 random float32 pairs with one rounding", () => {
    const n = 2 ** 18, bits = new Uint32Array(2 * n);
    for (let i = 0, s = 7; i < 2 * n; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      // half of the pairs anywhere, half with exponents within 2^-27..2^32 of each other
      bits[i] = i < n ? s : (s & 0x807fffff) | ((100 + (s % 60)) << 23);
    }
    const f = new Float32Array(bits.buffer), a = f.subarray(0, n), b = f.subarray(n);
    const got = tensor(a, { device }).div(tensor(b, { device })).dataSync();
    const bad = Array.from(got).filter((g, i) => {
      const w = Math.fround((a[i] as number) / (b[i] as number));
      if (flush && [w, a[i] as number, b[i] as number].some(subnormal)) return false;
      return !Object.is(g, w) && !(Number.isNaN(g) && Number.isNaN(w));
    });
    expect(bad.length).toBe(0);
  });

  // WebGPU's builtin log has an absolute error near 1: 2e6 ulp at 0.9999996 (and pow through log2 with
  // it) on lavapipe, before gw_ln took log(1 + f) from the mantissa.
  test("log, log1p and pow stay within a few ulp of the correctly rounded value, near 1 too", () => {
    const near = Float32Array.from({ length: 4001 }, (_, i) => 0.999 + i / 2e6); // 0.999..1.001
    const wide = Float32Array.from({ length: 4001 }, (_, i) => 2 ** (-149 + (277 * i) / 4000)); // 2^-149..2^128
    const onDev = (xs: Float32Array) => tensor(Array.from(xs), { device });
    expect(ulps(near, onDev(near).log().dataSync(), Math.log)).toBeLessThanOrEqual(2);
    expect(ulps(wide, onDev(wide).log().dataSync(), Math.log)).toBeLessThanOrEqual(2);
    const m = Float32Array.from(near, (x) => x - 1);
    expect(ulps(m, onDev(m).log1p().dataSync(), Math.log1p)).toBeLessThanOrEqual(3);
    const w = Float32Array.from({ length: 4001 }, (_, i) => -0.99 + (i * 3) / 4000); // -0.99..2.01
    expect(ulps(w, onDev(w).log1p().dataSync(), Math.log1p)).toBeLessThanOrEqual(3);
    expect(ulps(near, onDev(near).pow(1000.5).dataSync(), (x) => x ** 1000.5)).toBeLessThanOrEqual(8);
    // Away from 1, log2 stays the builtin, which rounds once (through gw_ln, x^4 reached 22 ulp).
    const mid = Float32Array.from({ length: 6001 }, (_, i) => 0.1 + (i * 19.9) / 6000);
    expect(ulps(mid, onDev(mid).pow(4).dataSync(), (x) => x ** 4)).toBeLessThanOrEqual(16);
  });
});

// The same cases on a webgpu device whose Dawn runs on the test's own thread, read with data().
const inThread = await mainThreadDevice();
describe.runIf(inThread)("webgpu, thread main", () => {
  test.each(named)("%s matches PyTorch", (_n, c) => check(c, inThread as Device, viaData));
});
