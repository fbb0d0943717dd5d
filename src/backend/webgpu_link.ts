// The main thread's link to the WebGPU worker: commands, their meta blocks and transferable data
// go out as one message per batch; reads come back async (a reply) or sync (Atomics.wait on a
// shared word, then receiveMessageOnPort). A dead worker (lost device, crash, shutdown) becomes an
// Error on every later call and rejects pending reads; a Dawn error becomes one on the next call.
// The executor may also run on this thread (InThread, webgpu_spawn.ts): then nothing can block
// for a read, and readSync throws.
import { type MessagePort, receiveMessageOnPort } from "node:worker_threads";
import { type Batch, type Cmd, CTRL_DEAD, CTRL_DONE, CTRL_ERR, CTRL_MAPS, CTRL_SEQ } from "./webgpu_protocol.js";
import { META_WORDS, mib, type PoolStats, type Reply } from "./webgpu_protocol.js";

/** Commands queued before a batch is posted without waiting for the next turn of the event loop. */
const MAX_QUEUED = 512;
/** Batches posted and not yet run past which flush() waits for the worker (as PyTorch's CUDA launch
 * queue blocks): a loop that never read queued without bound (16 000 SGD steps: +180 MB, a first
 * read 5.7 s later on lavapipe). */
export const MAX_AHEAD = 32;
export const SYNC_TIMEOUT_MS = Number(process.env.GRADWISE_WEBGPU_TIMEOUT_MS || 120_000);
if (!(SYNC_TIMEOUT_MS > 0)) // NaN waited for ever
  throw new RangeError(`GRADWISE_WEBGPU_TIMEOUT_MS must be a number of ms > 0, but is '${process.env.GRADWISE_WEBGPU_TIMEOUT_MS}'`);
type Pending = { resolve: (d: Float32Array) => void; reject: (e: Error) => void };
type Sync = Extract<Reply, { type: "sync" }>;
const SHUT_DOWN = 'webgpu device was shut down; open a new one with requestDevice("webgpu")';
const NO_SYNC =
  'the webgpu device opened with { thread: "main" } reads only asynchronously: use ' +
  "'await t.data()' or 'await t.format()' (dataSync(), item(), tolist() and printing block)";

/** The worker as the link uses it: a Worker, or InThread (the executor on this thread). */
export interface Peer {
  postMessage(b: Batch, transfer: ArrayBuffer[]): void;
  on(event: "message", f: (r: Reply) => void): unknown;
  on(event: "error", f: (e: Error) => void): unknown;
  on(event: "exit", f: (code: number) => void): unknown;
  once(event: "exit", f: () => void): unknown;
  ref(): void;
  unref(): void;
  terminate(): unknown;
  /** True for InThread. */
  readonly inThread?: boolean;
}

export class WorkerLink {
  private cmds: Cmd[] = [];
  private metas: Uint32Array[] = [];
  private transfer: ArrayBuffer[] = [];
  private timer: ReturnType<typeof setImmediate> | null = null;
  /**
   * Bytes bound by the queued dispatches, and the amount that posts them at once (GRADWISE_WEBGPU_FLUSH_MB,
   * read when a device opens): the executor submits each batch, so a loop of big kernels runs on the
   * GPU while this thread records the next instead of after the whole loop has been recorded.
   */
  private work = 0;
  private readonly flushBytes = mib("GRADWISE_WEBGPU_FLUSH_MB", 128);
  /** Batches posted so far (tests check that big work goes early). */
  batches = 0;
  private reads = new Map<number, Pending>();
  private nextReq = 1;
  private seq = 0;
  private death: string | null = null;
  private closing = false;
  private exited = false;
  private ctrl: Int32Array;
  /** Dawn errors reported since the last call (thrown by the next), and ctrl[CTRL_ERR] as seen. */
  private errors: string[] = [];
  private errSeen = 0;
  private synced: Sync | null = null;
  /** The worker's memory as of its last reply. */
  stats: PoolStats = { allocatedBytes: 0, pooledBytes: 0 };

  constructor(
    private readonly worker: Peer,
    private readonly port: MessagePort,
    ctrl: SharedArrayBuffer,
  ) {
    this.ctrl = new Int32Array(ctrl);
    worker.on("message", (r: Reply) => this.onReply(r));
    worker.on("error", (e) => this.die(`WebGPU worker failed: ${e.message}`));
    worker.on("exit", (code) => {
      this.exited = true;
      this.drain(); // its last words
      this.die(`WebGPU worker exited (code ${code})`);
    });
    // Only a pending async read keeps the process alive.
    worker.unref();
  }

  get inThread(): boolean { return this.worker.inThread === true; }

  get dead(): boolean {
    return this.death !== null || Atomics.load(this.ctrl, CTRL_DEAD) !== 0;
  }

  /** Queues a command; `transfer` moves its data to the worker without a copy; `bound`: a dispatch's bytes. */
  push(c: Cmd, transfer?: ArrayBuffer, bound = 0): void {
    // An upload creates its buffer itself, so the alloc queued just before it is dropped.
    if (c.op === "upload") {
      const last = this.cmds[this.cmds.length - 1];
      if (last?.op === "alloc" && last.id === c.id) this.cmds.pop();
    }
    this.cmds.push(c);
    if (transfer) this.transfer.push(transfer);
    const full = this.cmds.length >= MAX_QUEUED || (bound > 0 && (this.work += bound) >= this.flushBytes);
    if (full && c.op !== "alloc") this.flush(); // an upload may follow and drop it: posted alone, both made a buffer
    else if (!this.timer) {
      // Unref'd: queued commands alone must not keep the process alive.
      this.timer = setImmediate(() => this.flush());
      this.timer.unref();
    }
  }

  /** Adds a dispatch's meta block; returns its index within the batch. */
  meta(block: Uint32Array): number {
    this.metas.push(block);
    return this.metas.length - 1;
  }

  /** Posts everything queued as one batch. */
  flush(force = false): void {
    if (this.timer) clearImmediate(this.timer);
    this.timer = null;
    this.work = 0;
    if (this.cmds.length === 0 || (this.dead && !force)) return;
    // One block (a read per dispatch) goes as it is: planners hand each dispatch a fresh one.
    const one = this.metas.length === 1 && (this.metas[0] as Uint32Array).buffer.byteLength === META_WORDS * 4;
    const meta = (one ? this.metas[0] : new Uint32Array(this.metas.length * META_WORDS)) as Uint32Array<ArrayBuffer>;
    if (!one) this.metas.forEach((m, i) => meta.set(m, i * META_WORDS));
    const batch: Batch = { cmds: this.cmds, meta }, transfer = [...this.transfer, meta.buffer];
    this.cmds = [];
    this.metas = [];
    this.transfer = [];
    this.batches++;
    this.worker.postMessage(batch, transfer); // InThread runs it now
    if (!this.inThread) this.throttle();
  }

  /** Waits while the worker is more than MAX_AHEAD batches behind (or until it dies, or the timeout). */
  private throttle(): void {
    for (let done, seen = -1, deadline = 0; this.batches - (done = Atomics.load(this.ctrl, CTRL_DONE)) > MAX_AHEAD && !this.dead;) {
      if (done !== seen) (seen = done), (deadline = Date.now() + SYNC_TIMEOUT_MS);
      else if (Date.now() > deadline) return this.die(`the WebGPU worker ran no batch within ${SYNC_TIMEOUT_MS} ms`), void this.shutdown();
      Atomics.wait(this.ctrl, CTRL_DONE, done, 50);
    }
  }
  /** Batches posted and not yet run, and the worker's Dawn promises pending (tests). */
  get ahead(): number { return this.batches - Atomics.load(this.ctrl, CTRL_DONE); }
  get dawnPending(): number { return Atomics.load(this.ctrl, CTRL_MAPS); }

  /** `free`: the buffer is freed in the same batch, after its copy out (no second batch for it). */
  read(id: number, free = false): Promise<Float32Array> {
    const req = this.nextReq++;
    const p = new Promise<Float32Array>((resolve, reject) => {
      this.reads.set(req, { resolve, reject });
    });
    this.push({ op: "read", id, req });
    if (free) this.push({ op: "free", id });
    this.flush();
    this.worker.ref();
    p.catch(() => {}); // handled: a read rejected by shutdown() before its caller awaits it would end the process
    return p;
  }

  readSync(id: number, free = false): Float32Array {
    if (this.worker.inThread) throw new Error(NO_SYNC);
    return this.call({ op: "readSync", id, seq: ++this.seq }, free ? { op: "free", id } : undefined);
  }

  /** Destroys every buffer pooled in the worker; `stats` are current afterwards. */
  trim(): void {
    this.call({ op: "trim", seq: ++this.seq });
  }

  /** Sends `c` (then `after`, in the same batch) and blocks until the worker answers it (or dies,
   * or the timeout passes). */
  private call(c: Extract<Cmd, { seq: number }>, after?: Cmd): Float32Array {
    const seq = c.seq;
    this.push(c);
    if (after) this.push(after);
    this.flush();
    // In-thread, a trim is answered within flush(); behind a paused big read it is not, and the
    // caller's budget check goes on without it (the trim runs after the read).
    if (this.worker.inThread && Atomics.load(this.ctrl, CTRL_SEQ) !== seq) return (this.check(), new Float32Array(0));
    const deadline = Date.now() + SYNC_TIMEOUT_MS;
    // Wait in short slices: a dead worker raises a flag rather than answering.
    while (Atomics.load(this.ctrl, CTRL_SEQ) !== seq) {
      this.check();
      if (Date.now() > deadline) {
        this.die(`readSync got no answer within ${SYNC_TIMEOUT_MS} ms`);
        void this.shutdown(); // the worker ends once its work is done, not with the process
        throw new Error(this.death as string);
      }
      Atomics.wait(this.ctrl, CTRL_SEQ, seq - 1, 50);
    }
    this.drain();
    this.check();
    const r = this.synced;
    this.synced = null;
    if (r?.seq !== seq) return this.fail("readSync: the worker signalled but sent no data");
    this.stats = r.stats;
    return r.data;
  }

  /** Throws if the worker is gone (with its own reason), or the error Dawn reported since. */
  check(): void {
    const dead = this.death === null && Atomics.load(this.ctrl, CTRL_DEAD) !== 0;
    if (dead || Atomics.load(this.ctrl, CTRL_ERR) !== this.errSeen) this.drain();
    if (dead) this.die("the WebGPU worker stopped");
    if (this.death !== null) throw new Error(this.death);
    const e = this.takeError();
    if (e) throw e;
  }

  /**
   * Destroys the device and waits for the worker to end (a dead one ends by itself). Later calls
   * throw, pending reads reject.
   */
  async shutdown(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.drain();
    // A worker that is gone ends by itself; one given up on (a timed-out read) is told to end (it drops
    // its queue): at exit, a thread with a Dawn promise pending aborts the process.
    if (!this.exited && Atomics.load(this.ctrl, CTRL_DEAD) === 0) {
      [this.cmds, this.metas, this.transfer] = [[{ op: "shutdown" }], [], []];
      this.flush(true);
    }
    this.die(SHUT_DOWN);
    if (this.exited) return;
    const exited = new Promise<void>((res) => this.worker.once("exit", () => res()));
    this.worker.ref();
    // Terminating it with a Dawn promise pending (a fence over queued GPU work) would abort the process:
    // only as a last resort, after 10 s once none is, else after the timeout.
    const since = Date.now(), timer = setInterval(() => {
      const waited = Date.now() - since, none = Atomics.load(this.ctrl, CTRL_MAPS) === 0;
      if (waited >= 10_000 && (none || waited > SYNC_TIMEOUT_MS)) void this.worker.terminate();
    }, 500);
    await exited;
    clearInterval(timer);
  }

  private onReply(r: Reply): void {
    if (r.type === "fatal") return this.die(r.message);
    if (r.type !== "read") return;
    this.stats = r.stats;
    const p = this.reads.get(r.req);
    this.reads.delete(r.req);
    if (Atomics.load(this.ctrl, CTRL_ERR) !== this.errSeen) this.drain();
    const e = this.takeError();
    if (e) p?.reject(e);
    else p?.resolve(r.data);
    if (this.reads.size === 0) this.worker.unref();
  }

  /** Takes what the worker sent on the sync port: its fatal reason, errors, a sync answer. */
  private drain(): void {
    this.errSeen = Atomics.load(this.ctrl, CTRL_ERR);
    for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) {
      const r = m.message as Reply;
      if (r.type === "fatal") this.die(r.message);
      else if (r.type === "error") this.errors.push(r.message);
      else if (r.type === "sync") this.synced = r;
    }
  }

  private takeError(): Error | null {
    if (this.errors.length === 0) return null;
    const e = new Error(this.errors.join("\n"));
    this.errors = [];
    return e;
  }

  /** Rejects pending reads; later calls throw `message` (the first reason given wins). */
  private die(message: string): void {
    this.death ??= message;
    for (const p of this.reads.values()) p.reject(new Error(this.death));
    this.reads.clear();
    this.worker.unref();
  }

  private fail(message: string): never {
    this.die(message);
    throw new Error(message);
  }
}
