// PyTorch as a peer (--torch): the first Python that can import torch runs bench/torch_ref.py over
// the same cells; its JSON lines become rows like any child's.
import { execFileSync } from "node:child_process";
import { findUp } from "./paths.js";
import type { SystemSpec } from "./plan.js";
import { runProcess, type Exit } from "./runner.js";
import type { Budget, Info, Row, WorkloadId } from "./types.js";

const SCRIPT = findUp("bench/torch_ref.py");

/** The first of $PYTHON, python3, /usr/bin/python3, python whose `import torch` works. */
export function findPython(): { python: string; version: string } | null {
  const seen = new Set<string>();
  for (const py of [process.env.PYTHON, "python3", "/usr/bin/python3", "python"]) {
    if (!py || seen.has(py)) continue;
    seen.add(py);
    try {
      const version = execFileSync(py, ["-c", "import torch; print(torch.__version__)"], {
        encoding: "utf8", timeout: 120_000, stdio: ["ignore", "pipe", "ignore"],
      }).trim();
      return { python: py, version };
    } catch {
      // next candidate
    }
  }
  return null;
}

export interface TorchHooks {
  onInfo(info: Info): void;
  onStart(what: string): void;
  onRow(row: Row): void;
}

/** Runs torch_ref.py for one system, in a process of its own; rows arrive through `hooks`. */
export async function runTorch(
  python: string,
  system: SystemSpec,
  cells: { workload: WorkloadId; n: number }[],
  budget: Budget,
  shareS: number,
  stallS: number,
  hooks: TorchHooks,
): Promise<Exit> {
  const job = { systems: [system.id], cells, budget, budgets: { [system.id]: shareS } };
  const timeoutS = shareS + 2 * budget.cellCapS + 60;
  return runProcess(python, [SCRIPT, JSON.stringify(job)], {
    ipc: false,
    timeoutS,
    stallS,
    onMessage: (m) => {
      const msg = m as { type?: string; info?: Info; row?: Row; system?: string; workload?: string; n?: number };
      if (msg.type === "info" && msg.info) hooks.onInfo(msg.info);
      else if (msg.type === "start") hooks.onStart(`${msg.system} ${msg.workload} N=${msg.n}`);
      else if (msg.type === "row" && msg.row) hooks.onRow(msg.row);
    },
  });
}
