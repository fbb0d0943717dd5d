// The WebGPU worker thread: owns every Dawn object. It runs batches of commands from
// WebGpuBackend, encoding many dispatches into one compute pass, submitting at reads or when the
// meta arena is full, and answers reads (async on parentPort, sync on a port plus an Atomics word).
// A read bigger than one staging piece pauses the command stream while it copies piece by piece.
import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { closeDawn, type Dawn, openDawn } from "./dawn.js";
import { Pipelines } from "./webgpu_pipelines.js";
import { BufferPool } from "./webgpu_pool.js";
import {
  type Batch, type Cmd, CTRL_DEAD, CTRL_SEQ, META_WORDS, NONE, type PoolStats, type Reply,
  type WorkerInit,
} from "./webgpu_protocol.js";

const init = workerData as WorkerInit & { port: MessagePort };
const ctrl = new Int32Array(init.ctrl);
const main = parentPort as MessagePort;
/** Dispatches per submit: the meta arena holds one meta block for each. */
const META_CAP = 1024;
/** Bytes per staging copy of a big read: one pooled buffer, reused (fresh mappings are slow). */
const PIECE = 64 * 2 ** 20;
let closing = false;

function post(to: MessagePort, r: Reply, transfer: ArrayBuffer[] = []): void {
  to.postMessage(r, transfer);
}

/** Marks the worker dead for both a blocked readSync (Atomics) and async listeners (messages). */
function fatal(message: string): void {
  if (Atomics.load(ctrl, CTRL_DEAD) !== 0) return;
  post(init.port, { type: "fatal", message });
  post(main, { type: "fatal", message });
  Atomics.store(ctrl, CTRL_DEAD, 1);
  Atomics.notify(ctrl, CTRL_SEQ);
}
process.on("exit", () => {
  if (!closing) fatal("WebGPU worker exited unexpectedly");
});
process.on("uncaughtException", (e) => {
  fatal(`WebGPU worker crashed: ${e.stack ?? String(e)}`);
  process.exit(1);
});

/** A gc() for the worker's own heap, for the GC regression test only. */
function workerGc(): (() => void) | null {
  if (!init.exposeGc) return null;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

class Executor {
  private bufs = new Map<number, { buf: GPUBuffer; bytes: number }>();
  private pool: BufferPool;
  private staging: BufferPool;
  /** Buffers freed while the open encoder may still use them: pooled after its submit. */
  private pending: GPUBuffer[] = [];
  private enc: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private metaHost = new Uint32Array(META_CAP * META_WORDS);
  private metaCount = 0;
  private arena: GPUBuffer;
  private dummy: GPUBuffer;
  private pipes: Pipelines;
  private gc = workerGc();
  /** Batches not run yet, the first from command `at`; `paused` while a big read copies. */
  private backlog: Batch[] = [];
  private at = 0;
  private paused = false;

  constructor(private readonly d: Dawn) {
    const dev = d.device;
    const max = d.limits.maxBufferSize;
    const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    this.pool = new BufferPool(dev, storage, init.poolBytes, max);
    const readback = GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST;
    this.staging = new BufferPool(dev, readback, init.poolBytes / 4, max);
    const uniform = GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST;
    this.arena = dev.createBuffer({ size: this.metaHost.byteLength, usage: uniform });
    this.dummy = dev.createBuffer({ size: 16, usage: storage });
    this.pipes = new Pipelines(dev, init.shaders, fatal);
  }

  stats(): PoolStats {
    return {
      allocatedBytes: this.pool.allocatedBytes + this.staging.allocatedBytes,
      pooledBytes: this.pool.pooledBytes + this.staging.pooledBytes,
    };
  }

  exec(b: Batch): void {
    this.backlog.push(b);
    if (!this.paused) this.drain();
  }

  private drain(): void {
    for (let b = this.backlog[0]; b && Atomics.load(ctrl, CTRL_DEAD) === 0; b = this.backlog[0]) {
      while (this.at < b.cmds.length) {
        const wait = this.one(b.cmds[this.at++] as Cmd, b.meta);
        if (!wait) continue;
        this.paused = true;
        const go = () => ((this.paused = false), this.drain());
        wait.then(go).catch((e: Error) => fatal(`WebGPU worker: ${e.stack ?? String(e)}`));
        return;
      }
      this.backlog.shift();
      this.at = 0;
      this.submit();
    }
  }

  /** Runs one command; a Promise means: run nothing else until it settles. */
  private one(c: Cmd, meta: Uint32Array): Promise<void> | void {
    const dev = this.d.device;
    switch (c.op) {
      case "alloc":
        this.bufs.set(c.id, { buf: this.pool.take(c.bytes), bytes: c.bytes });
        return;
      case "upload": {
        const buf = this.pool.take(c.data.byteLength);
        dev.queue.writeBuffer(buf, 0, c.data as Float32Array<ArrayBuffer>);
        this.bufs.set(c.id, { buf, bytes: c.data.byteLength });
        return;
      }
      case "run":
        return this.run(c, meta);
      case "copy":
        this.encoder().copyBufferToBuffer(this.get(c.src).buf, 0, this.get(c.dst).buf, 0, c.bytes);
        return;
      case "free": {
        const { buf } = this.get(c.id);
        this.bufs.delete(c.id);
        // Work already submitted runs before anything later on the queue, so only the open
        // encoder's uses make the buffer wait for the next submit.
        if (this.enc) this.pending.push(buf);
        else this.pool.give(buf);
        return;
      }
      case "read":
        return this.read(c.id, (data, stats) => {
          post(main, { type: "read", req: c.req, data, stats }, [data.buffer]);
        });
      case "readSync":
        return this.read(c.id, (data, stats) => {
          post(init.port, { type: "sync", seq: c.seq, data, stats }, [data.buffer]);
          Atomics.store(ctrl, CTRL_SEQ, c.seq);
          Atomics.notify(ctrl, CTRL_SEQ);
        });
      case "gc":
        this.gc?.();
        return;
      case "shutdown":
        this.submit();
        closing = true;
        closeDawn(this.d);
        post(main, { type: "closed" });
        process.exit(0);
    }
  }

  private get(id: number): { buf: GPUBuffer; bytes: number } {
    const b = this.bufs.get(id);
    if (!b) throw new Error(`WebGPU worker: unknown buffer id ${id}`);
    return b;
  }

  private encoder(): GPUCommandEncoder {
    this.pass?.end();
    this.pass = null;
    return (this.enc ??= this.d.device.createCommandEncoder());
  }

  private run(c: Extract<Cmd, { op: "run" }>, meta: Uint32Array): void {
    if (this.metaCount === META_CAP) this.submit();
    const slot = this.metaCount++;
    const w = META_WORDS;
    this.metaHost.set(meta.subarray(c.meta * w, (c.meta + 1) * w), slot * w);
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: this.arena, offset: slot * w * 4, size: w * 4 } },
    ];
    c.ids.forEach((id, k) => {
      if (id === NONE) return entries.push({ binding: k + 1, resource: { buffer: this.dummy } });
      const b = this.get(id);
      // Bind the logical size, not the (larger) size class, so binding limits apply to real data;
      // a buffer over one binding is bound at the sub-range the dispatch covers.
      const [offset, size] = c.ranges?.[k] ?? [0, Math.max(4, b.bytes)];
      entries.push({ binding: k + 1, resource: { buffer: b.buf, offset, size } });
    });
    const dev = this.d.device;
    const group = dev.createBindGroup({ layout: this.pipes.layout(c.kind).group, entries });
    if (!this.pass) this.pass = this.encoder().beginComputePass();
    this.pass.setPipeline(this.pipes.get(c.kind, c.key, c.wgsl));
    this.pass.setBindGroup(0, group);
    this.pass.dispatchWorkgroups(c.groups[0], c.groups[1]);
  }

  private submit(): void {
    if (!this.enc) return;
    this.pass?.end();
    this.pass = null;
    const q = this.d.device.queue;
    // Queue writes land before this submit's work and after every earlier submit's.
    if (this.metaCount) q.writeBuffer(this.arena, 0, this.metaHost, 0, this.metaCount * META_WORDS);
    q.submit([this.enc.finish()]);
    this.enc = null;
    this.metaCount = 0;
    for (const b of this.pending) this.pool.give(b);
    this.pending = [];
  }

  private read(
    id: number, done: (data: Float32Array<ArrayBuffer>, stats: PoolStats) => void,
  ): Promise<void> | void {
    const { buf, bytes } = this.get(id);
    if (bytes > PIECE) return this.readPieces(buf, bytes).then((d) => done(d, this.stats()));
    const st = this.staging.take(bytes);
    this.encoder().copyBufferToBuffer(buf, 0, st, 0, bytes);
    this.submit();
    st.mapAsync(GPUMapMode.READ, 0, bytes).then(
      () => {
        const data = new Float32Array(st.getMappedRange(0, bytes).slice(0));
        st.unmap();
        this.staging.give(st);
        done(data, this.stats());
      },
      (e: Error) => fatal(`WebGPU read failed: ${e.message}`),
    );
  }

  /** Copies a big buffer out through one staging buffer, a piece at a time. */
  private async readPieces(buf: GPUBuffer, bytes: number): Promise<Float32Array<ArrayBuffer>> {
    const out = new Float32Array(bytes / 4);
    const st = this.staging.take(PIECE);
    for (let o = 0; o < bytes; o += PIECE) {
      const n = Math.min(PIECE, bytes - o);
      this.encoder().copyBufferToBuffer(buf, o, st, 0, n);
      this.submit();
      await st.mapAsync(GPUMapMode.READ, 0, n);
      out.set(new Float32Array(st.getMappedRange(0, n)), o / 4);
      st.unmap();
    }
    this.staging.give(st);
    return out;
  }
}

async function start(): Promise<void> {
  let dawn: Dawn;
  try {
    dawn = await openDawn(fatal);
  } catch (e) {
    fatal((e as Error).message);
    closing = true;
    return;
  }
  const ex = new Executor(dawn);
  main.on("message", (b: Batch) => {
    if (Atomics.load(ctrl, CTRL_DEAD) !== 0) return;
    try {
      ex.exec(b);
    } catch (e) {
      fatal(`WebGPU worker: ${(e as Error).stack ?? String(e)}`);
    }
  });
  post(main, { type: "ready", adapter: dawn.adapterName, limits: dawn.limits });
}
void start();
