// Soak: the benchmark's W3 regression (SGD on y = 3x + 1) for many steps with no explicit
// dispose, recording each device's allocated bytes at checkpoints. The loop awaits the loss every
// LOG_EVERY steps, as a training loop that logs does: collected tensors are freed between tasks.
// `npm run soak` runs 10 000 steps on cpu and webgpu; test/soak.test.ts runs 1 000.
import { pathToFileURL } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { type Device, memory, optim, requestDevice, shutdown, tensor, trackTensors, zeros } from "../src/index.js";
import { IDLE_MS } from "../src/backend/webgpu_protocol.js";
import { w3Inputs } from "./data.js";
import { W3_LR } from "./types.js";

export const LOG_EVERY = 10;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
/**
 * Collects garbage, lets the FinalizationRegistry callbacks that free buffers run, and waits out
 * the WebGPU pool's idle time, so that a checkpoint sees what the run retains.
 */
async function settle(device: Device): Promise<void> {
  // Collected tensors leave the live count when their finalizers run, and V8 frees dead array
  // buffers on a background thread: a loaded machine can delay either past one round, so collect
  // until the count and the bytes hold still for three rounds of 20 ms (at most 30 rounds). Two of
  // 5 ms were once too few under the full suite: 4 collected tensors were still counted live.
  for (let k = 0, still = 0, last = ""; k < 30 && still < 3; k++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
    const m = memory(device), now = `${m.liveTensors ?? 0}:${m.allocatedBytes}`;
    still = now === last ? still + 1 : 0;
    last = now;
  }
  if (device.type === "webgpu") await new Promise((r) => setTimeout(r, IDLE_MS + 100));
}

export interface SoakResult {
  device: string;
  n: number;
  /** step -> allocated bytes after it */
  allocated: Record<number, number>;
  liveTensors: Record<number, number | null>;
  /** The most allocated bytes seen at any logging step (no collection forced there). */
  peak: number;
  finalLoss: number;
  w: number;
  b: number;
}

export async function soak(device: Device, steps: number, at: readonly number[], n = 10_000): Promise<SoakResult> {
  const [xs, ys] = w3Inputs(n);
  const x = tensor(xs, { device }), y = tensor(ys, { device });
  const w = zeros([1], { device, requiresGrad: true });
  const b = zeros([1], { device, requiresGrad: true });
  const opt = new optim.SGD([w, b], { lr: W3_LR });
  const r: SoakResult = { device: device.type, n, allocated: {}, liveTensors: {}, peak: 0, finalLoss: NaN, w: NaN, b: NaN };
  for (let step = 1; step <= steps; step++) {
    opt.zeroGrad();
    const loss = x.mul(w).add(b).sub(y).square().mean();
    loss.backward();
    opt.step();
    if (step % LOG_EVERY === 0 || step === steps) {
      r.finalLoss = (await loss.data())[0] as number;
      r.peak = Math.max(r.peak, memory(device).allocatedBytes);
    }
    if (at.includes(step)) {
      await settle(device);
      await loss.data(); // a read brings the worker's pool statistics along
      const m = memory(device);
      r.allocated[step] = m.allocatedBytes;
      r.liveTensors[step] = m.liveTensors;
    }
  }
  r.w = w.item();
  r.b = b.item();
  return r;
}

async function main(): Promise<void> {
  const steps = Number(process.argv[2] ?? 10_000);
  trackTensors();
  const at = [100, 1_000, 10_000].filter((s) => s <= steps);
  for (const type of ["cpu", "webgpu"] as const) {
    if (type === "webgpu") process.env.XDG_RUNTIME_DIR ??= "/tmp";
    const t0 = performance.now();
    const r = await soak(await requestDevice(type), steps, at);
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    const rows = at.map((k) => `step ${k}: ${r.allocated[k]} B allocated, ${r.liveTensors[k]} live tensors`);
    console.log(`${type} (${s} s, peak ${r.peak} B allocated, loss ${r.finalLoss.toExponential(3)}, w ${r.w.toFixed(4)}, b ${r.b.toFixed(4)})\n  ${rows.join("\n  ")}`);
  }
  await shutdown();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
