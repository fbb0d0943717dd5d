// `npx tsx bench/vsraw.ts [build] [--sizes 1e3,1e5,1e6] [--threads main,worker] [--rounds 200] [--out f.md]`: W2 (c = a·b + 2,
// read c) through gradwise's webgpu device on each thread next to the raw WGSL rows of the same
// thread (wgsl-w2-vec4 on the main thread, wgsl-w2-worker), all in one process and alternated
// round by round as bench/ab.ts does: the ratio issue #5 asks about ("within 1.2x of the best
// single-kernel row"), without the drift between the separate processes of `npm run bench`.
// `build`: a folder holding src/index.js (default dist/, so `npm run build` first).
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { median, timedBatch } from "./measure.js";
import { cellsFor, type Lib } from "./systems/gradwise.js";
import { wgsl } from "./systems/wgsl.js";
import { wgslWorker } from "./systems/wgsl_worker.js";
import type { Cell, SystemImpl } from "./types.js";

const args = process.argv.slice(2);
const flag = (name: string, dflt: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? (args[i + 1] ?? dflt) : dflt;
};
const dir = args.find((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--")) ?? "dist";
const sizes = flag("--sizes", "1e3,1e5,1e6").split(",").map(Number);
const rounds = Number(flag("--rounds", "200"));
const threads = flag("--threads", "main,worker").split(",") as ("main" | "worker")[];
const out = flag("--out", "");
const lib = (await import(pathToFileURL(resolve(dir, "src", "index.js")).href)) as Lib;

/** Medians (µs per call) of the second half of `rounds` alternating rounds of ~5 ms of calls. */
async function alternate(cells: Record<string, Cell>): Promise<Record<string, number>> {
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

const lines = ["| thread | N | gradwise (µs/call) | raw row | raw (µs/call) | gradwise ÷ raw |", "|---|---:|---:|---|---:|---:|"];
for (const thread of threads) {
  const device = await lib.requestDevice("webgpu", { thread });
  const raw: [string, SystemImpl] = thread === "main" ? ["wgsl-w2-vec4", await wgsl("vec4")] : ["wgsl-w2-worker", await wgslWorker()];
  for (const n of sizes) {
    const rawCell = await raw[1].cells.W2?.(n);
    if (!rawCell) throw new Error(`${raw[0]} has no W2 cell`);
    const m = await alternate({ gradwise: cellsFor(lib, device).W2(n), raw: rawCell });
    const [g, r] = [m.gradwise as number, m.raw as number];
    lines.push(`| ${thread} | ${n} | ${g.toFixed(1)} | ${raw[0]} | ${r.toFixed(1)} | ${(g / r).toFixed(3)} |`);
    console.log(lines[lines.length - 1]);
    rawCell.dispose?.();
  }
  await raw[1].close?.();
  await lib.shutdown();
}
const text = `# W2 on webgpu, gradwise next to the raw WGSL row of its thread (${dir}); ${rounds} rounds, medians of the second half\n\n${lines.join("\n")}\n`;
if (out) writeFileSync(out, text);
process.exit(0);
