// wgsl-w2-vec4 run by a worker thread: the main thread asks for each rep by message and gets the
// floats back transferred. The floor of any engine that keeps Dawn off the main thread, as gradwise
// does so that dataSync() and console.log(t) can block on a GPU tensor; next to wgsl-w2-vec4 (the
// same kernel on the main thread) it shows what the thread hop itself costs.
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { compiled } from "../paths.js";
import type { Cell, SystemImpl } from "../types.js";
import { wgsl } from "./wgsl.js";

const ROLE = "gradwise-bench-wgsl-thread";
type Ask = { op: "info" } | { op: "prepare"; n: number } | { op: "run" } | { op: "dispose" } | { op: "close" };
type Answer = { ok: true; data?: Float32Array; info?: SystemImpl["info"] } | { ok: false; error: string };

if (!isMainThread && workerData === ROLE) serve();

/** The worker's side: one W2 cell at a time, of the raw vec4 system. */
function serve(): void {
  const port = parentPort;
  if (!port) return;
  const sys = wgsl("vec4");
  let cell: Cell | null = null;
  port.on("message", (m: Ask) => {
    const answer = async (): Promise<Answer> => {
      const impl = await sys;
      if (m.op === "info") return { ok: true, info: impl.info };
      if (m.op === "prepare") cell = await (impl.cells.W2 as (n: number) => Cell | Promise<Cell>)(m.n);
      if (m.op === "dispose") cell?.dispose?.();
      if (m.op === "close") await impl.close?.();
      if (m.op !== "run") return { ok: true };
      if (!cell) throw new Error("run before prepare");
      return { ok: true, data: (await cell.run()) as Float32Array };
    };
    answer().then(
      (a) => port.postMessage(a, a.ok && a.data ? [a.data.buffer as ArrayBuffer] : []),
      (e: Error) => port.postMessage({ ok: false, error: e.stack ?? String(e) }),
    );
  });
}

export async function wgslWorker(): Promise<SystemImpl> {
  // Run from sources, the worker registers tsx itself (the run's --import flag does not reach it).
  const self = JSON.stringify(import.meta.url);
  const boot = compiled
    ? `import(${self})`
    : `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))}).then((t) => (t.register(), import(${self})))`;
  const worker = new Worker(boot, { eval: true, workerData: ROLE, execArgv: [] });
  // The worker answers in order; a dead one fails every question still open.
  const waiting: ((a: Answer) => void)[] = [];
  const gone = (why: string): void => waiting.splice(0).forEach((w) => w({ ok: false, error: why }));
  worker.on("message", (a: Answer) => waiting.shift()?.(a));
  worker.on("error", (e) => gone(`worker failed: ${e.message}`));
  worker.on("exit", (code) => gone(`worker exited (code ${code})`));
  const ask = (m: Ask): Promise<Answer & { ok: true }> =>
    new Promise((res, rej) => {
      waiting.push((a) => (a.ok ? res(a) : rej(new Error(a.error))));
      worker.postMessage(m);
    });
  const { info } = await ask({ op: "info" });
  return {
    info: { ...info, thread: "worker" },
    cells: {
      W2: async (n): Promise<Cell> => {
        await ask({ op: "prepare", n });
        return {
          run: async () => (await ask({ op: "run" })).data as Float32Array,
          // Not awaited (dispose is sync); a dead worker already failed the cell that needed it.
          dispose: () => void ask({ op: "dispose" }).catch(() => undefined),
        };
      },
    },
    close: async () => {
      await ask({ op: "close" });
      await worker.terminate();
    },
  };
}
