// The WebGPU backend, main-thread side: names buffers itself (creating one needs no round trip),
// plans each op's dispatches and hands them to WorkerLink, which batches them to webgpu_exec.ts.
// Buffers dropped without free() are freed once garbage collected. Buffers may exceed one storage
// binding (up to maxBufferSize): webgpu_split.ts cuts their work into binding-sized parts.
// Allocations past maxBufferSize or the memory budget throw "out of memory on webgpu: ...".
import { type Backend, type Buf, type Kernel, type MapSource, type MemoryStats, numelOf, type ReduceOp, type Shape, type Strided } from "./backend.js";
import { checkKernel, grid, mapMeta, mapReduceFits, MAX_RANK, planMapReduce, readMode, type Sink, withRow } from "./webgpu_plan.js";
import { planArgAll, planMap, planOneHot, planReduceAll } from "./webgpu_split.js";
import { WorkerLink } from "./webgpu_link.js";
import { directSource, planVec4, scalarSource, vec4Fits, vec4Source } from "./webgpu_source.js";
import { type Budget, type Cmd, type Kind, type Limits, NONE, type Range } from "./webgpu_protocol.js";
import { collect, collectHeld } from "./webgpu_pool.js";
import { startInThread, startWorker } from "./webgpu_spawn.js";

class WebGpuBuf implements Buf {
  constructor(readonly id: number, readonly size: number, public holders = 0) {}
}

export class WebGpuBackend implements Backend {
  readonly name = "webgpu";
  private nextId = 1;
  /** Bytes of every live buffer by id: memory() and use-after-free checks read it. */
  private live = new Map<number, number>();
  private liveBytes = 0;
  private keys = new Set<string>();
  private registry = new FinalizationRegistry<number>((id) => this.release(id, true));
  /** V8 cannot see GPU memory: past this many live bytes, each buffer weighing 4 KiB more (on lavapipe a
   * mapping: 96 000 dropped losses neared vm.max_map_count), the backend collects garbage (freed at the
   * next turn), again when they double (collected buffers lower that mark), past 3/4 of a limit, then halfway on
   * (`nearMark`) until back under 3/4 with buffers `reaped`, or under half (explicit frees across 3/4). */
  gcFloorBytes = 64 * 2 ** 20;
  private gcMark = this.gcFloorBytes;
  private nearMark = 0; private reaped = false;
  /** Where webgpu_plan.ts puts dispatches; its temporaries are freed by the plan, never by GC. */
  private readonly sink: Sink;

  constructor(
    private readonly q: WorkerLink,
    /** The adapter's description, e.g. "llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)". */
    readonly adapterName: string,
    readonly limits: Limits,
    /** Live plus pooled bytes may not exceed this (Infinity: no budget). */
    readonly memoryLimitBytes = Infinity,
  ) {
    this.sink = {
      alloc: (elements) => this.newBuf(elements, false).id,
      free: (id) => this.release(id),
      run: (...args) => this.run(...args),
      bind: Math.floor(limits.maxStorageBufferBindingSize / 4),
      align: Math.max(1, Math.ceil((limits.minStorageBufferOffsetAlignment ?? 256) / 4)),
    };
  }

  check(): void { this.q.check(); }
  /** Where Dawn runs (requestDevice's `thread` option). */
  get thread(): "worker" | "main" { return this.q.inThread ? "main" : "worker"; }
  get asyncReadsOnly(): boolean { return this.q.inThread; }

  /** True once the worker or device is gone; every later call throws. */
  get dead(): boolean { return this.q.dead; }

  upload(data: Float32Array): Buf {
    this.q.check();
    const b = this.newBuf(data.length);
    const copy = data.slice();
    this.q.push({ op: "upload", id: b.id, data: copy }, copy.buffer);
    return b;
  }

  /** A released buffer is freed once its read is queued: the copy out runs first on the queue. */
  read(buf: Buf, release = false): Promise<Float32Array> {
    try {
      const b = this.own(buf), p = b.size === 0 ? Promise.resolve(new Float32Array(0)) : this.q.read(b.id, release);
      return release && this.free(b, b.size > 0), p;
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  readSync(buf: Buf, release = false): Float32Array {
    const b = this.own(buf), out = b.size === 0 ? new Float32Array(0) : this.q.readSync(b.id, release);
    return release && this.free(b, b.size > 0), out;
  }

  map(
    k: Kernel, inputs: readonly Strided[], consts: readonly number[], shape: Shape, into?: Buf,
  ): Buf {
    this.q.check();
    checkKernel(k, inputs, consts);
    const n = numelOf(shape);
    const ins = inputs.map((s) => ({ b: this.own(s.buf), strides: s.strides }));
    const out = into ? this.own(into) : this.newBuf(n);
    if (out.size !== n) throw new Error(`webgpu map: 'into' holds ${out.size} elements, not ${n}`);
    if (n === 0) return out;
    const modes: number[] = ins.map((s) => readMode(s.b.size, s.strides, shape));
    // The destination read as an input in its own layout comes through dst (mode 3); read through
    // strides it would race with the writes, so the result goes through a temporary instead.
    const racy = ins.some((s, j) => s.b === out && modes[j] === 2);
    if (!racy) ins.forEach((s, j) => s.b === out && (modes[j] = 3));
    const { meta, dims } = mapMeta(shape, ins.map((s) => s.strides), modes, consts);
    if (!racy && vec4Fits(n, modes, this.sink.bind)) {
      const key = `vmap${modes.join("")}:${k.key}`, wgsl = this.source(key, () => vec4Source(k, modes));
      return planVec4(this.sink, key, out.id, ins.map((s, j) => (modes[j] === 3 ? NONE : s.b.id)), meta, n, wgsl), out;
    }
    const dst = racy ? this.sink.alloc(n) : out.id;
    const mins = ins.map((s, j) => ({ id: modes[j] === 3 ? NONE : s.b.id, size: s.b.size, mode: modes[j] as number }));
    const direct = directSource(k, modes), key = direct === null ? k.key : `${modes.join("")}|${k.key}`;
    const wgsl = this.source(key, () => direct ?? scalarSource(k));
    try {
      planMap(this.sink, key, dst, mins, dims, meta, n, wgsl);
    } catch (e) {
      // Nothing was dispatched: the worker has not seen this expression, nor the temporary.
      if (wgsl !== undefined) this.keys.delete(key);
      if (racy) this.release(dst);
      throw e;
    }
    if (racy) {
      this.q.push({ op: "copy", src: dst, dst: out.id, bytes: n * 4 });
      this.release(dst);
    }
    return out;
  }

  /** One pass computes and folds the kernel's values (map_reduce.wgsl) when everything fits one
   * binding and its dims fit; otherwise the values are materialized, reduced and freed. */
  mapReduce(op: ReduceOp, src: MapSource, shape: Shape, axes: readonly number[]): Buf {
    const { kernel: k, inputs, consts } = src;
    checkKernel(k, inputs, consts);
    const ins = inputs.map((s) => ({ b: this.own(s.buf), strides: s.strides }));
    const n = numelOf(shape), ax = axes.map((a) => (a < 0 ? a + shape.length : a));
    const fits = n > 0 && n <= this.sink.bind && ins.every((s) => s.b.size <= this.sink.bind);
    const modes = ins.map((s) => readMode(s.b.size, s.strides, shape));
    const { meta, dims } = mapMeta(shape, ins.map((s) => s.strides), modes, consts);
    if (fits && mapReduceFits(shape, ax) && dims.length <= MAX_RANK) {
      const ids = ins.map((s) => s.b.id);
      const out = this.newBuf(numelOf(shape.filter((_, d) => !ax.includes(d))));
      const direct = directSource(k, modes), key = direct === null ? k.key : `${modes.join("")}|${k.key}`;
      const wgsl = this.source(`mr:${key}`, () => direct ?? scalarSource(k));
      try {
        planMapReduce(this.sink, op, key, ids, meta, shape, ax, out.id, wgsl);
        return out;
      } catch (e) {
        this.keys.delete(`mr:${key}`); // sent again next time (twice is harmless)
        this.free(out);
        throw e;
      }
    }
    const values = this.map(k, inputs, consts, shape), out = this.reduce(op, values, shape, axes);
    this.free(values);
    return out;
  }

  reduce(op: ReduceOp, input: Buf, shape: Shape, axes: readonly number[]): Buf {
    const src = this.own(input);
    const ax = [...new Set(axes.map((a) => (a < 0 ? a + shape.length : a)))];
    if (numelOf(shape) !== src.size || ax.some((a) => a < 0 || a >= shape.length)) {
      throw new Error(`webgpu reduce: [${shape}] over [${axes}] does not fit ${src.size} elements`);
    }
    const out = this.newBuf(numelOf(shape.filter((_, d) => !ax.includes(d))));
    if (out.size === 0) return out;
    // An empty input reduces to the identity: as [out, 0] over axis 1 every item folds nothing.
    if (src.size === 0) planReduceAll(this.sink, op, src.id, [out.size, 0], [1], out.id);
    else planReduceAll(this.sink, op, src.id, shape, ax, out.id);
    return out;
  }

  argReduce(op: "max" | "min", input: Buf, shape: Shape, axis: number): [Buf, Buf] {
    const src = this.own(input);
    if (numelOf(shape) !== src.size || axis < 0 || axis >= shape.length) {
      throw new Error(`webgpu argReduce: [${shape}] along ${axis} does not fit ${src.size} values`);
    }
    if (shape[axis] === 0) throw new RangeError("webgpu argReduce: cannot reduce an empty axis");
    const n = src.size / (shape[axis] as number);
    const vals = this.newBuf(n), idx = this.newBuf(n);
    if (n > 0) planArgAll(this.sink, op, src.id, shape, axis, vals.id, idx.id);
    return [vals, idx];
  }

  oneHot(indices: Buf, outShape: Shape, axis: number): Buf {
    const idx = this.own(indices);
    const out = this.newBuf(numelOf(outShape));
    if (out.size > 0) planOneHot(this.sink, idx.id, outShape, axis, out.id);
    return out;
  }

  free(buf: Buf, queued = false): void { // queued: its free command went with its read
    if (!(buf instanceof WebGpuBuf)) return;
    this.registry.unregister(buf);
    this.release(buf.id, false, queued);
  }

  /**
   * inUse: bytes of live buffers, exact and current. pooled: freed GPU buffers the worker keeps
   * for reuse (storage and staging, in size classes) as of its last reply. allocated: their sum.
   */
  memory(): MemoryStats { // a dead device (shut down, lost) holds nothing
    const { pooledBytes } = this.dead ? { pooledBytes: 0 } : this.q.stats, inUseBytes = this.dead ? 0 : this.liveBytes;
    return { allocatedBytes: inUseBytes + pooledBytes, inUseBytes, pooledBytes };
  }

  /** Forces a garbage collection on both threads (needs node --expose-gc; for tests). */
  debugGc(): void {
    (globalThis as { gc?: () => void }).gc?.();
    this.q.push({ op: "gc" });
  }

  /** Test-only faults: the worker destroys the device, throws an uncaught error, or exits. */
  debugFault(fault: "destroy" | "throw" | "exit"): void {
    this.q.check();
    this.q.push({ op: "debug", fault });
    this.q.flush();
  }

  /** Destroys the device and ends the worker; later calls throw. */
  shutdown(): Promise<void> {
    return this.q.shutdown();
  }

  /** A kernel's WGSL the first time the worker sees `key` (it caches), else undefined. */
  private source(key: string, src: () => string): string | undefined {
    if (this.keys.has(key)) return undefined;
    this.keys.add(key);
    return src();
  }

  private run(
    kind: Kind, key: string, ids: number[], meta: Uint32Array, threads: number, wgsl?: string,
    ranges?: (Range | null)[],
  ): void {
    const groups = grid(threads, this.limits.maxComputeWorkgroupsPerDimension);
    // The planners keep bindings within the limit (tests that shrink it rely on this check).
    const bound = ids.reduce((sum, id, k) => {
      const bytes = ranges?.[k]?.[1] ?? this.live.get(id) ?? 0;
      if (bytes <= this.limits.maxStorageBufferBindingSize) return sum + bytes;
      throw new Error(`webgpu: internal error: ${key} would bind ${bytes} bytes of buffer ${id}`);
    }, 0);
    const cmd: Cmd = { op: "run", kind, key, ids, meta: this.q.meta(withRow(meta, groups[0])), groups };
    if (wgsl !== undefined) cmd.wgsl = wgsl;
    if (ranges?.some((r) => r !== null)) cmd.ranges = ranges;
    this.q.push(cmd, undefined, bound);
  }

  checkAlloc(elements: number, budget = true): void {
    const bytes = elements * 4, max = this.limits.maxBufferSize;
    if (bytes > max) throw this.oom(bytes, `one buffer may hold at most maxBufferSize = ${max} bytes`);
    const over = () => this.liveBytes + this.q.stats.pooledBytes + bytes > this.memoryLimitBytes;
    if (!budget || !over() || (this.q.trim(), !over())) return; // trim: the pool goes; garbage (a.add(1) in a.add(1).mul(2) holds a) goes next turn:
    throw (collect(), this.oom(bytes, `the memory limit is ${this.memoryLimitBytes} bytes; dropped tensors are freed once the event loop turns, scope() and dispose() free at once`));
  }

  private newBuf(elements: number, collectable = true): WebGpuBuf {
    const bytes = elements * 4, b = (this.checkAlloc(elements), new WebGpuBuf(this.nextId++, elements));
    this.live.set(b.id, bytes), (this.liveBytes += bytes);
    const cap = this.memoryLimitBytes, near = this.liveBytes > Math.max(0.75 * cap, (this.nearMark + cap) / 2);
    const doubled = this.weight > Math.max(this.gcMark, this.gcFloorBytes);
    if (doubled || near) collectHeld(this.liveBytes, doubled, this.live.size), (this.gcMark = 2 * this.weight);
    if (near) (this.nearMark = this.liveBytes), (this.reaped = false);
    if (collectable) this.registry.register(b, b.id, b);
    this.q.push({ op: "alloc", id: b.id, bytes });
    return b;
  }

  private get weight(): number { return this.liveBytes + 4096 * this.live.size; }
  private oom(bytes: number, why: string): Error { // bytes exact past 2^53, as the CPU's
    return new Error(`out of memory on webgpu: tried to allocate ${BigInt(bytes)} bytes; ${this.liveBytes} in use (${why})`);
  }

  /** `collected`: freed by the registry; garbage being reclaimed lowers the collection mark. */
  private release(id: number, collected = false, queued = false): void {
    const bytes = this.live.get(id);
    if (bytes === undefined) return;
    this.live.delete(id);
    this.liveBytes -= bytes;
    if (collected && 4 * this.weight < this.gcMark) this.gcMark = 2 * this.weight;
    if (this.liveBytes <= ((this.reaped ||= collected) ? 0.75 : 0.5) * this.memoryLimitBytes) this.nearMark = 0;
    if (!this.dead && !queued) this.q.push({ op: "free", id });
  }

  private own(buf: Buf): WebGpuBuf {
    this.q.check();
    if (!(buf instanceof WebGpuBuf)) throw new TypeError("webgpu: a buffer of another backend");
    if (!this.live.has(buf.id)) throw new Error(`webgpu: buffer ${buf.id} was freed`);
    return buf;
  }
}

/**
 * Starts the worker (`thread` "main": Dawn on this thread, no sync reads), opens the device, and
 * resolves once the adapter answered. `limits` may only tighten the adapter's (tests shrink
 * maxStorageBufferBindingSize to exercise splitting); `budget` overrides GRADWISE_WEBGPU_MEMORY_MB
 * (default unlimited) and GRADWISE_WEBGPU_POOL_MB (256). @example await createWebGpuBackend({}, { memoryLimitBytes: 2 ** 30 })
 */
export async function createWebGpuBackend(
  limits: Partial<Limits> = {}, budget: Partial<Budget> = {}, thread: "worker" | "main" = "worker",
): Promise<WebGpuBackend> {
  const { worker, port, ctrl, ready, budget: b } = await (thread === "main" ? startInThread : startWorker)(budget);
  const link = new WorkerLink(worker, port, ctrl);
  return new WebGpuBackend(link, ready.adapter, { ...ready.limits, ...limits }, b.memoryLimitBytes);
}
