// The GPU ceilings: W2 as one raw WGSL dispatch (scalar or vec4, shaders/bench_w2*.wgsl) plus the
// readback a user needs; "fixed" times that at N=1e3 and, for W4, 100 dispatches per readback.
import { readFileSync } from "node:fs";
import { w2Inputs } from "../data.js";
import type { Cell, SystemImpl } from "../types.js";
import { W4_OPS } from "../types.js";
import { findUp } from "../paths.js";
import { type Dispatch, dawnAdapter, describeAdapter, dispatchAndRead } from "./dawn.js";

const WG = 256;

export async function wgsl(kind: "scalar" | "vec4" | "fixed"): Promise<SystemImpl> {
  const adapter = await dawnAdapter();
  const { maxStorageBufferBindingSize, maxBufferSize } = adapter.limits;
  const device = await adapter.requestDevice({ requiredLimits: { maxStorageBufferBindingSize, maxBufferSize } });
  let lost: string | null = null;
  void device.lost.then((i) => (lost = `device lost: ${i.message}`));
  const vec = kind === "vec4";
  const file = vec ? "bench_w2_vec4.wgsl" : "bench_w2.wgsl";
  const code = readFileSync(findUp(`shaders/${file}`), "utf8");
  const module = device.createShaderModule({ code });
  const errs = (await module.getCompilationInfo()).messages.filter((m) => m.type === "error");
  if (errs.length) throw new Error(`${file}: ${errs.map((m) => m.message).join("; ")}`);
  const pipeline = device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });

  /** Buffers for n elements and one recorded dispatch; run(k) dispatches k times, reads c once. */
  function prepare(n: number): { run(k?: number): Promise<Float32Array>; dispose(): void } {
    const threads = vec ? Math.ceil(n / 4) : n;
    const bytes = (vec ? threads * 4 : n) * 4;
    const S = GPUBufferUsage.STORAGE;
    const mk = (usage: number) => device.createBuffer({ size: bytes, usage });
    const [a0, b0] = w2Inputs(n);
    const a = mk(S | GPUBufferUsage.COPY_DST);
    const b = mk(S | GPUBufferUsage.COPY_DST);
    const c = mk(S | GPUBufferUsage.COPY_SRC);
    device.queue.writeBuffer(a, 0, a0);
    device.queue.writeBuffer(b, 0, b0);
    const staging = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const groups = Math.max(1, Math.ceil(threads / WG));
    const gx = Math.min(groups, 65535);
    const gy = Math.ceil(groups / gx);
    const params = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(params, 0, new Uint32Array([threads, gx * WG, 0, 0]));
    const bind = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [a, b, c, params].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    return {
      run: async (k = 1): Promise<Float32Array> => {
        if (lost) throw new Error(lost);
        return dispatchAndRead(device, Array<Dispatch>(k).fill([pipeline, bind, gx, gy]), c, staging, n);
      },
      dispose: () => [a, b, c, staging, params].forEach((x) => x.destroy()),
    };
  }

  const info = { ...describeAdapter(adapter), kernel: file };
  if (kind === "fixed") {
    return {
      info,
      cells: {
        W2: (n): Cell => prepare(n),
        W4: (n): Cell => {
          const p = prepare(n);
          // 100 dispatches of W2's kernel, not W4's chain: no result to check against W4's.
          return { run: async () => (await p.run(W4_OPS), Number.NaN), dispose: p.dispose };
        },
      },
      close: async () => device.destroy(),
    };
  }
  return { info, cells: { W2: (n): Cell => prepare(n) }, close: async () => device.destroy() };
}
