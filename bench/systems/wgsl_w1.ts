// The raw WebGPU reference for W1: shaders/bench_w1.wgsl's three dispatches (forward partial sums
// over 256 workgroups, their total, a vec4 backward) in one submit, then x.grad read back, on
// prepared buffers. n must be a multiple of 4 (the benchmark's sizes are).
import { readFileSync } from "node:fs";
import { w1Input } from "../data.js";
import { findUp } from "../paths.js";
import type { Cell, SystemImpl } from "../types.js";
import { type Dispatch, dawnAdapter, describeAdapter, dispatchAndRead } from "./dawn.js";

const WG = 256;
/** Workgroups of the forward pass: each thread folds a grid-stride loop. */
const PARTS = 256;

export async function wgslW1(): Promise<SystemImpl> {
  const adapter = await dawnAdapter();
  const { maxStorageBufferBindingSize, maxBufferSize } = adapter.limits;
  const device = await adapter.requestDevice({ requiredLimits: { maxStorageBufferBindingSize, maxBufferSize } });
  let lost: string | null = null;
  void device.lost.then((i) => (lost = `device lost: ${i.message}`));
  const code = readFileSync(findUp("shaders/bench_w1.wgsl"), "utf8");
  const module = device.createShaderModule({ code });
  const errs = (await module.getCompilationInfo()).messages.filter((m) => m.type === "error");
  if (errs.length) throw new Error(`bench_w1.wgsl: ${errs.map((m) => m.message).join("; ")}`);
  const pipe = (entryPoint: string) => device.createComputePipeline({ layout: "auto", compute: { module, entryPoint } });
  const [forward, total, backward] = [pipe("forward"), pipe("total"), pipe("backward")];

  const W1 = (n: number): Cell => {
    if (n % 4 !== 0) throw new Error(`wgsl-w1 needs n % 4 == 0, got ${n}`);
    const S = GPUBufferUsage.STORAGE;
    const mk = (floats: number, usage: number) => device.createBuffer({ size: Math.max(4, floats) * 4, usage });
    const groups = Math.max(1, Math.ceil(n / 4 / WG));
    const gx = Math.min(groups, 65535), gy = Math.ceil(groups / gx);
    const fwd = Math.min(PARTS, Math.max(1, Math.ceil(n / WG)));
    const x = mk(n, S | GPUBufferUsage.COPY_DST), g = mk(n, S | GPUBufferUsage.COPY_SRC);
    const part = mk(fwd, S), loss = mk(1, S);
    const staging = mk(n, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    const params = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(x, 0, w1Input(n));
    const p = new ArrayBuffer(16);
    new Uint32Array(p, 0, 3).set([n, gx * WG, fwd]);
    new Float32Array(p, 12, 1)[0] = 1 / n;
    device.queue.writeBuffer(params, 0, p);
    const all: Record<number, GPUBuffer> = { 0: x, 1: g, 2: part, 3: loss, 4: params, 5: x };
    const bind = (pl: GPUComputePipeline, used: number[]) => device.createBindGroup({
      layout: pl.getBindGroupLayout(0),
      entries: used.map((binding) => ({ binding, resource: { buffer: all[binding] as GPUBuffer } })),
    });
    const steps: Dispatch[] = [
      [forward, bind(forward, [0, 2, 4]), fwd, 1],
      [total, bind(total, [2, 3, 4]), 1, 1],
      [backward, bind(backward, [1, 4, 5]), gx, gy],
    ];
    return {
      run: async (): Promise<Float32Array> => {
        if (lost) throw new Error(lost);
        return dispatchAndRead(device, steps, g, staging, n);
      },
      dispose: () => [x, g, part, loss, staging, params].forEach((b) => b.destroy()),
    };
  };
  return { info: { ...describeAdapter(adapter), kernel: "bench_w1.wgsl" }, cells: { W1 }, close: async () => device.destroy() };
}
