// `npm run bench`: measures gradwise on every device next to its peers and the machine's ceilings,
// all in this one run (each system in its own process, with a time limit), then writes
// <out>/<machine>-<date>.{json,md,svg} and prints gradwise's ratios. See bench/README.md.
import { execFileSync } from "node:child_process";
import { cpus, totalmem, release, platform } from "node:os";
import { parseArgs, USAGE, type Options } from "./cli.js";
import { compiled, sibling } from "./paths.js";
import { cellsOf, SYSTEMS, type SystemSpec } from "./plan.js";
import { fmtN, Progress } from "./progress.js";
import { ratioText, writeResults } from "./report.js";
import { runProcess } from "./runner.js";
import { findPython, runTorch } from "./torch.js";
import type { ChildMessage, Info, Row, RunResult, SystemResult, WorkloadId } from "./types.js";

const CHILD = sibling("child");
const LOADER = compiled ? [] : ["--import", import.meta.resolve("tsx")];
type CellRef = { workload: WorkloadId; n: number };
const key = (w: string, n: number): string => `${w}@${n}`;

class Collector {
  readonly rows: Row[] = [];
  readonly systems: SystemResult[] = [];
  constructor(readonly progress: Progress) {}

  /** Records a system's result, adding a failed or skipped row for every cell it did not report. */
  finish(spec: SystemSpec, cells: CellRef[], got: Map<string, Row>, s: Omit<SystemResult, "id" | "label" | "role" | "device">): void {
    for (const c of cells) {
      let r = got.get(key(c.workload, c.n));
      if (!r) {
        r = { system: spec.id, ...c, status: s.status === "skipped" ? "skipped" : "failed", reason: s.reason ?? "not reported" };
        this.progress.row(r, s.status !== "skipped");
      }
      this.rows.push(r);
    }
    this.systems.push({ id: spec.id, label: spec.label, role: spec.role, device: spec.device, ...s });
    if (s.status !== "ok") this.progress.note(`${spec.id}: ${s.status}: ${s.reason}`);
  }
}

async function runNodeSystem(spec: SystemSpec, cells: CellRef[], o: Options, shareS: number, col: Collector): Promise<void> {
  const got = new Map<string, Row>();
  let info: Info = {};
  let fatal: string | null = null;
  let done = false;
  let last = "";
  const budget = { ...o.budget, systemS: Math.round(shareS) };
  const job = { system: spec.id, cells, budget };
  const exit = await runProcess(process.execPath, ["--expose-gc", ...LOADER, CHILD, JSON.stringify(job)], {
    ipc: true,
    timeoutS: budget.systemS + 2 * budget.cellCapS + 45,
    stallS: o.stallS,
    onMessage: (raw) => {
      const m = raw as ChildMessage;
      if (m.type === "info") info = m.info;
      else if (m.type === "start") col.progress.start((last = `${spec.id} ${m.workload} N=${fmtN(m.n)}`));
      else if (m.type === "row") {
        got.set(key(m.row.workload, m.row.n), m.row);
        col.progress.row(m.row);
      } else if (m.type === "fatal") fatal = m.reason;
      else if (m.type === "done") done = true;
    },
  });
  const reason = fatal ?? (exit.timedOut
    ? `killed after ${Math.round(exit.seconds)} s: ${exit.timedOut} (hung in ${last || "startup"})`
    : `exited (${exit.signal ?? `code ${exit.code}`}) before reporting: ${exit.tail || "no output"}`);
  const ok = done && fatal === null;
  col.finish(spec, cells, got, { status: ok ? "ok" : "failed", ...(ok ? {} : { reason }), info, seconds: exit.seconds });
}

async function runTorchSystems(specs: SystemSpec[], o: Options, shareS: number, col: Collector, env: RunResult["env"]): Promise<void> {
  const cells = cellsOf(specs[0] as SystemSpec, o.sizes);
  const py = findPython();
  if (!py) {
    for (const s of specs) col.finish(s, cells, new Map(), { status: "failed", reason: "no Python on PATH can import torch", info: {}, seconds: 0 });
    return;
  }
  env.python = py.python;
  // One Python process per system, as each JS system has its own: a stalled cell (a prediction
  // far too low) then loses that system's remaining cells, not every torch system after it.
  for (const s of specs) {
    const rows = new Map<string, Row>();
    let info: Info = {};
    const exit = await runTorch(py.python, s, cells, o.budget, Math.round(shareS), o.stallS + 30, {
      onInfo: (i) => (info = i),
      onStart: (w) => col.progress.start(w),
      onRow: (r) => {
        rows.set(key(r.workload, r.n), r);
        col.progress.row(r);
      },
    });
    const reason = exit.timedOut ? `killed after ${Math.round(exit.seconds)} s: ${exit.timedOut}` : `torch_ref.py exited (${exit.signal ?? `code ${exit.code}`}): ${exit.tail}`;
    const complete = rows.size === cells.length;
    col.finish(s, cells, rows, { status: complete ? "ok" : "failed", ...(complete ? {} : { reason }), info, seconds: exit.seconds });
  }
}

function environment(): RunResult["env"] {
  const git = (args: string[]): string | null => {
    try {
      return execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      return null;
    }
  };
  const cpu = cpus();
  return {
    node: process.version, os: `${platform()} ${release()}`, cpu: cpu[0]?.model.trim() ?? "unknown",
    cores: cpu.length, memGiB: Math.round(totalmem() / 2 ** 30), commit: git(["rev-parse", "--short", "HEAD"]),
    dirty: (git(["status", "--porcelain", "--untracked-files=no"]) ?? "") !== "",
  };
}

/** "<gpu>-<n>cpu": lavapipe (Mesa's software Vulkan) is named as such; no adapter gives "nogpu". */
function machineName(systems: SystemResult[]): string {
  const a = systems.find((s) => typeof s.info.description === "string" && s.info.description !== "")?.info;
  const text = a ? `${a.device ?? ""} ${a.description ?? ""}` : "";
  const gpu = !a ? "nogpu" : /llvmpipe|lavapipe/i.test(text) ? "lavapipe"
    : String(a.device || a.description).toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 32);
  return `${gpu}-${cpus().length}cpu`;
}

async function main(): Promise<void> {
  let o: Options | "help";
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
  if (o === "help") return void process.stdout.write(`${USAGE}\n`);
  const t0 = Date.now();
  const startedAt = new Date();
  const env = environment();
  const plan = SYSTEMS.map((s) => ({ spec: s, cells: cellsOf(s, o.sizes) }));
  const col = new Collector(new Progress(plan.reduce((a, p) => a + p.cells.length, 0)));
  const selected = (s: SystemSpec): boolean => o.only === null || o.only.includes(s.id);
  const torchSpecs = SYSTEMS.filter((s) => !s.load);
  const torchRun = o.torch ? torchSpecs.filter(selected) : [];
  let left = plan.filter((p) => p.spec.load && selected(p.spec)).length + torchRun.length;
  // Each system may spend what is left of the run's target minus a floor kept for each later one.
  const floor = o.quick ? 8 : 60;
  const share = (): number =>
    Math.min(o.budget.systemS, Math.max(floor, o.runS - (Date.now() - t0) / 1000 - floor * (left - 1)));
  for (const { spec, cells } of plan.filter((p) => p.spec.load)) {
    if (!selected(spec)) {
      col.finish(spec, cells, new Map(), { status: "skipped", reason: "not selected (--only)", info: {}, seconds: 0 });
      continue;
    }
    await runNodeSystem(spec, cells, o, share(), col);
    left--;
  }
  if (torchRun.length) await runTorchSystems(torchRun, o, Math.max(floor, share() / torchRun.length), col, env);
  for (const s of torchSpecs.filter((t) => !torchRun.includes(t))) {
    const reason = o.torch ? "not selected (--only)" : "not requested (run with --torch)";
    col.finish(s, cellsOf(s, o.sizes), new Map(), { status: "skipped", reason, info: {}, seconds: 0 });
  }
  col.progress.end();
  const result: RunResult = {
    schema: 1, machine: o.machine ?? machineName(col.systems), date: startedAt.toISOString().slice(0, 10),
    startedAt: startedAt.toISOString(), command: ["npm run bench --", ...o.argv].join(" "), quick: o.quick,
    sizes: o.sizes, durationS: Math.round((Date.now() - t0) / 100) / 10, env, systems: col.systems,
    rows: col.rows, ratios: [],
  };
  const files = writeResults(result, o.out);
  process.stdout.write(`${ratioText(result)}\n`);
  process.stdout.write(`wrote ${files.join(", ")} in ${result.durationS} s\n`);
}

await main();
