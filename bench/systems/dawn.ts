// Dawn for the benchmark's own WebGPU users (TF.js webgpu, the WGSL ceilings). Dawn aborts if the
// GPU object or an adapter is collected while a device lives, so both are kept here until exit.
import { create, globals } from "webgpu";

const keep: unknown[] = [];

/** Dawn's GPU object with WebGPU's globals (GPUBufferUsage, ...) installed; created once. */
export function dawnGpu(): GPU {
  process.env.XDG_RUNTIME_DIR ??= "/tmp";
  const have = keep[0] as GPU | undefined;
  if (have) return have;
  Object.assign(globalThis, globals);
  const gpu = create([]);
  keep.push(gpu);
  return gpu;
}

export async function dawnAdapter(): Promise<GPUAdapter> {
  const adapter = await dawnGpu().requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) throw new Error("Dawn found no WebGPU adapter (is a Vulkan driver installed?)");
  keep.push(adapter);
  return adapter;
}

/** Sets navigator.gpu (as a browser has it) to Dawn, keeping every adapter handed out alive. */
export function installNavigatorGpu(): void {
  const gpu = dawnGpu();
  const shim = {
    requestAdapter: async (o?: GPURequestAdapterOptions) => {
      const a = await gpu.requestAdapter(o);
      keep.push(a);
      return a;
    },
    getPreferredCanvasFormat: (): GPUTextureFormat => "rgba8unorm",
    wgslLanguageFeatures: gpu.wgslLanguageFeatures,
  };
  const nav = (globalThis as { navigator?: object }).navigator ?? {};
  Object.defineProperty(nav, "gpu", { value: shim, configurable: true });
  if (!(globalThis as { navigator?: object }).navigator)
    Object.defineProperty(globalThis, "navigator", { value: nav, configurable: true, writable: true });
}

/** The adapter as a short description, e.g. "llvmpipe (LLVM 19.1.7, 256 bits) (vulkan)". */
export function describeAdapter(a: GPUAdapter): Record<string, string> {
  const i = a.info;
  return {
    vendor: i.vendor,
    architecture: i.architecture,
    device: i.device,
    description: i.description,
  };
}

/** One dispatch of a raw kernel: pipeline, bind group, workgroups in x and y. */
export type Dispatch = [GPUComputePipeline, GPUBindGroup, number, number];

/** Runs the dispatches (a pass each, as a framework separates ops) in one submit, then reads `n`
 * floats of `src` back through `staging`: what the raw WGSL rows time. */
export async function dispatchAndRead(
  device: GPUDevice, steps: readonly Dispatch[], src: GPUBuffer, staging: GPUBuffer, n: number,
): Promise<Float32Array> {
  const enc = device.createCommandEncoder();
  for (const [pipeline, group, x, y] of steps) {
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, y);
    pass.end();
  }
  enc.copyBufferToBuffer(src, 0, staging, 0, n * 4);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  return out;
}
