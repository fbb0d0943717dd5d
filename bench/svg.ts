// The chart the README embeds: median time vs N per system on log-log axes for W1-W3 (ceilings
// dashed, gradwise thick), and W4's µs per op as log-scale bars. Plain SVG text, no dependencies.
import { fmtN } from "./progress.js";
import type { Row, RunResult, WorkloadId } from "./types.js";

const COLORS: Record<string, string> = {
  "gradwise-cpu": "#d62728", "gradwise-webgpu": "#ff7f0e", "gradwise-webgpu-main": "#e377c2", "js-fused": "#2ca02c", "js-per-op": "#8fd175",
  "tfjs-cpu": "#1f77b4", "tfjs-wasm": "#7fb2e5", "tfjs-webgpu": "#17becf", "torch-cpu-1t": "#9467bd",
  "torch-cpu": "#c0a5e0", "torch-cuda": "#8c564b", "cpu-ceiling": "#7f7f7f", "cpu-ceiling-fresh": "#a9a9a9", "wgsl-w2": "#222222",
  "wgsl-w2-vec4": "#5a5a5a", "wgsl-w1": "#17becf", "wgsl-fixed": "#bcbd22",
};
const W = 1200, H = 760, PW = 400, PH = 290;
const PANELS: [WorkloadId, number, number][] = [["W1", 70, 60], ["W2", 530, 60], ["W3", 70, 430], ["W4", 530, 430]];
const TITLE: Record<WorkloadId, string> = {
  W1: "W1 tutorial step (fwd+bwd, read grad)", W2: "W2 c = a·b + 2 (read c)",
  W3: "W3 200 SGD steps, y = x·w + b", W4: "W4 100-op chain on 1e3 elements: µs per op",
};

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const text = (x: number, y: number, s: string, attrs = ""): string =>
  `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${esc(s)}</text>`;
const fmtTime = (ms: number): string =>
  ms >= 1000 ? `${ms / 1000} s` : ms >= 1 ? `${ms} ms` : ms >= 1e-3 ? `${+(ms * 1000).toPrecision(3)} µs` : `${ms * 1e6} ns`;

/** A log10 axis over [lo, hi] widened to whole decades; map() gives the pixel offset. */
function logAxis(values: number[], px: number, flip: boolean): { ticks: number[]; map: (v: number) => number } {
  let lo = Math.floor(Math.log10(Math.min(...values)));
  let hi = Math.ceil(Math.log10(Math.max(...values)));
  if (hi - lo < 1) (lo -= 1), (hi += 1);
  const map = (v: number): number => {
    const f = (Math.log10(v) - lo) / (hi - lo);
    return (flip ? 1 - f : f) * px;
  };
  const step = Math.ceil((hi - lo) / 7);
  const ticks: number[] = [];
  for (let e = lo; e <= hi; e += step) ticks.push(10 ** e);
  return { ticks, map };
}

const dashed = (r: RunResult, id: string): boolean => r.systems.find((s) => s.id === id)?.role === "ceiling";
const okRows = (r: RunResult, w: WorkloadId): Row[] =>
  r.rows.filter((x) => x.workload === w && x.status === "ok" && x.ms !== undefined && x.ms > 0);

function linePanel(r: RunResult, w: WorkloadId, ox: number, oy: number): string {
  const rows = okRows(r, w);
  const out = [text(ox, oy - 12, TITLE[w], 'font-weight="bold"')];
  out.push(`<rect x="${ox}" y="${oy}" width="${PW}" height="${PH}" fill="none" stroke="#999"/>`);
  if (!rows.length) return [...out, text(ox + PW / 2, oy + PH / 2, "no data", 'text-anchor="middle"')].join("\n");
  const xa = logAxis(rows.map((x) => x.n), PW, false);
  const ya = logAxis(rows.map((x) => x.ms as number), PH, true);
  for (const t of xa.ticks) {
    const x = (ox + xa.map(t)).toFixed(1);
    out.push(`<line x1="${x}" y1="${oy}" x2="${x}" y2="${oy + PH}" stroke="#eee"/>`, text(+x, oy + PH + 16, fmtN(t), 'text-anchor="middle"'));
  }
  for (const t of ya.ticks) {
    const y = (oy + ya.map(t)).toFixed(1);
    out.push(`<line x1="${ox}" y1="${y}" x2="${ox + PW}" y2="${y}" stroke="#eee"/>`, text(ox - 6, +y + 4, fmtTime(t), 'text-anchor="end"'));
  }
  out.push(text(ox + PW / 2, oy + PH + 32, "N (elements)", 'text-anchor="middle"'));
  for (const id of [...new Set(rows.map((x) => x.system))]) {
    const pts = rows.filter((x) => x.system === id).sort((a, b) => a.n - b.n)
      .map((x) => [ox + xa.map(x.n), oy + ya.map(x.ms as number)] as const);
    const c = COLORS[id] ?? "#000";
    const width = id.startsWith("gradwise") ? 3 : 1.5;
    const dash = dashed(r, id) ? ' stroke-dasharray="6 4"' : "";
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="${width}"${dash} points="${pts.map((p) => p.map((v) => v.toFixed(1)).join(",")).join(" ")}"/>`);
    for (const [x, y] of pts) out.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3" fill="${c}"/>`);
  }
  return out.join("\n");
}

function barPanel(r: RunResult, ox: number, oy: number): string {
  const rows = okRows(r, "W4").filter((x) => x.usPerOp !== undefined).sort((a, b) => (a.usPerOp as number) - (b.usPerOp as number));
  const out = [text(ox, oy - 12, TITLE.W4, 'font-weight="bold"')];
  out.push(`<rect x="${ox}" y="${oy}" width="${PW}" height="${PH}" fill="none" stroke="#999"/>`);
  if (!rows.length) return [...out, text(ox + PW / 2, oy + PH / 2, "no data", 'text-anchor="middle"')].join("\n");
  const label = 110;
  const xa = logAxis([...rows.map((x) => x.usPerOp as number), 0.5 * Math.min(...rows.map((x) => x.usPerOp as number))], PW - label - 10, false);
  const bh = Math.min(22, (PH - 10) / rows.length);
  for (const t of xa.ticks) {
    const x = (ox + label + xa.map(t)).toFixed(1);
    out.push(`<line x1="${x}" y1="${oy}" x2="${x}" y2="${oy + PH}" stroke="#eee"/>`, text(+x, oy + PH + 16, `${t} µs`, 'text-anchor="middle"'));
  }
  rows.forEach((row, i) => {
    const y = oy + 5 + i * bh;
    const wpx = Math.max(1, xa.map(row.usPerOp as number));
    out.push(text(ox + label - 4, y + bh * 0.7, row.system, 'text-anchor="end"'));
    out.push(`<rect x="${ox + label}" y="${y.toFixed(1)}" width="${wpx.toFixed(1)}" height="${(bh * 0.8).toFixed(1)}" fill="${COLORS[row.system] ?? "#000"}"/>`);
  });
  return out.join("\n");
}

function legend(r: RunResult, x: number, y: number): string {
  const out = [text(x, y, "systems", 'font-weight="bold"')];
  r.systems.forEach((s, i) => {
    const yy = y + 22 + i * 22;
    const mine = r.rows.filter((row) => row.system === s.id);
    const has = mine.some((row) => row.status === "ok");
    const why = mine.every((row) => row.status === "skipped") ? "skipped" : "failed";
    const dash = s.role === "ceiling" ? ' stroke-dasharray="6 4"' : "";
    out.push(`<line x1="${x}" y1="${yy - 4}" x2="${x + 26}" y2="${yy - 4}" stroke="${COLORS[s.id] ?? "#000"}" stroke-width="${s.role === "gradwise" ? 3 : 2}"${dash}/>`);
    out.push(text(x + 32, yy, `${s.id}${has ? "" : ` (${why})`}`, has ? "" : 'fill="#999"'));
  });
  return out.join("\n");
}

export function svgChart(r: RunResult): string {
  const parts = PANELS.map(([w, x, y]) => (w === "W4" ? barPanel(r, x, y) : linePanel(r, w, x, y)));
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    text(20, 24, `gradwise benchmark, ${r.machine}, ${r.date}: median time of warm reps (lower is better)`, 'font-size="15" font-weight="bold"'),
    ...parts,
    legend(r, 975, 70),
    "</svg>",
    "",
  ].join("\n");
}
