// Worker-side cache of compute pipelines (one per kernel key) and of the bind group layout of each
// shader kind; a map kernel's WGSL expression is spliced into elementwise.wgsl on first use.
import { type Kind, LAYOUTS, SHADER_FILES } from "./webgpu_protocol.js";

const SPLICE = "/*splice:expr*/0.0";
const LANES = "/*splice:lanes*/";

export class Pipelines {
  private pipelines = new Map<string, GPUComputePipeline>();
  private layouts = new Map<Kind, { group: GPUBindGroupLayout; pipe: GPUPipelineLayout }>();

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
