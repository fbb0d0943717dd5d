// Times one system's cells: a cold warm-up, then warm repetitions sized by the budget, median kept.
// Cells predicted (from the two previous sizes) to overrun the cell cap are skipped, not guessed.
import { checkOf } from "./data.js";
import type { Budget, Cell, Job, Output, Row, SystemImpl, WorkloadId } from "./types.js";
import { W4_OPS } from "./types.js";

const now = (): number => performance.now() / 1000;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
export const errText = (e: unknown): string =>
  (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).split("\n")[0]?.slice(0, 300) ?? "";

/**
 * Seconds per rep at n: a line (t = a + b n) through this workload's last two sizes; with one size
 * measured, that time scaled as another workload of the same system scaled between the two sizes.
 */
function predict(hist: Map<WorkloadId, [number, number][]>, w: WorkloadId, n: number): number | null {
  const h = hist.get(w) ?? [];
  if (h.length >= 2) {
    const [n1, t1] = h[h.length - 2] as [number, number];
    const [n2, t2] = h[h.length - 1] as [number, number];
    const b = n2 === n1 ? 0 : Math.max(0, (t2 - t1) / (n2 - n1));
    return t2 + b * (n - n2);
  }
  const [n1, t1] = h[0] ?? [0, 0];
  if (!h.length) return null;
  for (const other of hist.values()) {
    const a = other.find((p) => p[0] === n1)?.[1];
    const b = other.find((p) => p[0] === n)?.[1];
    if (a && b) return (t1 * b) / a;
  }
  return null;
}

async function timed(cell: Cell): Promise<[number, Output]> {
  if (cell.selfTimed) return cell.selfTimed();
  const t = now();
  const out = await cell.run();
  return [now() - t, out];
}

/** Seconds per call over `k` calls in a row (one sample), and the last call's output. */
export async function timedBatch(cell: Cell, k: number): Promise<[number, Output]> {
  if (k === 1) return timed(cell);
  let out: Output = 0;
  const t = now();
  for (let i = 0; i < k; i++) out = await cell.run();
  return [(now() - t) / k, out];
}

/**
 * Cells of one process run alternately (bench/ab.ts, bench/vsraw.ts): each warmed alone for about
 * 0.5 s (JIT, caches), then `rounds` rounds of about 5 ms of calls each, in alternating order (one
 * call per round would time the switch between them more than either). Medians in µs per call of
 * the second half of the rounds. A shared machine drifts by tens of percent between separate
 * runs; alternating makes the drift hit every cell alike.
 */
export async function alternate(cells: Record<string, Cell>, rounds: number): Promise<Record<string, number>> {
  let once = 0;
  for (const c of Object.values(cells)) {
    let calls = 0, spent = 0;
    while (spent < 0.5 && calls < 20_000) (spent += 10 * (await timedBatch(c, 10))[0]), (calls += 10);
    once = Math.max(once, spent / calls);
  }
  const k = Math.max(1, Math.round(0.005 / once)), names = Object.keys(cells);
  const t: Record<string, number[]> = Object.fromEntries(names.map((s) => [s, []]));
  for (let r = 0; r < rounds; r++) {
    for (const s of r % 2 ? names : [...names].reverse()) {
      const [sec] = await timedBatch(cells[s] as Cell, k);
      if (r >= rounds / 2) t[s]?.push(sec * 1e6);
    }
  }
  return Object.fromEntries(names.map((s) => [s, median(t[s] as number[])]));
}

/**
 * The warm-up also runs at least WARM_CALLS calls, within the budget's warmMaxS: V8 optimizes a
 * function after it has run enough, not after a time, and gradwise-cpu's W1 at 1e3 compiles ~100
 * functions in its first ~2 300 calls (~1.9 s of TurboFan work on the second core), its calls
 * averaging 150-600 µs per 100 until then and 25-60 µs after.
 */
const WARM_CALLS = 5000;

async function measureCell(cell: Cell, b: Budget): Promise<Omit<Row, "system" | "workload" | "n">> {
  // Warm up for a while, not once: JITs (V8's, TF.js's, gradwise's kernel cache) need many calls
  // before small cells reach their steady state (gradwise-cpu's W1 at 1e3, medians per 100 calls
  // from a cold process: 133 µs, 84 µs after 300 calls, ~31 µs after 2 000 to 3 000). So the
  // warm-up lasts warmS, and longer (see WARM_CALLS) for short calls. Every system gets the same.
  const [warm] = await timed(cell);
  let spent = warm, k = 1;
  const more = (): boolean => spent < b.warmS || (b.warmS > 0 && k < WARM_CALLS && spent < b.warmMaxS);
  for (; more() && k < 20_000 && warm < b.warmS; k++) spent += (await timed(cell))[0];
  // No gc() between warm-up and reps (runCell collects before the warm-up): a forced full
  // collection leaves the next few thousand small calls slower (gradwise-cpu's W1 at 1e3, medians
  // per 100 calls: ~45 µs right after gc(), ~18 µs some 2 000 calls later), so the reps would
  // time that transient, not the warm state.
  let [t1, out] = await timed(cell);
  // A warm call's time, from ~5 ms of calls when they are short (not with --reps, whose budgetS is
  // 0, nor for self-timed cells, whose own times are far below their round trips).
  let perCall = t1;
  const calibrate = b.budgetS > 0 && !cell.selfTimed;
  for (let i = 1, s = t1; calibrate && s < 0.005 && i < 10_000; i++, perCall = s / i) s += (await timed(cell))[0];
  let reps = Math.min(b.maxReps, Math.max(b.minReps, Math.floor(b.budgetS / Math.max(perCall, 1e-6))));
  while (reps > 1 && warm + reps * perCall > b.cellCapS) reps--;
  // A cell so fast that maxReps single calls would not fill its budget is sampled in batches: each
  // rep times `batch` calls in a row and keeps the mean, so the reps span the whole budget. Single
  // calls of a ~20 µs cell all fell within ~5 ms, and this machine runs the same loop ~2x slower for
  // stretches of ~0.1-1 s (js-fused's W1 at 1e3, medians per 100 calls: 5.5 µs, then 9-11 µs),
  // so the median was whichever stretch the 5 ms hit (gradwise-cpu's W1 at 1e3: 16 to 77 µs in
  // full runs a day apart). A batch also carries its share of garbage collection. Cells that time
  // themselves (the C loop, timed inside its process) keep one call per rep.
  const batch = reps === b.maxReps && !cell.selfTimed ? Math.max(1, Math.floor(b.budgetS / (b.maxReps * Math.max(perCall, 1e-6)))) : 1;
  const samples: number[] = [], t0 = now();
  if (batch === 1) samples.push(t1);
  // NOTE: no forced gc() between reps: a full collection before every rep makes the next
  // allocation-heavy call several times slower (measured: 21 µs warm vs 179 µs right after gc()
  // for a 1e3-element gradwise op), so collection costs stay in the reps, as in real use.
  while (samples.length < reps && (samples.length < b.minReps || now() - t0 < 2 * b.budgetS)) {
    [t1, out] = await timedBatch(cell, batch);
    samples.push(t1);
  }
  const ms = median(samples) * 1000;
  const check = checkOf(out);
  return {
    status: "ok",
    ms,
    minMs: Math.min(...samples) * 1000,
    maxMs: Math.max(...samples) * 1000,
    reps: samples.length,
    ...(batch > 1 ? { batch } : {}),
    ...(Number.isFinite(check) ? { check } : {}),
  };
}

/** Runs every cell of the job in order, handing each row to `emit` as soon as it is known. */
export async function measureSystem(
  impl: SystemImpl,
  job: Job,
  emit: (m: { type: "start"; workload: WorkloadId; n: number } | { type: "row"; row: Row }) => Promise<void>,
): Promise<void> {
  const t0 = now();
  const hist = new Map<WorkloadId, [number, number][]>();
  for (const { workload, n } of job.cells) {
    await emit({ type: "start", workload, n });
    const base = { system: job.system, workload, n };
    const h = hist.get(workload) ?? [];
    hist.set(workload, h);
    const make = impl.cells[workload];
    const guess = predict(hist, workload, n);
    let row: Row;
    if (!make) row = { ...base, status: "failed", reason: "not implemented by this system" };
    else if (now() - t0 > job.budget.systemS)
      row = { ...base, status: "skipped", reason: `system time budget (${job.budget.systemS} s) spent` };
    else if (guess !== null && 2 * guess > job.budget.cellCapS)
      row = {
        ...base,
        status: "skipped",
        reason: `predicted ${guess.toFixed(1)} s per rep; over the ${job.budget.cellCapS} s cell cap`,
      };
    else row = await runCell(make, n, job.budget, base);
    if (row.status === "ok" && row.ms !== undefined) {
      h.push([n, row.ms / 1000]);
      if (workload === "W2") row.gbps = (12 * n) / (row.ms / 1000) / 1e9;
      if (workload === "W4") row.usPerOp = (row.ms * 1000) / W4_OPS;
    }
    await emit({ type: "row", row });
  }
}

async function runCell(
  make: (n: number) => Cell | Promise<Cell>,
  n: number,
  b: Budget,
  base: Pick<Row, "system" | "workload" | "n">,
): Promise<Row> {
  let cell: Cell | null = null;
  try {
    gc();
    cell = await make(n);
    return { ...base, ...(await measureCell(cell, b)) };
  } catch (e) {
    return { ...base, status: "failed", reason: errText(e) };
  } finally {
    try {
      cell?.dispose?.();
    } catch {
      // a failed dispose must not hide the row
    }
  }
}
