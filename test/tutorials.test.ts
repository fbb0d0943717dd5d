// The four tutorial examples print, on every device, exactly PyTorch's transcript of the same program.
import { afterAll, describe, expect, test } from "vitest";
import { type Device, setDefaultDevice } from "../src/index.js";
import { accumulation } from "../examples/accumulation.js";
import { gradFn } from "../examples/grad_fn.js";
import { makePrinter } from "../examples/print.js";
import { sgd } from "../examples/sgd.js";
import { stopHistory } from "../examples/stop_history.js";
import { availableDevices, loadFixture } from "./setup.js";

const transcripts = loadFixture<Record<string, string>>("tutorials.json");
const examples = { grad_fn: gradFn, stop_history: stopHistory, accumulation, sgd };
const devices = await availableDevices();
afterAll(() => setDefaultDevice("cpu"));

describe.each(devices.map((d) => [d.type, d] as [string, Device]))("%s", (_, device) => {
  test.each(Object.entries(examples))("%s prints PyTorch's transcript", (name, fn) => {
    setDefaultDevice(device);
    const lines: string[] = [];
    fn(makePrinter((l) => lines.push(l)));
    setDefaultDevice("cpu");
    expect(lines.join("\n") + "\n").toBe(transcripts[name]);
  });
});
