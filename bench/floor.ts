// `npx tsx bench/floor.ts [build] [--sizes 1e3,1e5,1e6,1.6e7] [--rounds 40] [--out f.md]`: how close
// any JS-called kernel can come to issue #5's W2 CPU target (within 1.2x of the C loop, the best
// single-kernel CPU row), all in one process, alternated round by round:
// - c-inplace / c-fresh: bench/triad.c (self-timed, as in `npm run bench`), reusing its output or
//   writing a new malloc'd one per call;
// - wasm-resident: gradwise's own SIMD code for a*b+2 (ops/wasm.ts) over a, b and c already in one
//   WebAssembly memory: no copies, no allocation, no tensor. The floor of a JS library whose
//   tensors would live in wasm memory. "sync" calls it in a plain loop; "async" as a bench cell
//   (one await per call, as gradwise's data() has);
// - gradwise-cpu: bench W2, `a.mul(b).add(2).data()`.
// `build`: a folder holding src/index.js and src/ops/wasm.js (default dist/, so `npm run build` first).
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { median, timedBatch } from "./measure.js";
import { commandLine } from "./paths.js";
import { cpuCeiling } from "./systems/cpu_ceiling.js";
import { cellsFor, type Lib } from "./systems/gradwise.js";
import { w2Inputs } from "./data.js";
import type { Cell } from "./types.js";
import type { Kernel } from "../src/backend/backend.js";

const { flag, positional } = commandLine();
const dir = positional[0] ?? "dist";
const sizes = flag("--sizes", "1e3,1e5,1e6,1.6e7").split(",").map(Number);
const rounds = Number(flag("--rounds", "40"));
const out = flag("--out", "");
const load = async <T>(p: string): Promise<T> => (await import(pathToFileURL(resolve(dir, "src", p)).href)) as T;
const lib = await load<Lib>("index.js");
const { wasmKernel } = await load<typeof import("../src/ops/wasm.js")>("ops/wasm.js");
const { leaf } = await load<typeof import("../src/ops/expr.js")>("ops/expr.js");
const { IMPORTS } = await load<typeof import("../src/ops/wasm_math.js")>("ops/wasm_math.js");

declare const WebAssembly: {
  Memory: new (d: { initial: number }) => { readonly buffer: ArrayBuffer };
  Module: new (code: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { readonly exports: { map(end: number, rem: number): void } };
};

/** a*b+2 over a, b, c resident in one wasm memory: [consts | a | b | c], each region 16-byte aligned. */
function resident(n: number): { sync: () => void; cell: Cell } {
  const [a, b] = w2Inputs(n), region = Math.ceil(n / 4) * 16;
  const k: Kernel = { key: "floor", expr: leaf("i0").mul(leaf("i1")).add(leaf("c0")), inputs: ["i0", "i1"], consts: ["c0"] };
  const made = wasmKernel(k, [false, false], 16, region);
  if (!made) throw new Error("no wasm code for a*b+2");
  const memory = new WebAssembly.Memory({ initial: Math.ceil((16 + 3 * region) / 65536) });
  const heap = new Float32Array(memory.buffer);
  heap[0] = 2, heap.set(a, 4), heap.set(b, 4 + region / 4);
  const c = heap.subarray(4 + region / 2, 4 + region / 2 + n);
  const { map } = new WebAssembly.Instance(new WebAssembly.Module(made.code), { m: { m: memory, ...IMPORTS } }).exports;
  const end = Math.ceil(n / 4) * 16;
  return { sync: () => map(end, 0), cell: { run: async () => (map(end, 0), c) } };
}

/** µs per call of a synchronous function, over about 5 ms of calls. */
function syncTime(f: () => void, k: number): number {
  const t = performance.now();
  for (let i = 0; i < k; i++) f();
  return ((performance.now() - t) * 1000) / k;
}

const names = ["c-inplace", "c-fresh", "wasm-resident sync", "wasm-resident async", "gradwise-cpu"];
const lines = [`| N | ${names.join(" | ")} | wasm-resident sync ÷ c-inplace | gradwise ÷ c-inplace |`, `|---:|${names.map(() => "---:").join("|")}|---:|---:|`];
const [inplace, fresh] = [await cpuCeiling("reuse"), await cpuCeiling("fresh")];
for (const n of sizes) {
  const cells: Cell[] = [await inplace.cells.W2!(n), await fresh.cells.W2!(n)];
  const w = resident(n), g = cellsFor(lib, lib.defaultDevice()).W2(n);
  const t: number[][] = names.map(() => []);
  // Warm for about 1 s and at least 5 000 calls (V8 optimizes after calls, not time; see measure.ts).
  let calls = 0, spent = 0;
  while ((spent < 1 || calls < 5000) && calls < 50_000) (spent += 10 * (await timedBatch(g, 10))[0]), w.sync(), (calls += 10);
  const k = Math.max(1, Math.round(0.005 / (spent / calls)));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [0, 1, 2, 3, 4] : [4, 3, 2, 1, 0];
    for (const s of order) {
      let us: number;
      if (s < 2) { // self-timed: the median of a few calls
        const reps: number[] = [];
        for (let i = 0; i < Math.min(k, 20); i++) reps.push(((await (cells[s] as Cell).selfTimed!())[0]) * 1e6);
        us = median(reps);
      } else if (s === 2) us = syncTime(w.sync, k);
      else us = (await timedBatch(s === 3 ? w.cell : g, k))[0] * 1e6;
      if (r >= rounds / 2) t[s]?.push(us);
    }
  }
  const m = t.map(median);
  const [c, ws, gw] = [m[0] as number, m[2] as number, m[4] as number];
  lines.push(`| ${n} | ${m.map((x) => x.toPrecision(3)).join(" | ")} | ${(ws / c).toFixed(2)} | ${(gw / c).toFixed(2)} |`);
  console.log(lines[lines.length - 1]);
}
await inplace.close?.(), await fresh.close?.();
const text = `# W2 on the CPU: gradwise, the C loop, and a wasm kernel over wasm-resident data (${dir}); µs per call, ${rounds} rounds alternated, medians of the second half\n\n${lines.join("\n")}\n`;
if (out) writeFileSync(out, text);
process.exit(0);
