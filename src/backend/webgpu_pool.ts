// Worker-side pool of GPU buffers by size class: freed buffers wait here for reuse (creating and
// destroying buffers is slow); the pool is bounded, trims its oldest entries first, and drops
// buffers nothing reused for IDLE_MS (a burst of frees does not stay pooled for ever). A buffer
// bigger than the whole pool (up to maxBufferSize) is created at its exact size and destroyed
// when given back. DevicePools holds the worker's two pools (storage, readback staging) under one
// memory budget: pooled buffers are destroyed before a new one would exceed it.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { type Budget, IDLE_MS, type PoolStats } from "./webgpu_protocol.js";

let gc: ((o?: object) => unknown) | null = null;
/** Collects this thread's heap (turning on --expose-gc the first time): in full at once, or
 * (`soon`) a major collection that V8 runs incrementally, without one long pause. */
export const collect = (soon = false): unknown =>
  (gc ??= (setFlagsFromString("--expose-gc"), runInNewContext("gc") as (o?: object) => unknown))(
    soon ? { type: "major", execution: "async" } : undefined,
  );

/** A watch on this thread's event loop: true when it has not turned since the last call that
 * found it had (that call starts watching for the next turn). */
export function turnMark(): () => boolean {
  let turned = true;
  return () => (turned ? ((turned = false), setImmediate(() => (turned = true)), false) : true);
}
const noTurnSince = turnMark();
let warned = false;
/** The backend's collection past its memory mark. A second with no turn of the event loop since the
 * first: memory doubled while dropped tensors wait for a turn (FinalizationRegistry). Said once. */
export const held = { collections: 0 }; // (tests)
export function collectHeld(liveBytes: number, doubled: boolean, buffers: number): void {
  collect(), held.collections++;
  if (doubled && noTurnSince() && !warned)
    (warned = true), process.emitWarning(
      `${Math.round(liveBytes / 2 ** 20)} MiB of WebGPU memory in use (${buffers} buffers), doubled with no turn of the event loop: ` +
        "tensors dropped meanwhile are freed only once it turns (an await of a read, I/O or a timer). In a loop, " +
        "run each step in scope(fn) or dispose() what you drop.", "GradwiseMemoryWarning");
}

/** Rounds a byte size up to its class: powers of two to 4 KiB, then quarter steps per octave. */
export function sizeClass(bytes: number, max: number): number {
  const b = Math.max(16, Math.ceil(bytes / 4) * 4);
  if (b <= 4096) return 2 ** Math.ceil(Math.log2(b));
  const step = 2 ** Math.floor(Math.log2(b)) / 4;
  const c = Math.ceil(b / step) * step;
  return c <= max ? c : b;
}

/**
 * A new host array with its pages already touched. A read allocates it after its submit, while the
 * GPU works: fresh pages cost ~3 µs each to fault in here, so copying a 64 MB map into one took
 * ~50 ms after the map and ~11 ms once faulted (W2 at 1.6e7: 174 -> 136 ms, bench/results/*prefault*).
 */
export function prefaulted(n: number): Float32Array<ArrayBuffer> {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i += 1024) a[i] = 0;
  return a;
}

let creating = 0, destroyed = 0;
/** How many buffers the pools have destroyed so far (bind groups naming them are then stale). */
export const destroyedCount = (): number => destroyed;
/** Bytes of the buffer being created right now, else 0: Dawn's errors arrive inside the call. */
export const creatingBytes = (): number => creating;

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  /** Pooled buffers, oldest first, with when each was pooled. */
  private order = new Map<GPUBuffer, number>();
  allocatedBytes = 0;
  pooledBytes = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: GPUBufferUsageFlags,
    private readonly capBytes: number,
    private readonly maxBytes: number,
    /** Called before a buffer of `bytes` is created (the owner may trim pools to make room). */
    private readonly grow: (bytes: number) => void,
  ) {}

  /** The size of the buffer take(bytes) hands out. */
  classOf(bytes: number): number {
    return bytes > this.capBytes ? Math.ceil(bytes / 4) * 4 : sizeClass(bytes, this.maxBytes);
  }

  take(bytes: number): GPUBuffer {
    if (bytes > this.capBytes) return this.create(Math.ceil(bytes / 4) * 4);
    const cls = sizeClass(bytes, this.maxBytes);
    const b = this.free.get(cls)?.pop();
    if (b) {
      this.order.delete(b);
      this.pooledBytes -= cls;
      return b;
    }
    return this.create(cls);
  }

  private create(size: number): GPUBuffer {
    this.grow(size);
    this.allocatedBytes += size;
    creating = size;
    try {
      return this.device.createBuffer({ size, usage: this.usage });
    } finally {
      creating = 0;
    }
  }

  /** Takes back a buffer no queued or future GPU work uses any more. */
  give(b: GPUBuffer): void {
    const size = b.size; // a call into Dawn (~0.1 µs): read once
    if (size > this.capBytes) {
      // Dawn defers the release until submitted work that uses it is done.
      this.allocatedBytes -= size;
      b.destroy(), destroyed++;
      return;
    }
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(b);
    this.order.set(b, performance.now());
    this.pooledBytes += size;
    if (this.pooledBytes > this.capBytes) this.trim(this.capBytes);
  }

  /** Destroys the oldest pooled buffers until at most `cap` bytes remain pooled. */
  trim(cap: number, before = -Infinity): void {
    for (const [b, t] of this.order) {
      if (this.pooledBytes <= cap && t >= before) break;
      this.order.delete(b);
      const list = this.free.get(b.size) ?? [];
      list.splice(list.indexOf(b), 1);
      this.pooledBytes -= b.size;
      this.allocatedBytes -= b.size;
      b.destroy(), destroyed++;
    }
  }
}

/**
 * Buffers freed while a command encoder is open, which its recorded work may still use: they go to
 * the pool at submit, but a later kernel's output may take one at once, as the encoder's later
 * dispatches run after its earlier ones (an upload may not: writeBuffer lands before the encoder).
 * A loop that drops each result reused one buffer instead of creating one per step (64 MB on an
 * H200: ~0.5 ms a step; bench/results/h200-devbw-*).
 */
export class Freed {
  private bufs: GPUBuffer[] = [];
  private sizes: number[] = [];
  push(b: GPUBuffer): void { this.bufs.push(b), this.sizes.push(b.size); }
  /** A kernel output's buffer: the latest freed one of its size class, else one from `pool`. */
  take(pool: BufferPool, bytes: number): GPUBuffer {
    const i = this.sizes.lastIndexOf(pool.classOf(bytes));
    if (i < 0) return pool.take(bytes);
    this.sizes.splice(i, 1);
    return this.bufs.splice(i, 1)[0] as GPUBuffer;
  }
  /** Hands every buffer to `give` and empties. */
  drain(give: (b: GPUBuffer) => void): void {
    for (const b of this.bufs) give(b);
    this.bufs = [], this.sizes = [];
  }
}

/** The worker's storage and staging pools: trimmed when the budget would be exceeded. */
export class DevicePools {
  readonly storage: BufferPool;
  readonly staging: BufferPool;

  constructor(device: GPUDevice, maxBufferSize: number, private readonly b: Budget) {
    const grow = (n: number) => this.stats().allocatedBytes + n > b.memoryLimitBytes && this.trim();
    const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    this.storage = new BufferPool(device, storage, b.poolBytes, maxBufferSize, grow);
    const readback = GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST;
    this.staging = new BufferPool(device, readback, b.poolBytes / 4, maxBufferSize, grow);
  }

  stats(): PoolStats {
    const { storage: s, staging: t } = this;
    return {
      allocatedBytes: s.allocatedBytes + t.allocatedBytes,
      pooledBytes: s.pooledBytes + t.pooledBytes,
    };
  }

  /** Pools a read's staging buffer, unless that leaves more than the memory limit allocated
   * (a read may pass it while it copies: the data has to come out). */
  giveStaging(st: GPUBuffer): void {
    this.staging.give(st);
    if (this.stats().allocatedBytes > this.b.memoryLimitBytes) this.staging.trim(0);
  }

  /** Destroys every pooled buffer. */
  trim(): void {
    this.storage.trim(0);
    this.staging.trim(0);
  }

  /** Destroys the buffers pooled for longer than IDLE_MS. */
  expire(): void {
    const before = performance.now() - IDLE_MS;
    this.storage.trim(Infinity, before);
    this.staging.trim(Infinity, before);
  }

  /** Dawn could not create a buffer of `bytes`: trims the pools, returns the error text. */
  oom(bytes: number, why: string): string {
    this.trim();
    const { allocatedBytes: a, pooledBytes: p } = this.stats();
    return `out of memory on webgpu: tried to allocate ${bytes} bytes; ${a - p} in use (${why})`;
  }
}
