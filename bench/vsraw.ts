// `npx tsx bench/vsraw.ts [build] [--sizes 1e3,1e5,1e6] [--threads main,worker] [--rounds 200] [--out f.md]`: W2 (c = a·b + 2,
// read c) through gradwise's webgpu device on each thread next to the raw WGSL rows of the same
// thread (wgsl-w2-vec4 on the main thread, wgsl-w2-worker), all in one process and alternated
// round by round as bench/ab.ts does: the ratio issue #5 asks about ("within 1.2x of the best
// single-kernel row"), without the drift between the separate processes of `npm run bench`.
// `build`: a folder holding src/index.js (default dist/, so `npm run build` first).
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { alternate } from "./measure.js";
import { commandLine } from "./paths.js";
import { cellsFor, type Lib } from "./systems/gradwise.js";
import { wgsl } from "./systems/wgsl.js";
import { wgslWorker } from "./systems/wgsl_worker.js";
import type { SystemImpl } from "./types.js";

const { flag, positional } = commandLine();
const dir = positional[0] ?? "dist";
const sizes = flag("--sizes", "1e3,1e5,1e6").split(",").map(Number);
const rounds = Number(flag("--rounds", "200"));
const threads = flag("--threads", "main,worker").split(",") as ("main" | "worker")[];
const out = flag("--out", "");
const lib = (await import(pathToFileURL(resolve(dir, "src", "index.js")).href)) as Lib;

const lines = ["| thread | N | gradwise (µs/call) | raw row | raw (µs/call) | gradwise ÷ raw |", "|---|---:|---:|---|---:|---:|"];
for (const thread of threads) {
  const device = await lib.requestDevice("webgpu", { thread });
  const raw: [string, SystemImpl] = thread === "main" ? ["wgsl-w2-vec4", await wgsl("vec4")] : ["wgsl-w2-worker", await wgslWorker()];
  for (const n of sizes) {
    const rawCell = await raw[1].cells.W2?.(n);
    if (!rawCell) throw new Error(`${raw[0]} has no W2 cell`);
    const m = await alternate({ gradwise: cellsFor(lib, device).W2(n), raw: rawCell }, rounds);
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
