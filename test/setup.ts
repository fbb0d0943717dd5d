// Test helpers: fixture decoding, the toBeAllClose matcher (NaN and ±Inf positions must agree),
// and device discovery (webgpu suites skip with one line when no adapter, fail if it is required).
import { expect } from "vitest";
import { readFileSync } from "node:fs";
import { type Device, Tensor, requestDevice, tensor } from "../src/index.js";

export interface Fx {
  shape: number[];
  data: (number | "nan" | "inf" | "-inf")[];
}

export const decode = (v: number | string): number =>
  v === "nan" ? NaN : v === "inf" ? Infinity : v === "-inf" ? -Infinity : (v as number);

export function loadFixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8")) as T;
}

function close(a: number, b: number, rtol: number, atol: number, signedZero: boolean): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (signedZero && b === 0) return Object.is(a, b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= atol + rtol * Math.abs(b);
}

/** Tolerances of toBeAllClose; `signedZero`: an expected 0 must match in sign too; `skip`: indices
 * not compared (a subnormal input or result on a device that flushes them). */
export interface Tol { rtol?: number; atol?: number; signedZero?: boolean; skip?: ReadonlySet<number> }

expect.extend({
  toBeAllClose(received: unknown, want: Fx, tol: Tol = {}) {
    const { rtol = 1e-4, atol = 1e-5, signedZero = false } = tol;
    if (!(received instanceof Tensor)) return { pass: false, message: () => `expected a Tensor, got ${String(received)}` };
    const shapeOk = received.shape.join() === want.shape.join();
    const got = Array.from(received.dataSync());
    const exp = want.data.map(decode);
    const bad = exp.findIndex((e, i) => !tol.skip?.has(i) && !close(got[i] as number, e, rtol, atol, signedZero));
    const pass = shapeOk && got.length === exp.length && bad < 0;
    return {
      pass,
      message: () =>
        !shapeOk
          ? `shape [${received.shape}] != expected [${want.shape}]`
          : `at index ${bad}: got ${got[bad]}, expected ${exp[bad]}\n got: ${got.slice(0, 24)}\nwant: ${exp.slice(0, 24)}`,
    };
  },
});

declare module "vitest" {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- must match vitest's declaration
  interface Matchers<T = any> {
    toBeAllClose(want: Fx, tol?: Tol): T;
  }
}

let found: Promise<Device[]> | null = null;
/** ["cpu", and "webgpu" when an adapter exists]. With GRADWISE_REQUIRE_WEBGPU=1 a missing adapter fails. */
export function availableDevices(): Promise<Device[]> {
  found ??= (async () => {
    const cpu = await requestDevice("cpu");
    try {
      const gpu = await requestDevice("webgpu");
      console.log(`webgpu tests run on: ${(gpu.backend as { adapterName?: string }).adapterName}`);
      return [cpu, gpu];
    } catch (e) {
      if (process.env.GRADWISE_REQUIRE_WEBGPU === "1") throw e;
      console.log(`webgpu tests skipped: ${(e as Error).message.split("\n")[0]}`);
      return [cpu];
    }
  })();
  return found;
}

let inThread: Promise<Device | null> | null = null;
/** A second webgpu device, its Dawn on this thread ({ thread: "main" }: async reads only), when there is an adapter. */
export function mainThreadDevice(): Promise<Device | null> {
  inThread ??= (async () => {
    if ((await availableDevices()).length < 2) return null;
    const { createWebGpuBackend } = await import("../src/backend/webgpu.js");
    const device: Device = { type: "webgpu", backend: await createWebGpuBackend({}, {}, "main") };
    return device;
  })();
  return inThread;
}

export const deviceName = (d: Device): string => d.type;

/** Runs fn with the backend's `methods` watched: each call's name, arguments and result go to
 * `seen` (the methods a backend lacks are skipped); the originals are back afterwards. */
export function watchBackend(
  device: Device, methods: readonly string[], seen: (m: string, args: unknown[], result: unknown) => void, fn: () => void,
): void {
  const b = device.backend as unknown as Record<string, (...a: unknown[]) => unknown>;
  const saved = new Map<string, (...a: unknown[]) => unknown>();
  for (const m of methods) {
    const f = b[m];
    if (!f) continue;
    saved.set(m, f);
    b[m] = (...a: unknown[]) => {
      const r = f.apply(device.backend, a);
      seen(m, a, r);
      return r;
    };
  }
  try {
    fn();
  } finally {
    for (const [m, f] of saved) b[m] = f;
  }
}

/** Whether `d` flushes float32 subnormals to zero in arithmetic: NVIDIA's Vulkan driver does (WGSL
 * allows it), the CPU and lavapipe do not. Tests accept a flushed subnormal only on such a device. */
const flushing = new WeakMap<Device, Promise<boolean>>();
export function flushesSubnormals(d: Device): Promise<boolean> {
  let f = flushing.get(d);
  if (!f) {
    const t = tensor([1e-40], { device: d });
    flushing.set(d, (f = t.add(t).data().then((v) => v[0] === 0)));
  }
  return f;
}

/** Nonzero and below float32's normal range (2^-126). */
export const subnormal = (v: number): boolean => v !== 0 && Math.abs(v) < 2 ** -126;
