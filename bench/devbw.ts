// `node .carry/build/bench/devbw.js [--sizes 1.6e7,6.4e7] [--k 32] [--rounds 15] [--out f.md] [--torch]`
// (or `npx tsx bench/devbw.ts`, gradwise's sources through tsx): W2 kept on the device, for issue #5's
// "W2 at >= 70 % of the device's copy bandwidth". `npm run bench` times W2 with its read back to
// the host, which on a discrete GPU is the PCIe link, not the device. Here every row repeats its
// work k times between two waits for the queue, and the time per repetition is the slope between
// k = 1 and k = K (medians over rounds, alternated), so the wait and the final read cancel out.
// Rows: copyBufferToBuffer and a vec4 copy kernel (bench_w2_vec4.wgsl's `copy`; 8 B/element: a read and a write), the raw W2
// vec4 kernel (12 B/element), gradwise's `a.mul(b).add(2).realize()` on its webgpu device (worker
// and main thread, each also with big work posted only at the read; each result disposed, as a
// loop that drops it would), and with --torch the
// torch-cuda rows of bench/torch_devbw.py. GB/s counts the bytes a kernel must move, per row.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { median } from "./measure.js";
import { commandLine, findUp } from "./paths.js";
import { dawnAdapter, describeAdapter } from "./systems/dawn.js";
import { findPython } from "./torch.js";
import { w2Inputs } from "./data.js";

const { flag } = commandLine();
const args = process.argv.slice(2);
const sizes = flag("--sizes", "1.6e7,6.4e7").split(",").map(Number);
const K = Number(flag("--k", "32"));
const rounds = Number(flag("--rounds", "15"));
const out = flag("--out", "");

type Run = (k: number) => Promise<void>;
interface Row { system: string; n: number; usPerRep: number; usAtK: number; bytesPerEl: number }
const rows: Row[] = [];

async function slope(run: Run): Promise<[number, number]> {
  await run(1);
  await run(K);
  const t1: number[] = [], tk: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const [k, ts] of [[1, t1], [K, tk]] as const) {
      const t0 = performance.now();
      await run(k);
      ts.push(performance.now() - t0);
    }
  }
  return [((median(tk) - median(t1)) / (K - 1)) * 1e3, (median(tk) / K) * 1e3];
}

async function measure(system: string, n: number, bytesPerEl: number, run: Run): Promise<void> {
  const [usPerRep, usAtK] = await slope(run);
  const row = { system, n, usPerRep, usAtK, bytesPerEl };
  rows.push(row);
  console.log(JSON.stringify(row));
}

// The raw rows: one device, the adapter's own limits.
const adapter = await dawnAdapter();
const { maxStorageBufferBindingSize, maxBufferSize } = adapter.limits;
const device = await adapter.requestDevice({ requiredLimits: { maxStorageBufferBindingSize, maxBufferSize } });
const module = device.createShaderModule({ code: readFileSync(findUp("shaders/bench_w2_vec4.wgsl"), "utf8") });
const pipelineOf = (entryPoint: string): GPUComputePipeline =>
  device.createComputePipeline({ layout: "auto", compute: { module, entryPoint } });
const w2Pipe = pipelineOf("main"), copyPipe = pipelineOf("copy");
const U = GPUBufferUsage;

for (const n of sizes) {
  const bytes = Math.ceil(n / 4) * 16;
  const mk = (): GPUBuffer => device.createBuffer({ size: bytes, usage: U.STORAGE | U.COPY_SRC | U.COPY_DST });
  const [a, b, c] = [mk(), mk(), mk()];
  const [a0, b0] = w2Inputs(n);
  device.queue.writeBuffer(a, 0, a0);
  device.queue.writeBuffer(b, 0, b0);
  const threads = Math.ceil(n / 4), groups = Math.ceil(threads / 256);
  const gx = Math.min(groups, 65535), gy = Math.ceil(groups / gx);
  const params = device.createBuffer({ size: 16, usage: U.UNIFORM | U.COPY_DST });
  device.queue.writeBuffer(params, 0, new Uint32Array([threads, gx * 256, 0, 0]));
  const group = (p: GPUComputePipeline, bufs: (GPUBuffer | null)[]): GPUBindGroup => device.createBindGroup({
    layout: p.getBindGroupLayout(0),
    entries: bufs.flatMap((buffer, binding) => (buffer ? [{ binding, resource: { buffer } }] : [])),
  });
  const w2Group = group(w2Pipe, [a, b, c, params]), copyGroup = group(copyPipe, [a, null, c, params]);
  const submit = async (record: (e: GPUCommandEncoder) => void, k: number): Promise<void> => {
    const enc = device.createCommandEncoder();
    for (let i = 0; i < k; i++) record(enc);
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
  };
  const dispatch = (p: GPUComputePipeline, g: GPUBindGroup) => (e: GPUCommandEncoder): void => {
    const pass = e.beginComputePass();
    pass.setPipeline(p);
    pass.setBindGroup(0, g);
    pass.dispatchWorkgroups(gx, gy);
    pass.end();
  };
  await measure("raw-copyBufferToBuffer", n, 8, (k) => submit((e) => e.copyBufferToBuffer(a, 0, c, 0, bytes), k));
  await measure("raw-copy-vec4", n, 8, (k) => submit(dispatch(copyPipe, copyGroup), k));
  await measure("raw-w2-vec4", n, 12, (k) => submit(dispatch(w2Pipe, w2Group), k));
  [a, b, c, params].forEach((x) => x.destroy());
}
const info = describeAdapter(adapter);
device.destroy();

// gradwise, through its public API: src/ under tsx, the compiled .carry/build/src on a GPU machine.
const lib = await import("../src/index.js");
// "-noflush": every repetition posted at the final read (GRADWISE_WEBGPU_FLUSH_MB past the loop's
// bytes), as before the link posted big work early; the other rows use the default.
for (const [thread, flush] of [["worker", ""], ["main", ""], ["worker", "-noflush"], ["main", "-noflush"]] as const) {
  if (flush) process.env.GRADWISE_WEBGPU_FLUSH_MB = "1e9";
  const dev = await lib.requestDevice("webgpu", { thread });
  delete process.env.GRADWISE_WEBGPU_FLUSH_MB;
  for (const n of sizes) {
    const [a0, b0] = w2Inputs(n);
    const a = lib.tensor(a0, { device: dev }), b = lib.tensor(b0, { device: dev });
    const got = await a.mul(b).add(2).data();
    let bad = 0;
    for (let i = 0; i < n; i++) if (got[i] !== Math.fround(Math.fround((a0[i] as number) * (b0[i] as number)) + 2)) bad++;
    if (bad) throw new Error(`gradwise W2 at N=${n}: ${bad} elements differ from a*b+2`);
    await measure(`gradwise-webgpu-${thread}${flush}`, n, 12, async (k) => {
      for (let i = 0; i < k; i++) a.mul(b).add(2).realize().dispose();
      await lib.zeros([1], { device: dev }).add(1).data();
    });
    a.dispose();
    b.dispose();
  }
  await lib.shutdown();
}

let torchInfo = "not run (pass --torch)";
if (args.includes("--torch")) {
  const py = findPython();
  if (!py) torchInfo = "no Python with torch";
  else {
    const text = execFileSync(py.python, [findUp("bench/torch_devbw.py"), JSON.stringify({ sizes, k: K, rounds })], {
      encoding: "utf8", timeout: 300_000,
    });
    for (const line of text.trim().split("\n")) {
      const m = JSON.parse(line) as { system?: string; n: number; us_per_rep: number; us_at_k: number; bytes_per_el: number; info?: string; error?: string };
      if (m.error) torchInfo = m.error;
      else if (m.info) torchInfo = `${m.info}, torch ${py.version}`;
      else if (m.system) rows.push({ system: m.system, n: m.n, usPerRep: m.us_per_rep, usAtK: m.us_at_k, bytesPerEl: m.bytes_per_el });
    }
  }
}

const gbps = (r: Row): number => (r.bytesPerEl * r.n) / (r.usPerRep * 1e3);
const lines = [
  `# W2 resident on the device: ${info.description || info.device} (${info.vendor} ${info.architecture})`,
  "",
  `K = ${K}, ${rounds} rounds; µs per repetition = slope between k = 1 and k = K; torch: ${torchInfo}.`,
  "The copy ceiling of each N is the fastest copy row of that N (8 B/element).",
  "",
  "| system | N | µs / rep | µs / rep at K | B/el | GB/s | ÷ copy ceiling |",
  "|---|---:|---:|---:|---:|---:|---:|",
];
for (const n of sizes) {
  const mine = rows.filter((r) => r.n === n);
  const ceiling = Math.max(...mine.filter((r) => r.system.includes("copy")).map(gbps));
  for (const r of mine)
    lines.push(`| ${r.system} | ${n} | ${r.usPerRep.toFixed(1)} | ${r.usAtK.toFixed(1)} | ${r.bytesPerEl} | ${gbps(r).toFixed(0)} | ${(gbps(r) / ceiling).toFixed(2)} |`);
}
const text = lines.join("\n") + "\n";
console.log(text);
if (out) writeFileSync(out, text);
process.exit(0);
