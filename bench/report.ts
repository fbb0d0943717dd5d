// Turns a run into its three files: the JSON record, a Markdown report (ratio tables, medians,
// failures with their reasons) and the SVG chart; ratioText() is what the terminal gets.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fmtMs, fmtN } from "./progress.js";
import { svgChart } from "./svg.js";
import type { Ratio, Row, RunResult, WorkloadId } from "./types.js";
import { WORKLOADS } from "./types.js";

export const TITLES: Record<WorkloadId, string> = {
  W1: "W1, tutorial training step: y = x + 2, z = (y·y·2).mean(), backward, read x.grad",
  W2: "W2, elementwise bandwidth: c = a·b + 2, read c (GB/s at 12 B/element)",
  W3: "W3, training loop: 200 SGD steps of y = x·w + b, MSE, read the loss",
  W4: "W4, host overhead: 100 elementwise ops on 1 000 elements, forward + backward (µs/op)",
};
const CHECK_TOL = 1e-3;

export function computeRatios(r: RunResult): Ratio[] {
  const ok = new Map<string, Row>();
  for (const row of r.rows) if (row.status === "ok" && row.ms) ok.set(`${row.system}|${row.workload}|${row.n}`, row);
  const out: Ratio[] = [];
  for (const g of r.systems.filter((s) => s.role === "gradwise"))
    for (const s of r.systems.filter((x) => x.id !== g.id))
      for (const row of r.rows.filter((x) => x.system === g.id && x.status === "ok" && x.ms)) {
        const other = ok.get(`${s.id}|${row.workload}|${row.n}`);
        if (other?.ms && row.ms)
          out.push({ gradwise: g.id, other: s.id, role: s.role, workload: row.workload, n: row.n, ratio: row.ms / other.ms });
      }
  return out;
}

const fmtRatio = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toPrecision(2));
const cellText = (s: string): string => s.replace(/\|/g, "/").replace(/\s+/g, " ");
const table = (head: string[], rows: string[][], numeric = true): string =>
  [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i && numeric ? "---:" : "---")).join("|")}|`,
    ...rows.map((r) => `| ${r.map(cellText).join(" | ")} |`)].join("\n");
const sizesOf = (r: RunResult, w: WorkloadId): number[] =>
  [...new Set(r.rows.filter((x) => x.workload === w).map((x) => x.n))].sort((a, b) => a - b);
const short = (id: string): string => id.replace(/^gradwise-/, "");

/** Per workload: one row per (gradwise device, other system) with ratios, columns by size. */
export function ratioSection(r: RunResult): string {
  const parts: string[] = [];
  for (const w of WORKLOADS) {
    const ns = sizesOf(r, w);
    const pairs = [...new Set(r.ratios.filter((x) => x.workload === w).map((x) => `${x.gradwise}|${x.other}`))];
    if (!pairs.length) continue;
    const rows = pairs.map((p) => {
      const [g, o] = p.split("|") as [string, string];
      const role = r.systems.find((s) => s.id === o)?.role;
      const cells = ns.map((n) => {
        const x = r.ratios.find((q) => q.gradwise === g && q.other === o && q.workload === w && q.n === n);
        return x ? fmtRatio(x.ratio) : "—";
      });
      return [`${short(g)} ÷ ${o}${role === "ceiling" ? " (ceiling)" : ""}`, ...cells];
    });
    parts.push(`### ${TITLES[w]}\n\n${table(["gradwise ÷", ...ns.map(fmtN)], rows)}`);
  }
  const missing = r.systems.filter((s) => s.role === "gradwise" && !r.ratios.some((x) => x.gradwise === s.id));
  for (const s of missing) parts.push(`No ratios for ${s.id}: ${s.reason ?? "no cell succeeded"}.`);
  return parts.join("\n\n");
}

function cell(row: Row | undefined, notes: Map<string, number>): string {
  if (!row) return "";
  if (row.status !== "ok" || row.ms === undefined) {
    const reason = `${row.system}: ${row.reason ?? row.status}`;
    if (!notes.has(reason)) notes.set(reason, notes.size + 1);
    return `${row.status} [${notes.get(reason)}]`;
  }
  const extra = row.gbps !== undefined ? ` · ${row.gbps.toPrecision(3)} GB/s` : row.usPerOp !== undefined ? ` · ${row.usPerOp.toPrecision(3)} µs/op` : "";
  return `${fmtMs(row.ms)}${extra}`;
}

/** Cells whose check differs from gradwise-cpu's (else js-fused's) by more than CHECK_TOL. */
function checkSection(r: RunResult): string {
  const bad: string[] = [];
  for (const row of r.rows) {
    if (row.status !== "ok" || row.check === undefined) continue;
    const ref = ["gradwise-cpu", "js-fused"]
      .map((id) => r.rows.find((x) => x.system === id && x.workload === row.workload && x.n === row.n))
      .find((x) => x?.status === "ok" && x.check !== undefined);
    if (!ref || ref.check === undefined) continue;
    const rel = Math.abs(row.check - ref.check) / Math.max(Math.abs(ref.check), 1e-12);
    if (rel > CHECK_TOL) bad.push(`- ${row.system} ${row.workload} N=${fmtN(row.n)}: ${row.check} vs ${ref.system}'s ${ref.check}`);
  }
  return bad.length ? `Results that disagree with gradwise-cpu (relative difference > ${CHECK_TOL}):\n\n${bad.join("\n")}`
    : `Every measured result agrees with gradwise-cpu's within ${CHECK_TOL} (relative; sum of the output or final loss).`;
}

export function markdown(r: RunResult, svgName: string): string {
  const e = r.env;
  const gpu = r.systems.find((s) => typeof s.info.description === "string")?.info;
  const torch = r.systems.find((s) => s.id === "torch-cpu" && s.info.torch)?.info;
  const tfv = r.systems.find((s) => s.id.startsWith("tfjs") && s.info.version)?.info.version;
  const head = [
    `# gradwise benchmark: ${r.machine}, ${r.date}`,
    `\`${r.command}\` took ${Math.round(r.durationS)} s on ${e.cpu} (${e.cores} cores, ${e.memGiB} GiB), ` +
      `GPU: ${gpu ? `${gpu.description || gpu.device} (${gpu.vendor || "?"}, Dawn)` : "none found"}; Node ${e.node}` +
      `${tfv ? `, TF.js ${tfv}` : ""}${torch ? `, PyTorch ${torch.torch} (Python ${torch.python})` : ""}; ` +
      `gradwise ${e.commit ?? "?"}${e.dirty ? " with local changes" : ""}.`,
    "Every number comes from this one run: times are medians of warm repetitions, and a ratio is " +
      "gradwise's time over the other system's at the same workload and size (> 1: gradwise is slower). " +
      "Ratios from different runs mean nothing on a shared machine.",
    `![time vs N per system, log-log](${svgName})`,
    "## gradwise ÷ the others",
    ratioSection(r),
    "## Medians",
  ];
  const notes = new Map<string, number>();
  for (const w of WORKLOADS) {
    const ns = sizesOf(r, w);
    const ids = [...new Set(r.rows.filter((x) => x.workload === w).map((x) => x.system))];
    const rows = ids.map((id) => [id, ...ns.map((n) => cell(r.rows.find((x) => x.system === id && x.workload === w && x.n === n), notes))]);
    head.push(`### ${TITLES[w]}\n\n${table(["system", ...ns.map(fmtN)], rows)}`);
  }
  head.push("## Failures and skips", notes.size ? [...notes].map(([reason, k]) => `${k}. ${cellText(reason)}`).join("\n") : "None.");
  head.push("## Checks", checkSection(r));
  const sys = r.systems.map((s) => [s.id, s.label, s.status + (s.reason ? `: ${s.reason}` : ""), s.seconds.toFixed(1),
    Object.entries(s.info).map(([k, v]) => `${k}=${v}`).join(", ").replace(/\|/g, "/")]);
  head.push("## Systems", table(["id", "what", "status", "seconds", "details"], sys, false));
  return `${head.join("\n\n")}\n`;
}

/** Writes <out>/<machine>-<date>[-quick].{json,md,svg}; returns their paths. */
export function writeResults(r: RunResult, out: string): string[] {
  r.ratios = computeRatios(r);
  mkdirSync(out, { recursive: true });
  const base = join(out, `${r.machine}-${r.date}${r.quick ? "-quick" : ""}`);
  const name = base.split("/").pop() as string;
  writeFileSync(`${base}.json`, `${JSON.stringify(r, null, 1)}\n`);
  writeFileSync(`${base}.md`, markdown(r, `${name}.svg`));
  writeFileSync(`${base}.svg`, svgChart(r));
  return [`${base}.json`, `${base}.md`, `${base}.svg`];
}

export const ratioText = (r: RunResult): string => `\ngradwise ÷ the others (time ratios; > 1: gradwise is slower)\n\n${ratioSection(r)}\n`;
