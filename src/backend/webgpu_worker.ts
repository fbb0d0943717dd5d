// The WebGPU worker thread: runs webgpu_exec.ts's executor for the main thread's WorkerLink, and
// turns its own unexpected exit or crash into a fatal reason. It ends by itself once Dawn settled
// its promises (process.exit while one is pending would abort).
import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import { serve } from "./webgpu_exec.js";
import type { WorkerInit } from "./webgpu_protocol.js";

const init = workerData as WorkerInit & { port: MessagePort };
const ex = serve(init, parentPort as MessagePort, init.port, true);
process.on("exit", () => {
  if (!ex.closing()) ex.fatal("WebGPU worker exited unexpectedly");
});
process.on("uncaughtException", (e) => {
  ex.fatal(`WebGPU worker crashed: ${e.stack ?? String(e)}`);
  process.exitCode = 1;
});
