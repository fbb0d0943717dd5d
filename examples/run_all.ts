// The demo: runs the four tutorial workflows on the best device found (WebGPU, else the CPU,
// announced in one line). Run with `npm run demo`.
import { requestDevice, setDefaultDevice, shutdown } from "../src/index.js";
import { accumulation } from "./accumulation.js";
import { gradFn } from "./grad_fn.js";
import { sgd } from "./sgd.js";
import { stopHistory } from "./stop_history.js";

async function main(): Promise<void> {
  try {
    const gpu = await requestDevice("webgpu");
    setDefaultDevice(gpu);
    const adapter = (gpu.backend as { adapterName?: string }).adapterName ?? "unknown adapter";
    console.log(`device: webgpu (${adapter})`);
  } catch (e) {
    console.log(`device: cpu (no WebGPU adapter: ${(e as Error).message.split("\n")[0]})`);
  }
  for (const [title, fn] of [
    ["(a) grad_fn, backward() and backward(v)", gradFn],
    ["(b) stopping history", stopHistory],
    ["(c) gradient accumulation", accumulation],
    ["(d) gradient descent and optim.SGD", sgd],
  ] as const) {
    console.log(`\n# ${title}`);
    fn();
  }
  await shutdown();
}

await main();
