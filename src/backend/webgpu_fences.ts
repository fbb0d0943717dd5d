// The worker's submitted batches still running on the GPU. A loop that never reads once recorded far
// ahead of the GPU and piled its command buffers into Dawn's queue (lavapipe: +150 MB over 16 000
// SGD steps, and a first read 6 s later). Every GPU_AHEAD batches with no read between, a batch's
// submit gets a fence, and the executor waits for the one before (so at most 2 * GPU_AHEAD are in
// flight). Only then: while a Dawn promise is pending, its bindings poll the worker's event loop,
// which cost W4 a quarter more on lavapipe's two cores when every batch had a fence.
import { CTRL_MAPS } from "./webgpu_protocol.js";

/** Batches submitted with no read between them per fence. */
export const GPU_AHEAD = 8;

export class Fences {
  private since = 0;
  private last: { done: boolean; p: Promise<void> } | null = null;
  constructor(private readonly queue: GPUQueue, private readonly ctrl: Int32Array) {}

  /** A read's copy came back: everything submitted before it is done. */
  read(): void { this.since = 0; }

  /** After a batch's submit: the fence to wait for when too many are in flight, else undefined. */
  after(): Promise<void> | undefined {
    if (++this.since % GPU_AHEAD !== 0) return undefined;
    const ctrl = this.ctrl, f = { done: false, p: Promise.resolve() }, prev = this.last;
    const settle = (): void => void ((f.done = true), Atomics.sub(ctrl, CTRL_MAPS, 1), Atomics.notify(ctrl, CTRL_MAPS));
    Atomics.add(ctrl, CTRL_MAPS, 1); // a pending Dawn promise: the process waits for it as it exits (startWorker)
    f.p = this.queue.onSubmittedWorkDone().then(settle, settle);
    this.last = f;
    return prev && !prev.done ? prev.p : undefined;
  }
}
