// The catalogue of systems (who runs which workloads at which sizes, and how a child loads it) and
// the measuring budgets of the quick and full runs. Torch rows come from torch_ref.py instead.
import type { Budget, Role, SystemImpl, WorkloadId } from "./types.js";
import { W4_N } from "./types.js";

export interface SystemSpec {
  id: string;
  role: Role;
  device: "cpu" | "gpu";
  label: string;
  workloads: readonly WorkloadId[];
  /** Sizes fixed by the system's definition, overriding the run's sizes (W4 always uses W4_N). */
  fixed?: Partial<Record<WorkloadId, number[]>>;
  /** Absent for systems measured by another process (torch_ref.py). */
  load?: () => Promise<SystemImpl>;
}

const ALL: readonly WorkloadId[] = ["W1", "W2", "W3", "W4"];

export const SYSTEMS: readonly SystemSpec[] = [
  { id: "gradwise-cpu", role: "gradwise", device: "cpu", label: "gradwise (cpu)", workloads: ALL,
    load: async () => (await import("./systems/gradwise.js")).gradwise("cpu") },
  { id: "gradwise-webgpu", role: "gradwise", device: "gpu", label: "gradwise (webgpu)", workloads: ALL,
    load: async () => (await import("./systems/gradwise.js")).gradwise("webgpu") },
  { id: "gradwise-webgpu-main", role: "gradwise", device: "gpu", label: "gradwise (webgpu, Dawn on the main thread)",
    workloads: ALL, load: async () => (await import("./systems/gradwise.js")).gradwise("webgpu", "main") },
  { id: "js-fused", role: "peer", device: "cpu", label: "plain JS, one fused loop", workloads: ALL,
    load: async () => (await import("./systems/plain_js.js")).fused() },
  { id: "js-per-op", role: "peer", device: "cpu", label: "plain JS, one loop per op", workloads: ALL,
    load: async () => (await import("./systems/plain_js.js")).perOp() },
  { id: "tfjs-cpu", role: "peer", device: "cpu", label: "TF.js 4.22 cpu", workloads: ALL,
    load: async () => (await import("./systems/tfjs.js")).tfjs("cpu") },
  { id: "tfjs-wasm", role: "peer", device: "cpu", label: "TF.js 4.22 wasm", workloads: ALL,
    load: async () => (await import("./systems/tfjs.js")).tfjs("wasm") },
  { id: "tfjs-webgpu", role: "peer", device: "gpu", label: "TF.js 4.22 webgpu (Dawn)", workloads: ALL,
    load: async () => (await import("./systems/tfjs.js")).tfjs("webgpu") },
  { id: "torch-cpu-1t", role: "peer", device: "cpu", label: "PyTorch cpu, 1 thread", workloads: ALL },
  { id: "torch-cpu", role: "peer", device: "cpu", label: "PyTorch cpu, all threads", workloads: ALL },
  { id: "torch-cuda", role: "peer", device: "gpu", label: "PyTorch CUDA", workloads: ALL },
  { id: "cpu-ceiling", role: "ceiling", device: "cpu", label: "CPU ceiling: C loop c=a*b+2", workloads: ["W2"],
    load: async () => (await import("./systems/cpu_ceiling.js")).cpuCeiling() },
  { id: "cpu-ceiling-fresh", role: "ceiling", device: "cpu", label: "CPU ceiling with a new result per call: the C loop into a fresh malloc", workloads: ["W2"],
    load: async () => (await import("./systems/cpu_ceiling.js")).cpuCeiling("fresh") },
  { id: "wgsl-w2", role: "ceiling", device: "gpu", label: "WGSL ceiling: one dispatch", workloads: ["W2"],
    load: async () => (await import("./systems/wgsl.js")).wgsl("scalar") },
  { id: "wgsl-w2-vec4", role: "ceiling", device: "gpu", label: "WGSL ceiling: one vec4 dispatch", workloads: ["W2"],
    load: async () => (await import("./systems/wgsl.js")).wgsl("vec4") },
  { id: "wgsl-w2-worker", role: "ceiling", device: "gpu", label: "WGSL vec4 dispatch in a worker thread, one message round trip per read",
    workloads: ["W2"], load: async () => (await import("./systems/wgsl_worker.js")).wgslWorker() },
  { id: "wgsl-w1", role: "ceiling", device: "gpu", label: "WGSL reference: W1 in 3 raw dispatches", workloads: ["W1"],
    load: async () => (await import("./systems/wgsl_w1.js")).wgslW1() },
  { id: "wgsl-fixed", role: "ceiling", device: "gpu", label: "WGSL fixed cost: dispatch+readback (W2), per dispatch of 100 (W4)",
    workloads: ["W2", "W4"], fixed: { W2: [W4_N], W4: [W4_N] },
    load: async () => (await import("./systems/wgsl.js")).wgsl("fixed") },
];

export const TORCH_IDS = ["torch-cpu-1t", "torch-cpu", "torch-cuda"] as const;

export const systemById = (id: string): SystemSpec | undefined => SYSTEMS.find((s) => s.id === id);

/** Measuring order: the long W3 last, so that it cannot starve the others of the system's time. */
const ORDER: readonly WorkloadId[] = ["W1", "W2", "W4", "W3"];

/** The cells of a system in measuring order: by workload, then by ascending size. */
export function cellsOf(s: SystemSpec, sizes: readonly number[]): { workload: WorkloadId; n: number }[] {
  return ORDER.filter((w) => s.workloads.includes(w)).flatMap((workload) => {
    const ns = s.fixed?.[workload] ?? (workload === "W4" ? [W4_N] : [...sizes]);
    return [...ns].sort((a, b) => a - b).map((n) => ({ workload, n }));
  });
}

export const QUICK_SIZES = [1e3, 1e5, 1e6];
export const FULL_SIZES = [1e3, 1e5, 1e6, 1.6e7];

/** Quick: 0.3 s of reps per cell, 8 s cells, 30 s systems. Full: 2 s of reps, 60 s cells.
 * Warm-ups: warmS, extended for short calls to 5 000 calls within warmMaxS. */
export const BUDGETS: Record<"quick" | "full", Budget> = {
  quick: { budgetS: 0.3, minReps: 3, maxReps: 50, cellCapS: 8, systemS: 30, warmS: 0.1, warmMaxS: 0.5 },
  full: { budgetS: 2, minReps: 5, maxReps: 100, cellCapS: 60, systemS: 300, warmS: 0.3, warmMaxS: 2 },
};
