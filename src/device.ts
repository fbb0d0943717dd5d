// Devices: the CPU is always there; WebGPU is opened on request (Dawn is loaded only then).
// Holds the default device that creation functions use when no device is given.
import { totalmem } from "node:os";
import type { Backend } from "./backend/backend.js";
import { CpuBackend } from "./backend/cpu.js";
import { errors } from "./errors.js";
import { sizeOverflows } from "./shape.js";

export type DeviceType = "cpu" | "webgpu";

export interface Device {
  readonly type: DeviceType;
  /** @internal */ readonly backend: Backend;
}

export type DeviceLike = Device | DeviceType;

/** A device prints as PyTorch's does (`device(type='cpu')`), not as its backend's internals. */
function device(type: DeviceType, backend: Backend): Device {
  const hidden = (v: string) => ({ enumerable: false, value: (): string => v }); // str() and repr() as PyTorch's
  return Object.defineProperties({ type, backend }, { toString: hidden(type), [Symbol.for("nodejs.util.inspect.custom")]: hidden(`device(type='${type}')`) });
}

export const cpu: Device = device("cpu", new CpuBackend());
let webgpu: Device | null = null;
let current: Device = cpu;

export interface DeviceOptions {
  /**
   * Where WebGPU's Dawn runs. "worker" (the default): a worker thread, so that dataSync(), item(),
   * tolist() and printing can block on it. "main": this thread, a thread hop less per read (a small
   * read's fixed cost fell by a quarter to a half on lavapipe: bench/results, thread-main and
   * batches), but only `await t.data()` reads.
   */
  thread?: "worker" | "main";
}

/**
 * Opens a device; a WebGPU device that was lost (or whose worker died) is replaced by a new one
 * (on the same thread unless `opts.thread` says), also as the default device.
 * @example const gpu = await requestDevice("webgpu");
 */
export async function requestDevice(type: DeviceType = "webgpu", opts: DeviceOptions = {}): Promise<Device> {
  if (typeof opts !== "object" || opts === null) throw errors.badArg("requestDevice", "opts", "an object", opts);
  for (const k of Object.keys(opts)) if (k !== "thread") throw errors.badOption("requestDevice", k);
  if (opts.thread !== undefined && opts.thread !== "worker" && opts.thread !== "main") {
    throw errors.badArg("requestDevice", "opts.thread", "'worker' or 'main'", opts.thread);
  }
  if (type === "cpu") return cpu;
  if (type !== "webgpu") throw errors.badArg("requestDevice", "type", "'cpu' or 'webgpu'", type);
  // One request at a time: two in flight would both find no device and open two.
  const run = opening.then(() => openWebgpu(opts.thread));
  opening = run.catch(() => undefined);
  return run;
}
let opening: Promise<unknown> = Promise.resolve(), shut = false; // shut: shutdown() closed the last one

async function openWebgpu(want: "worker" | "main" | undefined): Promise<Device> {
  const open = (webgpu?.backend as { thread?: "worker" | "main" } | undefined)?.thread;
  const thread = want ?? open ?? "worker";
  if (webgpu && !isDead(webgpu)) {
    if (open === thread) return webgpu;
    throw new Error(
      `requestDevice(): the webgpu device is open with { thread: "${open}" }; ` +
        `call 'await shutdown()' before opening it with { thread: "${thread}" }`,
    );
  }
  const old = webgpu;
  const { createWebGpuBackend } = await import("./backend/webgpu.js");
  (webgpu = device("webgpu", await createWebGpuBackend({}, {}, thread))), (shut = false);
  if (old && current === old) current = webgpu;
  void close(old);
  return webgpu;
}

const isDead = (d: Device): boolean => (d.backend as { dead?: boolean }).dead === true;
const close = (d: Device | null): Promise<void> | void =>
  (d?.backend as { shutdown?: () => Promise<void> | void } | undefined)?.shutdown?.();

/** Sets the device used when none is given. @example setDefaultDevice(await requestDevice()) */
export function setDefaultDevice(d: DeviceLike): void {
  if (d === undefined) throw errors.badArg("setDefaultDevice", "device", "'cpu', 'webgpu' or a Device", d); // not a no-op
  const dev = resolveDevice(d, "setDefaultDevice");
  dev.backend.check?.(); // a shut-down or lost device here, not at every later creation
  current = dev;
}

export const defaultDevice = (): Device => current;

export function resolveDevice(d: DeviceLike | undefined, fn: string): Device {
  if (d === undefined) return current;
  if (typeof d === "object" && d && (d.type === "cpu" || d.type === "webgpu") && typeof d.backend?.map === "function") return d;
  if (d === "cpu") return cpu;
  if (d === "webgpu") {
    if (!webgpu) {
      throw new Error(
        `${fn}(): the webgpu device is not open ${shut ? "(it was shut down)" : "yet"}; call 'await requestDevice("webgpu")' first`,
      );
    }
    return webgpu;
  }
  throw errors.badArg(fn, "device", "'cpu', 'webgpu' or a Device", d);
}

/**
 * Throws the error PyTorch's allocation of `shape`'s floats would raise on `dev`: a size past int64
 * bytes, past one buffer (a WebGPU buffer; a JS typed array where `budget`, as creation, which
 * allocates at once), or on the CPU past the machine's memory; `budget` also checks the device's
 * memory limit. Ops check their result at the call: on WebGPU every result past a buffer fails when
 * computed, while a CPU kernel fused into a reduction never allocates it (expand(2 ** 31).sum()
 * works) and one computed alone throws then; past the machine's memory PyTorch fails, so it does.
 */
export function checkSize(shape: readonly number[], dev: Device, budget = false): void {
  let n = 1;
  for (const d of shape) n *= d;
  if (n > 0 && n <= 2 ** 20) return budget ? dev.backend.checkAlloc?.(n, budget) : undefined; // the common case: no product near a limit
  if (sizeOverflows(shape, 4)) throw errors.sizeOverflow(shape);
  if (dev.type === "cpu" && n > 2 ** 30 && (budget || n * 4 > totalmem())) throw errors.cpuAlloc(n, !budget && totalmem());
  dev.backend.checkAlloc?.(n, budget);
}

/** Releases the WebGPU device and its worker, so a script can end. @example await shutdown() */
export async function shutdown(): Promise<void> {
  await opening;
  const d = webgpu;
  (webgpu = null), (shut ||= d !== null);
  if (current === d) current = cpu;
  await close(d);
}
