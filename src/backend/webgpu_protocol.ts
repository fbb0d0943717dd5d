// Messages between WebGpuBackend (main thread) and webgpu_exec.ts, which owns every Dawn object.
// The main thread names buffers with its own integer ids, so creating one needs no round trip.

/** Shader kinds; binding 0 is always the meta uniform, then a kernel binds the first storage
 * bindings of its kind that it needs (a map: its output and inputs). */
export type Kind = "map" | "vmap" | "mapreduce" | "reduce" | "arg" | "onehot";

/** Storage bindings after the meta uniform, in order: "rw" read_write, "r" read-only. */
export const LAYOUTS: Record<Kind, readonly ("rw" | "r")[]> = {
  map: ["rw", "r", "r", "r", "r", "r", "r"],
  vmap: ["rw", "r", "r", "r", "r", "r", "r"],
  mapreduce: ["rw", "r", "r", "r", "r", "r", "r"],
  reduce: ["rw", "r"],
  arg: ["rw", "rw", "r", "r"],
  onehot: ["rw", "r"],
};

/** Each kind's shader files, concatenated in order (common.wgsl first). */
export const SHADER_FILES: Record<Kind, readonly string[]> = {
  map: ["common.wgsl", "trig.wgsl", "map_inputs.wgsl", "elementwise.wgsl"],
  vmap: ["common.wgsl", "trig.wgsl", "elementwise_vec4.wgsl"],
  mapreduce: ["common.wgsl", "trig.wgsl", "tree.wgsl", "map_inputs.wgsl", "map_reduce.wgsl"],
  reduce: ["common.wgsl", "tree.wgsl", "reduce.wgsl"],
  arg: ["common.wgsl", "tree.wgsl", "arg_reduce.wgsl"],
  onehot: ["common.wgsl", "one_hot.wgsl"],
};

/** Words in one dispatch's meta block (512 bytes, a multiple of the uniform offset alignment). */
export const META_WORDS = 128;
/** Inputs and constants one map kernel can take (elementwise.wgsl's bindings and meta words). */
export const MAX_INPUTS = 6;
export const MAX_CONSTS = 16;
/** A pooled buffer not taken again within this long is destroyed at the next submit. */
export const IDLE_MS = 1000;
/** Threads per workgroup in every shader. */
export const WORKGROUP = 256;
/** Buffer id meaning "bind the worker's dummy buffer" (an unused input). */
export const NONE = -1;

export type Cmd =
  | { op: "alloc"; id: number; bytes: number }
  | { op: "upload"; id: number; data: Float32Array }
  /** A dispatch: `meta` indexes the batch's meta blocks; `wgsl` comes on a key's first use only. */
  | {
      op: "run";
      kind: Kind;
      key: string;
      wgsl?: string;
      ids: number[];
      /** Per binding (as ids): a [byte offset, byte length] sub-range, or null for the whole buffer. */
      ranges?: (Range | null)[];
      meta: number;
      groups: [number, number];
    }
  | { op: "copy"; src: number; dst: number; bytes: number }
  | { op: "free"; id: number }
  | { op: "read"; id: number; req: number }
  | { op: "readSync"; id: number; seq: number }
  | { op: "gc" }
  /** Destroys every pooled buffer, then answers like a readSync (with no data). */
  | { op: "trim"; seq: number }
  /** Test-only faults: destroy the device, throw an uncaught error, or exit the worker. */
  | { op: "debug"; fault: "destroy" | "throw" | "exit" }
  | { op: "shutdown" };

/** A bound sub-range of a buffer: [byte offset, byte length]. */
export type Range = readonly [offset: number, bytes: number];

export interface Batch {
  cmds: Cmd[];
  meta: Uint32Array;
}

export interface Limits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  maxComputeWorkgroupSizeX: number;
  maxStorageBuffersPerShaderStage: number;
  maxComputeWorkgroupsPerDimension: number;
  /** Byte alignment of a storage binding's offset (256 on most adapters). */
  minStorageBufferOffsetAlignment: number;
}

/** Worker-side memory, mirrored to the main thread on every reply. */
export interface PoolStats {
  allocatedBytes: number;
  pooledBytes: number;
}

/** Memory bounds of one backend, in bytes. */
export interface Budget {
  /** Live plus pooled buffers never exceed this (GRADWISE_WEBGPU_MEMORY_MB; default Infinity). */
  memoryLimitBytes: number;
  /** Freed buffers kept for reuse (GRADWISE_WEBGPU_POOL_MB; default 256 MiB). */
  poolBytes: number;
}

export interface WorkerInit extends Budget {
  /** Control words shared with the main thread: see CTRL_*. */
  ctrl: SharedArrayBuffer;
  /** Shader sources by file name, read by the main thread. */
  shaders: Record<string, string>;
  /** Whether the process has --expose-gc (Workers reject the flag; the worker turns it on). */
  exposeGc: boolean;
}

/**
 * ctrl[CTRL_SEQ]: the last readSync served; ctrl[CTRL_DEAD]: 1 once the worker cannot serve;
 * ctrl[CTRL_ERR]: counts "error" replies (Dawn errors the next call throws) sent on the sync port;
 * ctrl[CTRL_BUSY]: 1 while the worker runs commands (inside Dawn's calls); ctrl[CTRL_MAPS]: its
 * mapAsync() and onSubmittedWorkDone() calls not yet settled (a thread ended with one pending aborts the process);
 * ctrl[CTRL_DONE]: the batches it has run (the main thread waits when it is far ahead).
 */
export const CTRL_SEQ = 0;
export const CTRL_DEAD = 1;
export const CTRL_ERR = 2;
export const CTRL_BUSY = 3;
export const CTRL_MAPS = 4;
export const CTRL_DONE = 5;
export const CTRL_BYTES = 24;

export type Reply =
  | { type: "ready"; adapter: string; limits: Limits }
  | { type: "read"; req: number; data: Float32Array; stats: PoolStats }
  | { type: "sync"; seq: number; data: Float32Array; stats: PoolStats }
  | { type: "fatal"; message: string }
  | { type: "error"; message: string };

/** The backend's side as the executor sees it: a worker's parentPort, or InThread's main. */
export interface Main {
  postMessage(r: Reply, transfer?: ArrayBuffer[]): void;
  on(event: "message", f: (b: Batch) => void): unknown;
  unref(): void;
}

/** A size in MiB from the environment ("" is unset); anything but a number >= 0 raises. */
export function mib(name: string, dflt: number): number {
  const v = process.env[name] || String(dflt), n = Number(v);
  if (Number.isNaN(n) || n < 0) throw new RangeError(`${name} must be a number of MiB >= 0, but is '${v}'`);
  return n * 2 ** 20;
}
