// Quick soak (npm test): 1 000 SGD steps of the benchmark's W3 regression on every device with no
// explicit dispose; allocated bytes after step 1 000 stay within 5% of step 100, and the fit
// matches PyTorch's. `npm run soak` runs the 10 000-step version (bench/soak.ts). On webgpu, also
// 15 000 steps with no forced collection, and 15 000 with no await at all on either thread: the
// process's memory mappings stay bounded.
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { type Device, optim, requestDevice, shutdown, type Tensor, tensor, trackTensors, zeros } from "../src/index.js";
import { soak } from "../bench/soak.js";
import { availableDevices, loadFixture } from "./setup.js";

const torch = loadFixture<{ n: number; steps: number; loss: number; w: number; b: number }>("soak.json");
const devices = await availableDevices();
trackTensors();

describe.each(devices.map((d) => [d.type, d] as [string, Device]))("%s", (type, device) => {
  test(`${torch.steps} W3 steps: memory flat, the fit as PyTorch's`, { timeout: 300_000 }, async () => {
    const r = await soak(device, torch.steps, [100, torch.steps], torch.n);
    const a100 = r.allocated[100] as number, a1000 = r.allocated[torch.steps] as number;
    console.log(`${type}: allocated ${a100} B after step 100, ${a1000} B after ${torch.steps}; live tensors ${r.liveTensors[100]}, ${r.liveTensors[torch.steps]}`);
    expect(a100).toBeGreaterThan(0);
    expect(a1000).toBeLessThanOrEqual(a100 * 1.05);
    expect(r.liveTensors[torch.steps]).toBe(r.liveTensors[100]);
    expect(r.w).toBeCloseTo(torch.w, 4);
    expect(r.b).toBeCloseTo(torch.b, 4);
    expect(Math.abs(r.finalLoss - torch.loss)).toBeLessThan(1e-3 * torch.loss);
  });
});

const gpu = devices.find((d) => d.type === "webgpu");
const maps = (): number => readFileSync("/proc/self/maps", "utf8").split("\n").length;
// Each step makes ~6 bind groups, which hold native memory V8 does not see (on lavapipe a memory
// mapping each): before the executor collected its heap every 4 096 groups, this run reached
// vm.max_map_count (65 530) and died of SIGSEGV inside Dawn's createBindGroup.
test.skipIf(!gpu || !existsSync("/proc/self/maps"))("webgpu: 15 000 SGD steps with no forced collection keep memory mappings bounded", { timeout: 300_000 }, async () => {
  const on = { device: gpu as Device };
  const n = 1000, x = tensor(Float32Array.from({ length: n }, (_, i) => i / n), on);
  const y = x.mul(3).add(1), w = zeros([1], { ...on, requiresGrad: true }), b = zeros([1], { ...on, requiresGrad: true });
  const opt = new optim.SGD([w, b], { lr: 0.5 });
  const before = maps();
  let most = before;
  for (let s = 1; s <= 15_000; s++) {
    opt.zeroGrad();
    const loss = x.mul(w).add(b).sub(y).square().mean();
    loss.backward();
    opt.step();
    if (s % 1000 === 0) (await loss.data(), (most = Math.max(most, maps())));
  }
  console.log(`webgpu: ${before} memory mappings before 15 000 steps, at most ${most} during`);
  expect(most - before).toBeLessThan(20_000);
  expect((await w.data())[0]).toBeCloseTo(3, 1);
});

const STEPS = 15_000, LIMIT = 20_000;
/**
 * STEPS SGD steps that never await (no log, no read) until the end, sampling the mappings every 500
 * steps. Dawn frees a dropped bind group only after a turn of the event loop of the thread running
 * it; before the executor waited for one when two collections came without one, this loop reached
 * vm.max_map_count and died of SIGSEGV (~20 000 steps with the worker, ~10 000 on the main thread). It stops at
 * LIMIT more mappings, so that a regression fails here instead of crashing the run.
 */
async function noAwait(device: Device): Promise<{ growth: number; w: Tensor }> {
  const on = { device };
  const n = 1000, x = tensor(Float32Array.from({ length: n }, (_, i) => i / n), on);
  const y = x.mul(3).add(1), w = zeros([1], { ...on, requiresGrad: true }), b = zeros([1], { ...on, requiresGrad: true });
  const opt = new optim.SGD([w, b], { lr: 0.5 });
  const before = maps();
  let growth = 0;
  for (let s = 1; s <= STEPS && growth < LIMIT; s++) {
    opt.zeroGrad();
    x.mul(w).add(b).sub(y).square().mean().backward();
    opt.step();
    if (s % 500 === 0) growth = Math.max(growth, maps() - before);
  }
  await w.data();
  growth = Math.max(growth, maps() - before);
  console.log(`webgpu (${(device.backend as { thread?: string }).thread}): ${before} memory mappings before ${STEPS} steps without an await, at most ${growth} more`);
  return { growth, w };
}

test.skipIf(!gpu || !existsSync("/proc/self/maps"))(`webgpu, worker: ${STEPS} SGD steps without an await keep memory mappings bounded`, { timeout: 300_000 }, async () => {
  const { growth, w } = await noAwait(gpu as Device);
  expect(growth).toBeLessThan(LIMIT);
  expect((await w.data())[0]).toBeCloseTo(3, 1);
});

test.skipIf(!gpu || !existsSync("/proc/self/maps"))(`webgpu, main thread: ${STEPS} SGD steps without an await keep memory mappings bounded`, { timeout: 300_000 }, async () => {
  await shutdown(); // the worker device goes; this test opens the other kind
  try {
    const { growth, w } = await noAwait(await requestDevice("webgpu", { thread: "main" }));
    expect(growth).toBeLessThan(LIMIT);
    expect((await w.data())[0]).toBeCloseTo(3, 1);
  } finally {
    await shutdown();
  }
});
