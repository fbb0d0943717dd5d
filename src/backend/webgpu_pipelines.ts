// Worker-side cache of compute pipelines (one per kernel key), of bind group layouts (per shader
// kind and binding count) and of bind groups; a map kernel's WGSL body is spliced into
// elementwise.wgsl (or map_reduce.wgsl, elementwise_vec4.wgsl) on first use.
import { destroyedCount, turnMark } from "./webgpu_pool.js";
import { type Kind, LAYOUTS, META_WORDS, NONE, type Range, SHADER_FILES } from "./webgpu_protocol.js";

const BODY = "/*splice:body*/";
/** Bind groups created between collections (see group()). */
export const MAX_GROUPS = 4096;
/** Compiled pipelines kept, least recently used dropped first (~3.6 MB of native memory each on
 * lavapipe: a process making 600 distinct kernels grew to 2.4 GB). Tests lower it. */
export const cache = { pipelines: 256 };

export class Pipelines {
  private pipelines = new Map<string, GPUComputePipeline>();
  private sources = new Map<string, string>(); // each map kernel's expression: sent once, kept past its pipeline
  private layouts = new Map<string, { group: GPUBindGroupLayout; pipe: GPUPipelineLayout }>();
  private groups = new Map<number, { kind: Kind; key: string; nums: number[]; group: GPUBindGroup }[]>();
  private ids = new WeakMap<GPUBuffer, number>();
  private nextId = 0;
  /** Bind groups created since the last collection. */
  private created = 0;
  private seenDestroyed = 0;
  /** Dropped groups are freed once this thread's event loop turns (their finalizers run, and Dawn
   * recycles their memory). A collection with none since the last turn sets `rest`: the executor
   * then submits and waits for one. A busy thread (a worker behind its queue, a main-thread loop
   * that never awaits) once piled them up to SIGSEGV (test/soak.test.ts). */
  rest = false;
  private noTurnSince = turnMark();

  constructor(
    private readonly device: GPUDevice,
    /** Shader sources by file name. */
    private readonly shaders: Record<string, string>,
    /** The meta arena (binding 0 of every group), and what binds an absent input. */
    private readonly arena: GPUBuffer,
    private readonly dummy: GPUBuffer,
    /** Collects this thread's heap: the worker's (small) at once, the main thread's incrementally. */
    private readonly collect: () => unknown,
  ) {}

  /**
   * The layout of `kind` with its first `count` storage bindings: a kernel binds only the inputs it
   * has (its shader uses no other), and a group of 8 bindings cost about twice one of 4 to create
   * on lavapipe (bench/results/lavapipe-2cpu-ab-executor-2026-12-02.md).
   */
  private layout(kind: Kind, count: number): { group: GPUBindGroupLayout; pipe: GPUPipelineLayout } {
    let l = this.layouts.get(`${kind}${count}`);
    if (l) return l;
    const vis = GPUShaderStage.COMPUTE;
    const entries: GPUBindGroupLayoutEntry[] = [
      { binding: 0, visibility: vis, buffer: { type: "uniform" } },
    ];
    LAYOUTS[kind].slice(0, count).forEach((m, k) => {
      const type = m === "rw" ? "storage" : "read-only-storage";
      entries.push({ binding: k + 1, visibility: vis, buffer: { type } });
    });
    const group = this.device.createBindGroupLayout({ entries });
    l = { group, pipe: this.device.createPipelineLayout({ bindGroupLayouts: [group] }) };
    this.layouts.set(`${kind}${count}`, l);
    return l;
  }

  /** group()'s scratch: per binding after the meta's, its buffer (null: none); the meta's offset,
   * then per binding its buffer's id, offset and size (the numbers that name a group). */
  private bufs: (GPUBuffer | null)[] = [];
  private nums: number[] = [];

  /**
   * The bind group of a dispatch of `key` (its label, which Dawn's errors quote) with its meta
   * block at byte `metaAt` of the arena, over buffers `ids` (NONE: absent; `ranges`: bound
   * sub-ranges, else the logical size, not the larger size class, so binding limits apply to real
   * data). Creating one costs ~20-50 µs on lavapipe (4 to 8 bindings); it hits when a loop binds
   * the same buffers at the same meta slot (a read per step, as W1 and W2); long batches rarely hit
   * (slots differ, pooled buffers return in collection order; a dynamic offset for the slot made
   * W2 and W4 at 1e3 ~1.3x slower). A destroyed buffer never comes back, so groups naming one
   * never match again: all are dropped when a pool destroys a buffer. Looked up by a hash of the
   * numbers, compared in full: a hit allocates nothing. Each MAX_GROUPS created, all are dropped
   * and a collection starts (see `rest`): a group holds native memory V8 does not count (on
   * lavapipe a memory mapping each), so a loop creating groups ran the process out of mappings
   * (SIGSEGV at vm.max_map_count, 65 530, after ~250 000 groups: some 40 000 steps of W3).
   */
  group(
    kind: Kind, key: string, metaAt: number, ids: readonly number[], ranges: readonly (Range | null)[] | undefined,
    get: (id: number) => { buf: GPUBuffer; bytes: number },
  ): GPUBindGroup {
    if (this.created >= MAX_GROUPS) {
      this.groups.clear(), this.collect(), (this.created = 0);
      if (this.noTurnSince()) this.rest = true;
    }
    if (this.seenDestroyed !== destroyedCount()) this.groups.clear(), (this.seenDestroyed = destroyedCount());
    const { bufs, nums } = this, n = ids.length;
    nums[0] = metaAt;
    let h = Math.imul(key.length ^ metaAt, 0x9e3779b1);
    for (let k = 0, id: number | undefined; k < n; k++) {
      const b = ids[k] === NONE ? null : get(ids[k] as number), r = ranges?.[k];
      if (b && (id = this.ids.get(b.buf)) === undefined) this.ids.set(b.buf, (id = this.nextId++));
      bufs[k] = b && b.buf;
      nums[3 * k + 1] = b ? (id as number) : -1;
      nums[3 * k + 2] = r ? r[0] : 0;
      nums[3 * k + 3] = b ? (r ? r[1] : Math.max(4, b.bytes)) : 0;
      for (let i = 1; i <= 3; i++) h = Math.imul(h ^ (nums[3 * k + i] as number), 0x9e3779b1) ^ (h >>> 16);
    }
    (bufs.length = n), (nums.length = 3 * n + 1);
    let bucket = this.groups.get(h);
    for (const e of bucket ?? []) {
      let i = e.kind === kind && e.nums.length === nums.length && e.key === key ? 0 : -1;
      while (i >= 0 && i < nums.length && e.nums[i] === nums[i]) i++;
      if (i === nums.length) return e.group;
    }
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.arena, offset: metaAt, size: META_WORDS * 4 } }];
    bufs.forEach((buffer, k) => entries.push({
      binding: k + 1,
      resource: buffer ? { buffer, offset: nums[3 * k + 2] as number, size: nums[3 * k + 3] as number } : { buffer: this.dummy },
    }));
    const group = this.device.createBindGroup({ label: key, layout: this.layout(kind, n).group, entries });
    this.created++;
    if (!bucket) this.groups.set(h, (bucket = []));
    return bucket.push({ kind, key, nums: nums.slice(), group }), group;
  }

  /** The pipeline of kernel `key` over `count` storage bindings (one count per key: its inputs);
   * a map's first use brings its expression (`given`), kept to compile it again once evicted. */
  get(kind: Kind, key: string, count: number, given?: string): GPUComputePipeline {
    let p = this.pipelines.get(key);
    if (p) return this.pipelines.delete(key), this.pipelines.set(key, p), p; // most recently used last
    let code = SHADER_FILES[kind].map((f) => this.shaders[f] ?? "").join("\n");
    if (kind === "map" || kind === "mapreduce" || kind === "vmap") {
      if (given !== undefined) this.sources.set(key, given);
      const wgsl = this.sources.get(key);
      if (wgsl === undefined) throw new Error(`WebGPU worker: no expression for kernel ${key}`);
      code = code.replace(BODY, wgsl);
    }
    // A compile error arrives synchronously as an uncaptured error, which the worker reports
    // against this kernel; no getCompilationInfo() promise (a pending Dawn promise aborts the
    // process if the worker ends before it settles).
    const module = this.device.createShaderModule({ code, label: key });
    const layout = this.layout(kind, count).pipe;
    p = this.device.createComputePipeline({ layout, compute: { module, entryPoint: "main" } });
    this.pipelines.set(key, p);
    for (const old of this.pipelines.keys()) if (this.pipelines.size > cache.pipelines) this.pipelines.delete(old); else break;
    return p;
  }
  /** Pipelines compiled and kept (tests). */ get size(): number { return this.pipelines.size; }
}
