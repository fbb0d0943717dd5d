// Starts the WebGPU worker thread (or, for { thread: "main" }, its executor on this thread: InThread)
// and finds what it needs on disk: its module and shaders/.
// Built (dist/src/backend/*.js) the worker is a sibling .js file. From sources (vitest runs .ts
// directly, and its loader does not reach into worker threads) the worker's module graph is
// transpiled with TypeScript's transpileModule into a content-addressed folder in the OS temp dir.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { statSync, writeFileSync } from "node:fs";
import { createRequire, isBuiltin } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { EventEmitter } from "node:events";
import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import { serve } from "./webgpu_exec.js";
import { type Peer, SYNC_TIMEOUT_MS } from "./webgpu_link.js";
import { type Batch, type Budget, CTRL_BUSY, CTRL_BYTES, CTRL_DEAD, CTRL_MAPS, type Main, mib, type Reply, type WorkerInit } from "./webgpu_protocol.js";

const here = dirname(fileURLToPath(import.meta.url));

export interface Started {
  worker: Peer;
  /** Where the worker answers readSync (read with receiveMessageOnPort while blocked). */
  port: MessagePort;
  ctrl: SharedArrayBuffer;
  ready: Extract<Reply, { type: "ready" }>;
  budget: Budget;
}

/** Starts the worker and waits for its adapter; rejects with the worker's reason if it has none. */
export async function startWorker(opts: Partial<Budget> = {}): Promise<Started> {
  // Mesa's loader complains without it; the worker inherits this process's environment.
  process.env.XDG_RUNTIME_DIR ??= tmpdir();
  const ctrl = new SharedArrayBuffer(CTRL_BYTES);
  const { port1, port2 } = new MessageChannel();
  const exposeGc = typeof (globalThis as { gc?: unknown }).gc === "function";
  const budget = budgetOf(opts);
  const init: WorkerInit = { ctrl, shaders: readShaders(), exposeGc, ...budget };
  // execArgv: [] keeps test-runner loader flags (and --expose-gc, which Workers reject) out.
  const worker = new Worker(await workerUrl(), {
    workerData: { ...init, port: port2 },
    transferList: [port2],
    execArgv: [],
  });
  port1.unref();
  // Only our own listeners come off: removeAllListeners() would also drop the Worker's internal
  // newListener hook, and later 'message' listeners would never hear anything.
  let onError = (_e: Error): void => {};
  let onExit = (_code: number): void => {};
  const first = await new Promise<Reply>((res, rej) => {
    onError = rej;
    onExit = (code) => rej(new Error(`WebGPU worker exited during start-up (code ${code})`));
    worker.once("message", res).once("error", onError).once("exit", onExit);
  }).finally(() => worker.off("error", onError).off("exit", onExit));
  if (first.type !== "ready") {
    await worker.terminate();
    throw new Error(first.type === "fatal" ? first.message : `WebGPU worker: ${first.type} first`);
  }
  // A worker stopped inside one of Dawn's calls (napi_throw while it terminates), or with a Dawn
  // promise pending (a read's mapAsync, a fence: "Promise not resolved or rejected"), aborts the process:
  // as the process exits (process.exit(), an uncaught error), the worker settles them first: a fence
  // waits for the GPU work queued before it (up to GRADWISE_WEBGPU_TIMEOUT_MS; the worker is woken
  // to drop its queue and destroy the device).
  const words = new Int32Array(ctrl), atExit = (): void => {
    Atomics.store(words, CTRL_DEAD, 1);
    if (Atomics.load(words, CTRL_MAPS) !== 0) worker.postMessage({ cmds: [], meta: new Uint32Array(0) });
    const busy = (): boolean => Atomics.load(words, CTRL_BUSY) !== 0 || Atomics.load(words, CTRL_MAPS) !== 0;
    for (const end = Date.now() + SYNC_TIMEOUT_MS; busy() && Date.now() < end;) Atomics.wait(words, CTRL_MAPS, Atomics.load(words, CTRL_MAPS), 20);
  };
  process.once("exit", atExit);
  worker.once("exit", () => process.off("exit", atExit));
  return { worker, port: port1, ctrl, ready: first, budget };
}

const budgetOf = (opts: Partial<Budget>): Budget => (checkEnv(), {
  memoryLimitBytes: opts.memoryLimitBytes ?? mib("GRADWISE_WEBGPU_MEMORY_MB", Infinity),
  poolBytes: opts.poolBytes ?? mib("GRADWISE_WEBGPU_POOL_MB", 256),
});

/** The other settings the executor and the link read (dawn.ts, webgpu_link.ts), checked before it starts. */
function checkEnv(): void {
  const spin = process.env.GRADWISE_WEBGPU_SPIN_US, div = process.env.GRADWISE_WEBGPU_EXACT_DIV;
  if (spin && !(Number(spin) >= 0 && Number(spin) < Infinity)) throw new RangeError(`GRADWISE_WEBGPU_SPIN_US must be a number of µs >= 0, but is '${spin}'`);
  if (div && div !== "0" && div !== "1") throw new RangeError(`GRADWISE_WEBGPU_EXACT_DIV must be 0 or 1 (unset: a probe decides), but is '${div}'`);
  mib("GRADWISE_WEBGPU_FLUSH_MB", 128), mib("GRADWISE_WEBGPU_READ_SPLIT_MB", 64);
}

/**
 * The executor on this thread in the worker's place: a batch runs when posted and replies come
 * back as events, so no read waits for a thread to wake; none can block either. While a read is
 * pending, ref() keeps the process alive, as a worker would.
 */
export class InThread extends EventEmitter implements Peer {
  readonly inThread = true;
  private run: ((b: Batch) => void) | null = null;
  /** One timer for the device's life: ref'd while a read is pending, it holds the process open. */
  private alive = setInterval(() => {}, 2 ** 30).unref();
  private ended = false;
  /** The executor's side; its unref() is the worker ending. */
  readonly main: Main = {
    postMessage: (r) => void this.emit("message", r),
    on: (_event, f) => (this.run = f),
    unref: () => this.end(0),
  };
  postMessage(b: Batch): void { this.run?.(b); }
  ref(): void { this.alive.ref(); }
  unref(): void { this.alive.unref(); }
  terminate(): void { this.end(1); }
  private end(code: number): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.alive);
    setImmediate(() => this.emit("exit", code));
  }
}

/** Opens the device on this thread (InThread); rejects with the executor's reason if it has none. */
export async function startInThread(opts: Partial<Budget> = {}): Promise<Started> {
  process.env.XDG_RUNTIME_DIR ??= tmpdir();
  const ctrl = new SharedArrayBuffer(CTRL_BYTES);
  const { port1, port2 } = new MessageChannel();
  const budget = budgetOf(opts), peer = new InThread();
  const first = new Promise<Reply>((res) => peer.once("message", res));
  serve({ ctrl, shaders: readShaders(), exposeGc: false, ...budget }, peer.main, port2, false);
  const ready = await first;
  port1.unref();
  port2.unref();
  if (ready.type !== "ready") throw new Error(ready.type === "fatal" ? ready.message : `WebGPU: ${ready.type} first`);
  return { worker: peer, port: port1, ctrl, ready, budget };
}

/** The package root: the nearest folder above `from` holding shaders/common.wgsl. */
export function packageRoot(from = here): string {
  for (let d = from; ; d = dirname(d)) {
    if (existsSync(join(d, "shaders", "common.wgsl"))) return d;
    if (dirname(d) === d) throw new Error(`gradwise: no shaders/ folder above ${from}`);
  }
}

/** Every .wgsl file in the package's shaders/ folder, by file name, but the bench's (bench_*). */
export function readShaders(): Record<string, string> {
  const dir = join(packageRoot(), "shaders");
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir)) {
    if (f.endsWith(".wgsl") && !f.startsWith("bench_")) out[f] = readFileSync(join(dir, f), "utf8");
  }
  return out;
}

/** The worker module to start: the built sibling .js, else a transpiled copy of the .ts sources. */
export async function workerUrl(): Promise<URL> {
  const js = join(here, "webgpu_worker.js");
  if (existsSync(js)) return pathToFileURL(js);
  const out = await transpileGraph([join(here, "webgpu_worker.ts")]);
  return pathToFileURL(join(out, relative(packageRoot(), js)));
}

const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])([^"']+)\2/g;

/**
 * Transpiles the .ts files reachable from `entries` through relative imports into a folder that
 * mirrors the package layout (with shaders/ and a package.json of type module), and returns it.
 * Bare imports of packages become absolute file URLs, as the folder has no node_modules.
 */
export async function transpileGraph(entries: readonly string[]): Promise<string> {
  const ts = (await import("typescript")).default;
  const root = packageRoot();
  const req = createRequire(join(root, "package.json"));
  const files = new Map<string, string>();
  const todo = [...entries];
  for (let f = todo.pop(); f !== undefined; f = todo.pop()) {
    if (files.has(f)) continue;
    const src = readFileSync(f, "utf8");
    files.set(f, src);
    for (const m of src.matchAll(SPECIFIER)) {
      const spec = m[3] ?? "";
      if (spec.startsWith(".")) todo.push(resolve(dirname(f), spec.replace(/\.js$/, ".ts")));
    }
  }
  const emitted = new Map<string, string>();
  const hash = createHash("sha256");
  for (const [f, src] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const js = ts.transpileModule(src, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: f,
    }).outputText;
    const fixed = js.replace(SPECIFIER, (all, pre: string, q: string, spec: string) => {
      if (spec.startsWith(".") || isBuiltin(spec)) return all;
      return `${pre}${q}${pathToFileURL(req.resolve(spec)).href}${q}`;
    });
    const rel = relative(root, f).replace(/\.ts$/, ".js");
    emitted.set(rel, fixed);
    hash.update(rel).update("\0").update(fixed).update("\0");
  }
  const shaders = readShaders();
  for (const [name, text] of Object.entries(shaders)) hash.update(name).update(text);
  const out = join(tmpdir(), `gradwise-ts-${hash.digest("hex").slice(0, 16)}`);
  if (existsSync(join(out, "package.json"))) return out;
  // Write a private folder, then rename it into place: concurrent test files may race here.
  const tmp = `${out}.${process.pid}.${Date.now()}`;
  for (const [rel, text] of emitted) {
    mkdirSync(dirname(join(tmp, rel)), { recursive: true });
    writeFileSync(join(tmp, rel), text);
  }
  mkdirSync(join(tmp, "shaders"), { recursive: true });
  for (const [name, text] of Object.entries(shaders)) {
    writeFileSync(join(tmp, "shaders", name), text);
  }
  writeFileSync(join(tmp, "package.json"), '{ "type": "module" }\n');
  try {
    renameSync(tmp, out);
  } catch {
    rmSync(tmp, { recursive: true, force: true });
  }
  pruneStale(out);
  return out;
}

/** Removes other gradwise-ts-* folders untouched for a day: each source edit makes a new one. */
function pruneStale(keep: string): void {
  const day = Date.now() - 86_400_000;
  for (const f of readdirSync(tmpdir())) {
    const p = join(tmpdir(), f);
    if (!f.startsWith("gradwise-ts-") || p === keep) continue;
    try {
      if (statSync(p).mtimeMs < day) rmSync(p, { recursive: true, force: true });
    } catch {
      // Another process may be pruning the same folder.
    }
  }
}
