// The device abstraction: what a backend must do with buffers and kernels. It knows nothing of
// tensors or graphs; cpu.ts and webgpu.ts implement exactly this, and a registry holds the devices.
import type { E, Leaf } from "../ops/expr.js";

export type Shape = readonly number[];

/** An opaque device buffer of `size` float32 elements. */
export interface Buf {
  readonly size: number;
  /** Its holders (storages, pending recipes), counted by ops/lazy.ts; a backend creates it at 0. */
  holders: number;
}

/** A buffer read through strides (in elements; 0 broadcasts a dimension) at an output shape. */
export interface Strided {
  buf: Buf;
  strides: readonly number[];
}

/** An elementwise kernel: `expr` over leaves read from buffers (`inputs`) or uniforms (`consts`). */
export interface Kernel {
  /** Identifies expr + binding pattern; backends cache compiled code by it. */
  key: string;
  expr: E;
  inputs: readonly Leaf[];
  consts: readonly Leaf[];
}

export type ReduceOp = "sum" | "max" | "min";

/** Elements computed on the fly by a kernel (a fused producer), instead of read from a buffer. */
export interface MapSource {
  kernel: Kernel;
  inputs: readonly Strided[];
  consts: readonly number[];
}

export interface MemoryStats {
  allocatedBytes: number;
  inUseBytes: number;
  pooledBytes: number;
}

export interface Backend {
  readonly name: string;
  upload(data: Float32Array): Buf;
  /** Throws the device's out-of-memory error if `elements` floats cannot be allocated (in one
   * buffer; `budget`: also under the memory limit now): creation functions check before they build
   * values on the host, every op before it records its result. */
  checkAlloc?(elements: number, budget?: boolean): void;
  /** Resolves with a copy of the buffer's contents; `release`: the caller gives the buffer up
   * (freed, or its memory handed over as the result). */
  read(buf: Buf, release?: boolean): Promise<Float32Array>;
  /** Blocks until the buffer's contents are available; `release` as read's. */
  readSync(buf: Buf, release?: boolean): Float32Array;
  /** out[i] = expr(inputs at i), i over outShape (contiguous). Writes into `into` when given. */
  map(k: Kernel, inputs: readonly Strided[], consts: readonly number[], outShape: Shape, into?: Buf): Buf;
  /** Reduces a contiguous `shape` over `axes`; the result is contiguous without those axes. */
  reduce(op: ReduceOp, input: Buf, shape: Shape, axes: readonly number[]): Buf;
  /** reduce() over the elements a kernel computes at `shape`, without materializing them. */
  mapReduce?(op: ReduceOp, src: MapSource, shape: Shape, axes: readonly number[]): Buf;
  /** max/min along one axis with the index of the first extreme (NaN wins), indices as floats. */
  argReduce(op: "max" | "min", input: Buf, shape: Shape, axis: number): [values: Buf, indices: Buf];
  /** 1 where the position along `axis` of `outShape` equals `indices` (shape without axis), else 0. */
  oneHot(indices: Buf, outShape: Shape, axis: number): Buf;
  free(buf: Buf): void;
  memory(): MemoryStats;
  /** True where readSync cannot block (webgpu opened with { thread: "main" }). */
  readonly asyncReadsOnly?: boolean;
  /** Elements from which a heavy call (exp, tanh, ...) costs more than a pass over memory and a launch:
   * fusion computes a value saved for backward that makes one once, into its storage (Storage.saved).
   * The CPU only, whose buffers the garbage collector frees: WebGPU's wait for explicit frees, and dropped
   * tensors' pending recipes reading such a value would hold it until the event loop turns (lavapipe 0.49x
   * on ab.ts ACT at 1e5, but a loop never awaiting kept a buffer per step: test/sync_memory.test.ts). */
  readonly computeOnce?: number;
  /** Throws if the device can no longer run work (lost, crashed, shut down). */
  check?(): void;
}

/** Contiguous strides of a shape, with 0 for dimensions broadcast from size 1. */
export function contiguousStrides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = shape[i] ?? 1;
    s[i] = d === 1 ? 0 : acc;
    acc *= d;
  }
  return s;
}

export const numelOf = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);
