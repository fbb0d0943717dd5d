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
  /** Whether the device's own float32 division rounds once (divisionRoundsOnce). */
  exactDiv: boolean;
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
 * is default-prevented, which keeps Dawn from printing it. `divProbe`: shaders/div_probe.wgsl.
 */
export async function openDawn(
  onLost: (message: string) => void, onError: (e: GPUError) => void, divProbe?: string,
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
  const exactDiv = await divisionRoundsOnce(device, divProbe).catch(() => false);
  const dawn: Dawn = { gpu, adapter, device, adapterName, limits: limits as unknown as Limits, exactDiv };
  pinned.push(dawn);
  (globalThis as Record<symbol, unknown>)[Symbol.for("gradwise.dawn")] = pinned;
  void device.lost.then((i) => onLost(`webgpu device was lost: ${i.reason} (${i.message})`));
  device.addEventListener("uncapturederror", (ev) => {
    ev.preventDefault();
    onError((ev as GPUUncapturedErrorEvent).error);
  });
  return dawn;
}

/**
 * Whether the device's own float32 division rounds once, as PyTorch's: 2^14 random pairs divided on
 * it, compared with the host's quotients. lavapipe's does; NVIDIA's was 1 ulp off for 5 pairs in
 * 400. Then shaders/common.wgsl's gw_quot skips its correction (it doubled W1's time on lavapipe).
 * GRADWISE_WEBGPU_EXACT_DIV=0 or 1 overrides the probe.
 */
async function divisionRoundsOnce(device: GPUDevice, code = ""): Promise<boolean> {
  const env = process.env.GRADWISE_WEBGPU_EXACT_DIV;
  if (env === "0" || env === "1") return env === "1";
  const n = 1 << 14, bits = new Uint32Array(2 * n), U = GPUBufferUsage; // n: as shaders/div_probe.wgsl
  for (let i = 0, s = 1; i < 2 * n; i++)
    (s = (Math.imul(s, 1103515245) + 12345) >>> 0), (bits[i] = (s & 0x807fffff) | ((112 + (s % 32)) << 23));
  const pipe = device.createComputePipeline({ layout: "auto", compute: { module: device.createShaderModule({ code }), entryPoint: "main" } });
  const buf = device.createBuffer({ size: 8 * n, usage: U.STORAGE | U.COPY_SRC | U.COPY_DST });
  const back = device.createBuffer({ size: 4 * n, usage: U.MAP_READ | U.COPY_DST });
  device.queue.writeBuffer(buf, 0, bits);
  const enc = device.createCommandEncoder(), pass = enc.beginComputePass();
  pass.setPipeline(pipe);
  pass.setBindGroup(0, device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] }));
  pass.dispatchWorkgroups(n / 64);
  pass.end();
  enc.copyBufferToBuffer(buf, 0, back, 0, 4 * n);
  device.queue.submit([enc.finish()]);
  await back.mapAsync(GPUMapMode.READ);
  const got = new Float32Array(back.getMappedRange()), f = new Float32Array(bits.buffer);
  let exact = true;
  for (let i = 0; i < n && exact; i++) exact = got[i] === Math.fround((f[i] as number) / (f[i + n] as number));
  back.unmap(), back.destroy(), buf.destroy();
  return exact;
}

/** The shader sources for `d`: where it divides exactly, gw_quot is common.wgsl's gw_quot_exact. */
export const shadersFor = (d: Dawn, s: Record<string, string>): Record<string, string> => !d.exactDiv ? s
  : { ...s, "common.wgsl": (s["common.wgsl"] ?? "").replace("fn gw_quot(", "fn gw_quot_corrected(").replace("fn gw_quot_exact(", "fn gw_quot(") };

/** Destroys the device. The context stays pinned: Dawn may still deliver events for it. */
export function closeDawn(d: Dawn): void {
  d.device.destroy();
}

/**
 * Dawn's bindings poll the event loop (setImmediate) while a map is pending; after each message in
 * or out, the worker polls this long more before it sleeps, so that the next batch lands at once
 * instead of after a wake-up from epoll (GRADWISE_WEBGPU_SPIN_US; 0 turns it off).
 */
const LINGER_MS = Number(process.env.GRADWISE_WEBGPU_SPIN_US || 500) / 1000; // "" is unset, as webgpu_spawn.ts checks it
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
