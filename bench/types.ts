// Shared shapes of the benchmark: workloads, result rows, the system interface a child runs, and
// the messages a child sends its parent. Pure types and constants; no I/O.

export type WorkloadId = "W1" | "W2" | "W3" | "W4";
export const WORKLOADS: readonly WorkloadId[] = ["W1", "W2", "W3", "W4"];
export type Status = "ok" | "failed" | "skipped";
export type Role = "gradwise" | "peer" | "ceiling";

/** One measured cell: a system running a workload at a size. Times are medians of warm reps. */
export interface Row {
  system: string;
  workload: WorkloadId;
  n: number;
  status: Status;
  ms?: number;
  minMs?: number;
  maxMs?: number;
  reps?: number;
  /** Calls per rep when one call is too short to time alone: a rep's time is their mean. */
  batch?: number;
  /** W2 only: 12 bytes per element over the median time. */
  gbps?: number;
  /** W4 only: the median time over the 100 ops of the chain (forward and backward). */
  usPerOp?: number;
  /** A number every system must agree on (sum of the result, or the final loss). */
  check?: number;
  reason?: string;
}

/** What a timed repetition returns: the host result, from which `check` is taken after timing. */
export type Output = Float32Array | Float64Array | number;

/** A prepared cell: inputs live on the system's device; run() is one timed repetition. */
export interface Cell {
  run(): Promise<Output>;
  /** For cells that time themselves (the C ceiling): seconds of one rep, and its output. */
  selfTimed?(): Promise<[seconds: number, out: Output]>;
  dispose?(): void;
}

/** A system as a child process sees it: one cell factory per workload it implements. */
export interface SystemImpl {
  info?: Record<string, string | number | boolean>;
  cells: Partial<Record<WorkloadId, (n: number) => Cell | Promise<Cell>>>;
  close?(): Promise<void>;
}

/** How long to measure: warm-up once, then reps = budgetS / warm-up time, within limits. */
export interface Budget {
  budgetS: number;
  minReps: number;
  maxReps: number;
  /** Seconds of untimed repetitions before measuring. */
  warmS: number;
  /** Short calls warm up longer: to 5 000 calls, within this many seconds (none when warmS is 0). */
  warmMaxS: number;
  /** No cell may take longer than this (warm-up plus reps); predicted overruns are skipped. */
  cellCapS: number;
  /** Soft deadline for the whole system, in seconds; later cells are skipped. */
  systemS: number;
}

/** The job a parent hands a child (JSON in argv): the cells to measure, in order. */
export interface Job {
  system: string;
  cells: { workload: WorkloadId; n: number }[];
  budget: Budget;
}

export type ChildMessage =
  | { type: "info"; info: Record<string, string | number | boolean> }
  | { type: "start"; workload: WorkloadId; n: number }
  | { type: "row"; row: Row }
  | { type: "fatal"; reason: string }
  | { type: "done" };

/** W4 is defined on 1 000 elements whatever the sizes; its chain has 100 ops. */
export const W4_N = 1000;
export const W4_OPS = 100;
/** W3: SGD steps and learning rate; the target is y = 3x + 1 plus a little noise. */
export const W3_STEPS = 200;
export const W3_LR = 0.1;

export type Info = Record<string, string | number | boolean>;

export interface SystemResult {
  id: string;
  label: string;
  role: Role;
  device: "cpu" | "gpu";
  /** ok: it loaded and reported every cell (cells may still fail); failed: it did not. */
  status: Status;
  reason?: string;
  info: Info;
  seconds: number;
}

/** gradwise's median time over another system's, same workload and size: > 1 means slower. */
export interface Ratio {
  gradwise: string;
  other: string;
  role: Role;
  workload: WorkloadId;
  n: number;
  ratio: number;
}

/** Everything bench/results/<machine>-<date>.json holds. */
export interface RunResult {
  schema: 1;
  machine: string;
  date: string;
  startedAt: string;
  command: string;
  quick: boolean;
  sizes: number[];
  durationS: number;
  env: Record<string, string | number | boolean | null>;
  systems: SystemResult[];
  rows: Row[];
  ratios: Ratio[];
}
