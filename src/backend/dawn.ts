// Opens Dawn (the `webgpu` package): instance, adapter and a device with the adapter's own limits.
// Runs in webgpu_exec.ts (a worker, or the main thread); everything it creates is pinned for as
// long as the device lives.
// linger() keeps the worker's event loop polling for a moment after each message.
import type { Limits } from "./webgpu_protocol.js";

export interface Dawn {
  gpu: GPU;
  adapter: GPUAdapter;
  device: GPUDevice;
  adapterName: string;
  limits: Limits;
}

const LIMIT_NAMES = [
  "maxBufferSize",
  "maxStorageBufferBindingSize",
  "maxComputeWorkgroupSizeX",
  "maxStorageBuffersPerShaderStage",
  "maxComputeWorkgroupsPerDimension",
  "minStorageBufferOffsetAlignment",
] as const;

// Dawn aborts in InstanceBase::ProcessEvents once the instance object is garbage collected while a
// device still works, so every opened context stays reachable from here and from globalThis.
const pinned: Dawn[] = [];

export const NO_ADAPTER_HELP =
  "WebGPU: Dawn found no GPU adapter (it needs a Vulkan, Metal or D3D12 driver). On a machine " +
  "without a GPU, install Mesa's lavapipe software Vulkan driver with " +
  "`bash .ci/install-software-gpu.sh` (mesa-vulkan-drivers from bookworm-backports), then retry.";

/**
 * Opens the device; `onLost` hears about device loss, `onError` about every Dawn error. Dawn calls
 * it synchronously inside the failing call, so the caller knows which command failed; the event
 * is default-prevented, which keeps Dawn from printing it.
 */
export async function openDawn(
  onLost: (message: string) => void, onError: (e: GPUError) => void,
): Promise<Dawn> {
  let mod: typeof import("webgpu");
  try {
    mod = await import("webgpu");
  } catch (e) {
    throw new Error(
      `WebGPU: cannot load Dawn's Node bindings (npm package 'webgpu'): ${(e as Error).message}. ` +
        "Run `npm install` so node_modules/webgpu/dist holds dawn.node for this platform.",
    );
  }
  // GPUBufferUsage, GPUMapMode and friends live in `globals`, not on globalThis.
  Object.assign(globalThis, mod.globals);
  const gpu = mod.create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) throw new Error(NO_ADAPTER_HELP);
  const requiredLimits: Record<string, number> = {};
  for (const k of LIMIT_NAMES) requiredLimits[k] = adapter.limits[k];
  const device = await adapter.requestDevice({ requiredLimits });
  const limits = Object.fromEntries(LIMIT_NAMES.map((k) => [k, device.limits[k]]));
  const info = adapter.info;
  const parts = [info.vendor, info.architecture, info.device].filter(Boolean);
  const adapterName = info.description || parts.join(" ") || "unknown adapter";
  const dawn: Dawn = { gpu, adapter, device, adapterName, limits: limits as unknown as Limits };
  pinned.push(dawn);
  (globalThis as Record<symbol, unknown>)[Symbol.for("gradwise.dawn")] = pinned;
  void device.lost.then((i) => onLost(`webgpu device was lost: ${i.reason} (${i.message})`));
  device.addEventListener("uncapturederror", (ev) => {
    ev.preventDefault();
    onError((ev as GPUUncapturedErrorEvent).error);
  });
  return dawn;
}

/** Destroys the device. The context stays pinned: Dawn may still deliver events for it. */
export function closeDawn(d: Dawn): void {
  d.device.destroy();
}

/**
 * Dawn's bindings poll the event loop (setImmediate) while a map is pending; after each message in
 * or out, the worker polls this long more before it sleeps, so that the next batch lands at once
 * instead of after a wake-up from epoll (GRADWISE_WEBGPU_SPIN_US; 0 turns it off).
 */
const LINGER_MS = Number(process.env.GRADWISE_WEBGPU_SPIN_US ?? 500) / 1000;
let last = 0;
let lingering = false;
/** Marks activity: polling goes on until LINGER_MS pass without any. */
export function linger(): void {
  last = performance.now();
  if (lingering || !(LINGER_MS > 0)) return;
  const poll = (): void => {
    lingering = performance.now() - last < LINGER_MS;
    if (lingering) setImmediate(poll);
  };
  poll();
}
