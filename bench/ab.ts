// `npx tsx bench/ab.ts <buildA> <buildB> [--workloads W1,W2,W4] [--sizes 1e3] [--rounds 300]
// [--device cpu|webgpu] [--thread worker|main] [--out file.md]`: two builds of gradwise (folders holding src/index.js,
// e.g. a git worktree's dist/) loaded into one process and run alternately, round by round, on the
// same workloads (bench/systems/gradwise.ts's cells). A shared machine drifts by tens of percent
// between separate runs; alternating makes the drift hit both builds alike, so B/A shows changes
// of a few percent that separate runs of `npm run bench` cannot. The second half of the rounds counts.
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { alternate } from "./measure.js";
import { commandLine } from "./paths.js";
import { cellsFor, type Lib } from "./systems/gradwise.js";

type W = "W1" | "W2" | "W3" | "W4" | "ACT" | "INPLACE" | "POW" | "SOFTMAX" | "REDUCE" | "BLOCKS";
const { flag, positional } = commandLine();
const [dirA, dirB] = positional;
if (!dirA || !dirB) throw new Error("usage: tsx bench/ab.ts <buildA> <buildB> [--workloads W1,W2] [--sizes 1e3] [--rounds N]");
const workloads = flag("--workloads", "W1,W2,W4").split(",") as W[];
const sizes = flag("--sizes", "1e3").split(",").map(Number);
const rounds = Number(flag("--rounds", "300"));
const type = flag("--device", "cpu") as "cpu" | "webgpu";
const thread = flag("--thread", "worker") as "worker" | "main"; // a webgpu device's requestDevice option
const out = flag("--out", "");

const load = async (dir: string): Promise<Lib> =>
  (await import(pathToFileURL(resolve(dir, "src", "index.js")).href)) as Lib;
const libs = { A: await load(dirA), B: await load(dirB) };
const opts = type === "webgpu" ? { thread } : {};
const devices = { A: await libs.A.requestDevice(type, opts), B: await libs.B.requestDevice(type, opts) };

/** ACT (this tool's only): three tanh -> * 1.5 -> sigmoid links forward and backward, read x.grad. Each
 * gradient reads its op's output twice, so the chain's expression doubles per link as a tree. */
const gradData = (t: ReturnType<Lib["tensor"]>) => {
  if (!t.grad) throw new Error("a grad is null after backward");
  return t.grad.data();
};
const act = (lib: Lib, device: Parameters<typeof cellsFor>[1], n: number) => {
  const x = lib.tensor(Array.from({ length: n }, (_, i) => (i % 200) / 100 - 1), { device, requiresGrad: true });
  return {
    run: async () => {
      x.grad = null;
      let y = x;
      for (let k = 0; k < 3; k++) y = y.tanh().mul(1.5).sigmoid();
      y.sum().backward();
      return gradData(x);
    },
  };
};
/** INPLACE (this tool's only): x.mul_(c).add_(y) under noGrad, then read x (an SGD-like update of a big tensor). */
const inplace = (lib: Lib, device: Parameters<typeof cellsFor>[1], n: number) => {
  const x = lib.tensor(Array.from({ length: n }, (_, i) => i % 7), { device }), y = lib.onesLike(x);
  return { run: () => (lib.noGrad(() => x.mul_(0.5).add_(y)), x.data()) };
};
/** POW (this tool's only): x ** y with both tensors requiring grad (pow(x, y - 1) and x ** y log x in the gradients),
 * forward and backward, read both grads. */
const pow = (lib: Lib, device: Parameters<typeof cellsFor>[1], n: number) => {
  const x = lib.tensor(Array.from({ length: n }, (_, i) => 0.1 + (i % 300) / 100), { device, requiresGrad: true });
  const y = lib.tensor(Array.from({ length: n }, (_, i) => (i % 200) / 100 - 1), { device, requiresGrad: true });
  return {
    run: async () => {
      x.grad = null, y.grad = null;
      x.pow(y).sum().backward();
      return Promise.all([gradData(x), gradData(y)]);
    },
  };
};
/** SOFTMAX (this tool's only): softmax over the rows of x [n / 1000, 1000] by its definition, forward and backward
 * (the row max and sums are read back as columns: each element repeated along a row), read x.grad. */
const softmax = (lib: Lib, device: Parameters<typeof cellsFor>[1], n: number) => {
  const x = lib.tensor(Array.from({ length: n }, (_, i) => ((i * 7) % 300) / 100 - 1.5), { device }).reshape([n / 1000, 1000]).requiresGrad_(true);
  const w = lib.tensor(Array.from({ length: n }, (_, i) => (i % 13) / 13), { device }).reshape([n / 1000, 1000]);
  return {
    run: async () => {
      const e = x.sub(x.max(1, true).values).exp(), y = e.div(e.sum(1, true));
      x.grad = null;
      y.mul(w).sum().backward();
      return gradData(x);
    },
  };
};
/** REDUCE (this tool's only): x [n / 1000, 1000] summed over each dim and its rows' max, under noGrad, all read. */
const reduce = (lib: Lib, device: Parameters<typeof cellsFor>[1], n: number) => {
  const x = lib.tensor(Array.from({ length: n }, (_, i) => Math.sin(i)), { device }).reshape([n / 1000, 1000]);
  return { run: () => Promise.all(lib.noGrad(() => [x.sum(0), x.sum(1), x.max(1).values]).map((t) => t.data())) };
};
/** BLOCKS (this tool's only): x [n / 1000, 10, 100] scaled by b [n / 1000, 1, 100] (blocks of rows: b's row repeated
 * over each block of x's) and centered over dim 1 (its mean read the same way), then tanh, forward and backward, read b.grad. */
const blocks = (lib: Lib, device: Parameters<typeof cellsFor>[1], n: number) => {
  const x = lib.tensor(Array.from({ length: n }, (_, i) => Math.sin(i * 0.37)), { device }).reshape([n / 1000, 10, 100]);
  const b = lib.tensor(Array.from({ length: n / 10 }, (_, i) => 0.5 + (i % 7) / 7), { device }).reshape([n / 1000, 1, 100]).requiresGrad_(true);
  return {
    run: async () => {
      const y = x.mul(b);
      b.grad = null;
      y.sub(y.mean(1, true)).tanh().sum().backward();
      return gradData(b);
    },
  };
};
const cells = { ACT: act, INPLACE: inplace, POW: pow, SOFTMAX: softmax, REDUCE: reduce, BLOCKS: blocks } as const;
const cell = (lib: Lib, device: Parameters<typeof cellsFor>[1], w: W, n: number) =>
  w in cells ? cells[w as keyof typeof cells](lib, device, n) : cellsFor(lib, device)[w as "W1"](n);

const lines = [`| workload | N | A (µs/call) | B (µs/call) | B/A |`, `|---|---:|---:|---:|---:|`];
for (const w of workloads) {
  for (const n of w === "W4" ? [1000] : sizes) {
    const cells = { A: cell(libs.A, devices.A, w, n), B: cell(libs.B, devices.B, w, n) };
    const { A: a, B: b } = (await alternate(cells, rounds)) as Record<"A" | "B", number>;
    lines.push(`| ${w} | ${n} | ${a.toFixed(2)} | ${b.toFixed(2)} | ${(b / a).toFixed(3)} |`);
    console.log(lines[lines.length - 1]);
  }
}
const text = `# A/B on ${type}${type === "webgpu" ? ` (thread: ${thread})` : ""}: A = ${dirA}, B = ${dirB}; ${rounds} rounds, medians of the second half\n\n${lines.join("\n")}\n`;
if (out) writeFileSync(out, text);
await Promise.all([libs.A.shutdown(), libs.B.shutdown()]);
