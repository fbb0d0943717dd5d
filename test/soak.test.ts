// Quick soak (npm test): 1 000 SGD steps of the benchmark's W3 regression on every device with no
// explicit dispose; allocated bytes after step 1 000 stay within 5% of step 100, and the fit
// matches PyTorch's. `npm run soak` runs the 10 000-step version (bench/soak.ts).
import { describe, expect, test } from "vitest";
import { type Device, trackTensors } from "../src/index.js";
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
