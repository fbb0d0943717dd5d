// The worker's submitted batches still running on the GPU. A loop that never reads once recorded far
// ahead of the GPU and piled its command buffers into Dawn's queue (lavapipe: +150 MB over 16 000
// SGD steps, and a first read 6 s later): each batch's submit gets a fence, and past GPU_AHEAD
// fences not yet reached the executor waits for the oldest (the main thread then waits on it).
import { CTRL_MAPS } from "./webgpu_protocol.js";

/** Batches submitted and not yet done on the GPU past which the executor waits. */
export const GPU_AHEAD = 8;

export class Fences {
  private open: { done: boolean; p: Promise<void> }[] = [];
  constructor(private readonly queue: GPUQueue, private readonly ctrl: Int32Array) {}

  /** After a batch's submit: the fence to wait for when too many are in flight, else undefined. */
  after(): Promise<void> | undefined {
    const ctrl = this.ctrl, f = { done: false, p: Promise.resolve() };
    const settle = (): void => void ((f.done = true), Atomics.sub(ctrl, CTRL_MAPS, 1), Atomics.notify(ctrl, CTRL_MAPS));
    Atomics.add(ctrl, CTRL_MAPS, 1); // a pending Dawn promise: the process waits for it as it exits (startWorker)
    f.p = this.queue.onSubmittedWorkDone().then(settle, settle);
    this.open.push(f);
    while (this.open[0]?.done) this.open.shift();
    return this.open.length > GPU_AHEAD ? this.open[0]?.p : undefined;
  }
}
