// Worker-side cache of compute pipelines (one per kernel key), of the bind group layout of each
// shader kind and of bind groups; a map kernel's WGSL expression is spliced into elementwise.wgsl
// on first use.
import { destroyedCount } from "./webgpu_pool.js";
import { type Kind, LAYOUTS, SHADER_FILES } from "./webgpu_protocol.js";

const SPLICE = "/*splice:expr*/0.0";
const LANES = "/*splice:lanes*/";

export class Pipelines {
  private pipelines = new Map<string, GPUComputePipeline>();
  private layouts = new Map<Kind, { group: GPUBindGroupLayout; pipe: GPUPipelineLayout }>();
  private groups = new Map<string, GPUBindGroup>();
  private ids = new WeakMap<GPUBuffer, number>();
  private nextId = 0;
  private seenDestroyed = 0;

  constructor(
    private readonly device: GPUDevice,
    /** Shader sources by file name. */
    private readonly shaders: Record<string, string>,
  ) {}

  layout(kind: Kind): { group: GPUBindGroupLayout; pipe: GPUPipelineLayout } {
    let l = this.layouts.get(kind);
    if (l) return l;
    const vis = GPUShaderStage.COMPUTE;
    const entries: GPUBindGroupLayoutEntry[] = [
      { binding: 0, visibility: vis, buffer: { type: "uniform" } },
    ];
    LAYOUTS[kind].forEach((m, k) => {
      const type = m === "rw" ? "storage" : "read-only-storage";
      entries.push({ binding: k + 1, visibility: vis, buffer: { type } });
    });
    const group = this.device.createBindGroupLayout({ entries });
    l = { group, pipe: this.device.createPipelineLayout({ bindGroupLayouts: [group] }) };
    this.layouts.set(kind, l);
    return l;
  }

  /**
   * A bind group of kernel `key` (its label, which Dawn's errors quote) over `entries`: creating
   * one costs ~40-50 µs on lavapipe. It hits when a loop binds the same buffers at the same meta
   * slot (a read per step, as W1 and W2); long batches rarely hit (slots differ, pooled buffers
   * return in collection order). A destroyed buffer never comes back, so groups naming one never
   * match again: all are dropped when a pool destroys a buffer, and past 4096.
   */
  bindGroup(kind: Kind, key: string, entries: GPUBindGroupEntry[]): GPUBindGroup {
    if (this.seenDestroyed !== destroyedCount() || this.groups.size > 4096)
      this.groups.clear(), (this.seenDestroyed = destroyedCount());
    let sig = `${kind}|${key}`;
    for (const e of entries) {
      const { buffer: b, offset = 0, size } = e.resource as GPUBufferBinding;
      let id = this.ids.get(b);
      if (id === undefined) this.ids.set(b, (id = this.nextId++));
      sig += `|${id}:${offset}:${size}`;
    }
    let g = this.groups.get(sig);
    if (!g) this.groups.set(sig, (g = this.device.createBindGroup({ label: key, layout: this.layout(kind).group, entries })));
    return g;
  }

  /** The pipeline of kernel `key`; a map's first use brings its expression (`wgsl`). */
  get(kind: Kind, key: string, wgsl?: string): GPUComputePipeline {
    let p = this.pipelines.get(key);
    if (p) return p;
    let code = SHADER_FILES[kind].map((f) => this.shaders[f] ?? "").join("\n");
    if (kind === "map" || kind === "mapreduce" || kind === "vmap") {
      if (wgsl === undefined) throw new Error(`WebGPU worker: no expression for kernel ${key}`);
      code = kind === "vmap" ? code.replace(LANES, wgsl) : code.replace(SPLICE, `(${wgsl})`);
    }
    // A compile error arrives synchronously as an uncaptured error, which the worker reports
    // against this kernel; no getCompilationInfo() promise (a pending Dawn promise aborts the
    // process if the worker ends before it settles).
    const module = this.device.createShaderModule({ code, label: key });
    const layout = this.layout(kind).pipe;
    p = this.device.createComputePipeline({ layout, compute: { module, entryPoint: "main" } });
    this.pipelines.set(key, p);
    return p;
  }
}
