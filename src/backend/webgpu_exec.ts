// The WebGPU executor: owns every Dawn object, in the worker (webgpu_worker.ts) or, for a device
// opened with { thread: "main" }, on the main thread (InThread, webgpu_spawn.ts). It runs batches of
// commands, encoding many dispatches into one compute pass and submitting at reads or when the meta
// arena is full; it answers reads async to `main`, sync on a port plus an Atomics word, copying big
// ones out in pieces (a read past 64 MiB pauses the commands behind it). Dawn errors are reported
// naming the kernel (the next call throws them); device loss and crashes are fatal.
import type { MessagePort } from "node:worker_threads";
import { closeDawn, type Dawn, linger, openDawn, shadersFor } from "./dawn.js";
import { Pipelines } from "./webgpu_pipelines.js";
import { Fences } from "./webgpu_fences.js";
import { collect, creatingBytes, DevicePools, Freed, prefaulted } from "./webgpu_pool.js";
import {
  type Batch, type Cmd, CTRL_BUSY, CTRL_DEAD, CTRL_DONE, CTRL_ERR, CTRL_MAPS, CTRL_SEQ, type Main, META_WORDS, mib, type PoolStats,
  type Reply, type WorkerInit,
} from "./webgpu_protocol.js";

/** Dispatches per submit: the meta arena holds one meta block for each. */
const META_CAP = 1024;
/** A read past GRADWISE_WEBGPU_READ_SPLIT_MB goes in up to WINDOW pieces in flight, of at most PIECE bytes. */
const WINDOW = 4, PIECE = 16 * 2 ** 20;
/** Meta slots mirrored on the host (a loop of a few dispatches per read rewrites the same blocks). */
const SENT = 4;

/** Starts serving `main`: opens Dawn, then answers "ready" (or "fatal"). */
export function serve(
  init: WorkerInit, main: Main, port: MessagePort, inWorker: boolean,
): { fatal(message: string): void; closing(): boolean } {
  const ctrl = new Int32Array(init.ctrl);
  const who = inWorker ? "WebGPU worker" : 'WebGPU executor ({ thread: "main" })'; // for internal errors
  let closing = false;
  let dawn: Dawn | null = null;

  function post(to: Main | MessagePort, r: Reply, transfer: ArrayBuffer[] = []): void {
    to.postMessage(r, transfer);
    if (inWorker) linger();
  }
  /** Marks the executor dead for both a blocked readSync (Atomics) and async listeners. */
  function fatal(message: string): void {
    if (Atomics.load(ctrl, CTRL_DEAD) !== 0) return;
    post(port, { type: "fatal", message });
    post(main, { type: "fatal", message });
    Atomics.store(ctrl, CTRL_DEAD, 1);
    Atomics.notify(ctrl, CTRL_SEQ);
    leave();
  }
  /** Runs f inside Dawn's calls: CTRL_BUSY is 1 meanwhile (the process waits for 0 as it exits). */
  function busy(f: () => void): void {
    Atomics.store(ctrl, CTRL_BUSY, 1);
    try { f(); } finally { Atomics.store(ctrl, CTRL_BUSY, 0), Atomics.notify(ctrl, CTRL_BUSY); }
  }
  /** Ends without process.exit: the device goes, and with it every pending promise. */
  function leave(): void {
    if (dawn) closeDawn(dawn);
    main.unref();
  }
  /** Answers a sync request: the reply goes first, then the word the main thread waits on. */
  function answer(seq: number, data: Float32Array<ArrayBuffer>, stats: PoolStats): void {
    post(port, { type: "sync", seq, data, stats }, [data.buffer]);
    Atomics.store(ctrl, CTRL_SEQ, seq);
    Atomics.notify(ctrl, CTRL_SEQ);
  }
  /** A non-fatal error (Dawn's): the main thread's next call throws it. */
  function report(message: string): void {
    post(port, { type: "error", message });
    Atomics.add(ctrl, CTRL_ERR, 1);
  }

  class Executor {
    private bufs = new Map<number, { buf: GPUBuffer; bytes: number }>();
    private pools: DevicePools;
    /** Buffers freed while the open encoder may still use them: pooled after its submit. */
    private pending = new Freed();
    private enc: GPUCommandEncoder | null = null;
    private pass: GPUComputePassEncoder | null = null;
    private metaHost = new Uint32Array(META_CAP * META_WORDS);
    private metaCount = 0;
    /** The arena's first SENT slots as last written: a submit whose blocks match skips its write. */
    private sent = new Uint32Array(SENT * META_WORDS);
    private sentCount = 0;
    private arena: GPUBuffer;
    private pipes: Pipelines;
    /** A gc() for the worker's own heap on request, for the GC regression test only. */
    private gc: (() => unknown) | null = init.exposeGc ? () => collect() : null;
    /** Batches not run yet, the first from command `at`; `paused` while a big read copies. */
    private backlog: Batch[] = [];
    private at = 0;
    private paused = false;
    private fences: Fences | null;
    /** The command running, the kernels its batch ran, and whether Dawn has complained in it. */
    private cur: Cmd | null = null;
    private keys = new Set<string>();
    private failed = false;
    private split = mib("GRADWISE_WEBGPU_READ_SPLIT_MB", 64); // 1 made W1 at 1e6 10% slower on lavapipe; a GPU is untried

    constructor(private readonly d: Dawn) {
      const dev = d.device;
      this.pools = new DevicePools(dev, d.limits.maxBufferSize, init);
      this.fences = inWorker ? new Fences(dev.queue, ctrl) : null;
      const uniform = GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST;
      this.arena = dev.createBuffer({ size: this.metaHost.byteLength, usage: uniform });
      const dummy = dev.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
      // WGSL errors also reach onError, inside createShaderModule.
      this.pipes = new Pipelines(dev, shadersFor(d, init.shaders), this.arena, dummy, () => collect(!inWorker));
    }

    exec(b: Batch): void {
      // Ending (a shutdown, or the process exiting: startWorker's wake): queued work is moot; the device
      // goes (its reads reject; its fences settle once the GPU has run what was submitted before them).
      if (b.cmds[0]?.op === "shutdown" || Atomics.load(ctrl, CTRL_DEAD) !== 0) return this.end();
      this.backlog.push(b);
      if (!this.paused) this.drain();
    }
    private end(): void { (this.backlog = []), (closing = true), busy(leave); }
    private drain(): void { busy(() => this.drainBatches()); }
    private drainBatches(): void {
      for (let b = this.backlog[0]; b && Atomics.load(ctrl, CTRL_DEAD) === 0; b = this.backlog[0]) {
        if (this.at === 0) (this.keys = new Set()), (this.failed = false);
        while (this.at < b.cmds.length && Atomics.load(ctrl, CTRL_DEAD) === 0) {
          let wait = this.one((this.cur = b.cmds[this.at++] as Cmd), b.meta);
          if (this.pipes.rest) (this.pipes.rest = false), this.submit(), (wait ??= new Promise((r) => setImmediate(r)));
          if (wait) return this.pause(wait);
        }
        this.backlog.shift();
        this.at = 0;
        this.submit(), Atomics.add(ctrl, CTRL_DONE, 1), Atomics.notify(ctrl, CTRL_DONE);
        const behind = this.fences?.after(); // the worker's: the main thread cannot wait
        if (behind) return this.pause(behind);
      }
    }
    private pause(wait: Promise<unknown>): void {
      this.paused = true;
      wait.then(() => ((this.paused = false), this.drain())).catch((e: Error) => fatal(`${who}: ${e.stack ?? String(e)}`));
    }

    /**
     * A Dawn error, raised inside the call that failed. Only a batch's first is reported: the rest
     * follow from it (an invalid pipeline, then the pass using it, then the command buffer).
     */
    onError(e: GPUError): void {
      if (this.failed || closing) return;
      this.failed = true;
      const what = `${e.constructor.name}: ${e.message.trim()}`;
      const bytes = creatingBytes();
      const oom = bytes > 0 && e.constructor.name === "GPUOutOfMemoryError";
      if (oom) return report(this.pools.oom(bytes, what));
      // Dawn quotes the labels of the objects involved; shader modules and bind groups carry keys.
      const c = this.cur;
      const named = c?.op === "run" ? c.key : [...this.keys].find((k) => what.includes(`"${k}"`));
      report(`webgpu: Dawn error in ${named ? `kernel ${named}` : `a ${c?.op} command`}: ${what}`);
    }

    /** Runs one command; a Promise means: run nothing else until it settles. */
    private one(c: Cmd, meta: Uint32Array): Promise<void> | void {
      const dev = this.d.device;
      switch (c.op) {
        case "alloc":
          this.bufs.set(c.id, { buf: this.pending.take(this.pools.storage, c.bytes), bytes: c.bytes });
          return;
        case "upload": {
          const buf = this.pools.storage.take(c.data.byteLength);
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
          // encoder's uses make the buffer wait for the next submit (or a kernel's output: Freed).
          return void (this.enc ? this.pending.push(buf) : this.pools.storage.give(buf));
        }
        case "read":
          return this.read(c.id, (data, stats) => post(main, { type: "read", req: c.req, data, stats }, [data.buffer]));
        case "readSync":
          return this.read(c.id, (data, stats) => answer(c.seq, data, stats));
        case "trim":
          this.submit();
          this.pools.trim();
          return answer(c.seq, new Float32Array(0), this.pools.stats());
        case "debug":
          if (c.fault === "destroy") dev.destroy();
          if (c.fault === "exit") fatal("WebGPU worker exited: debugFault('exit')");
          if (c.fault === "throw") setImmediate(() => { throw new Error("crash requested by debugFault()"); });
          return;
        case "gc":
          return void this.gc?.();
      }
    }

    private getter = (id: number): { buf: GPUBuffer; bytes: number } => this.get(id);
    private get(id: number): { buf: GPUBuffer; bytes: number } {
      const b = this.bufs.get(id);
      if (!b) throw new Error(`${who}: unknown buffer id ${id}`);
      return b;
    }

    private encoder(): GPUCommandEncoder {
      this.pass?.end();
      this.pass = null;
      return (this.enc ??= this.d.device.createCommandEncoder());
    }

    private run(c: Extract<Cmd, { op: "run" }>, meta: Uint32Array): void {
      if (this.metaCount === META_CAP) this.submit();
      const slot = this.metaCount++, w = META_WORDS;
      this.metaHost.set(meta.subarray(c.meta * w, (c.meta + 1) * w), slot * w);
      this.keys.add(c.key);
      const group = this.pipes.group(c.kind, c.key, slot * w * 4, c.ids, c.ranges, this.getter);
      if (!this.pass) this.pass = this.encoder().beginComputePass();
      this.pass.setPipeline(this.pipes.get(c.kind, c.key, c.ids.length, c.wgsl));
      this.pass.setBindGroup(0, group);
      this.pass.dispatchWorkgroups(c.groups[0], c.groups[1]);
    }

    private submit(): void {
      if (!this.enc) return;
      this.pass?.end();
      this.pass = null;
      const q = this.d.device.queue;
      // Queue writes land before this submit's work and after every earlier submit's.
      const words = this.metaCount * META_WORDS, sent = this.sent;
      let same = this.metaCount <= this.sentCount;
      for (let i = 0; same && i < words; i++) same = this.metaHost[i] === sent[i];
      if (words && !same) {
        q.writeBuffer(this.arena, 0, this.metaHost, 0, words);
        this.sentCount = Math.min(this.metaCount, SENT);
        sent.set(this.metaHost.subarray(0, this.sentCount * META_WORDS));
      }
      q.submit([this.enc.finish()]);
      this.enc = null;
      this.metaCount = 0;
      this.pending.drain((b) => this.pools.storage.give(b));
      this.pools.expire();
    }

    /**
     * Copies a buffer out through staging buffers, past `split` bytes in pieces, each its own copy and
     * submit: the copy out of one mapping overlaps the transfer of the next. Up to WINDOW are in
     * flight; a read of more pieces pauses the commands behind it until it is done.
     */
    private read(
      id: number, done: (data: Float32Array<ArrayBuffer>, stats: PoolStats) => void,
    ): Promise<void> | void {
      const { buf, bytes } = this.get(id);
      const one = bytes <= this.split, size = one ? bytes : Math.min(PIECE, Math.ceil(bytes / WINDOW / 256) * 256);
      const count = one ? 1 : Math.ceil(bytes / size);
      let next = 0, left = count, finish = (): void => {}, data = new Float32Array(0);
      const issue = (): void => {
        const o = next++ * size, n = Math.min(size, bytes - o);
        const st = this.pools.staging.take(n);
        this.encoder().copyBufferToBuffer(buf, o, st, 0, n);
        this.submit();
        const settled = (): void => void (Atomics.sub(ctrl, CTRL_MAPS, 1), Atomics.notify(ctrl, CTRL_MAPS));
        Atomics.add(ctrl, CTRL_MAPS, 1); // the process waits for it as it exits (startWorker)
        st.mapAsync(GPUMapMode.READ, 0, n).then(
          () => {
            try { // Dawn's calls first: the process ends this thread once none is pending
              data.set(new Float32Array(st.getMappedRange(0, n)), o / 4), this.fences?.read();
              st.unmap();
              this.pools.giveStaging(st);
              if (next < count && Atomics.load(ctrl, CTRL_DEAD) === 0) issue();
            } finally { settled(); }
            if (--left === 0) done(data, this.pools.stats()), finish();
          },
          (e: Error) => { try { fatal(`WebGPU read failed: ${e.message}`); } finally { settled(); } },
        );
      };
      while (next < Math.min(count, WINDOW)) issue();
      data = prefaulted(bytes / 4); // its page faults while the copies run (mappings resolve later)
      if (count > WINDOW) return new Promise((r) => (finish = r));
    }
  }

  async function start(): Promise<void> {
    let ex: Executor | null = null;
    const opened = openDawn((lost) => closing || fatal(lost), (e) => ex?.onError(e), init.shaders["div_probe.wgsl"]);
    dawn = await opened.catch((e: Error) => (fatal(e.message), null));
    if (!dawn) return;
    ex = new Executor(dawn);
    main.on("message", (b: Batch) => {
      if (inWorker) linger();
      try { ex.exec(b); } catch (e) { fatal(`${who}: ${(e as Error).stack ?? String(e)}`); }
    });
    post(main, { type: "ready", adapter: dawn.adapterName, limits: dawn.limits });
  }
  void start();
  return { fatal, closing: () => closing };
}
