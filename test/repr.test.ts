// Every PyTorch repr case, built as a real tensor on every device: toString(), console.log's
// inspect and the async format() print PyTorch's repr byte for byte, suffixes included.
import { inspect } from "node:util";
import { describe, expect, test } from "vitest";
import { type Device, tensor } from "../src/index.js";
import { availableDevices, decode, loadFixture } from "./setup.js";

interface ReprCase {
  name: string;
  shape: number[];
  data: (number | string)[];
  suffixes: string[];
  repr: string;
}

// Cases naming a device are PyTorch-only (gradwise prints no device, see README).
const cases = loadFixture<ReprCase[]>("repr.json").filter((c) => !c.suffixes.some((s) => s.startsWith("device=")));
const devices = await availableDevices();

describe.each(devices.map((d) => [d.type, d] as [string, Device]))("%s", (_, device) => {
  test("covers at least 40 cases", () => expect(cases.length).toBeGreaterThanOrEqual(40));
  test.each(cases.map((c) => [c.name, c] as const))("%s", async (_n, c) => {
    const requiresGrad = c.suffixes.length > 0;
    let t = tensor(Array.from(c.data, decode), { device }).reshape(c.shape).detach();
    if (requiresGrad) t.requiresGrad_();
    if (c.suffixes.includes("grad_fn=<MulBackward0>")) t = t.mul(1);
    expect(t.toString()).toBe(c.repr);
    expect(inspect(t)).toBe(c.repr);
    expect(await t.format()).toBe(c.repr);
  });

  test("format() prints the tensor as it is at the call: an in-place op or requiresGrad_ after it shows in neither part", async () => {
    const y = tensor([1, 2], { device, requiresGrad: true }).mul(2), x = tensor([1, 2], { device });
    const p = y.format(), q = x.format();
    y.add_(1);
    x.requiresGrad_();
    expect([await p, await q]).toEqual(["tensor([2., 4.], grad_fn=<MulBackward0>)", "tensor([1., 2.])"]);
  });
});
