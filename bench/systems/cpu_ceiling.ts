// The CPU ceiling for W2: triad.c's loop built at bench time with the C compiler when there is one
// (it times itself, so no process hop is counted), else a Float64Array copy loop scaled to 12 B/elem.
// "fresh": the same loop writing a new malloc'd array each call (freed inside the timing), what an
// engine pays that hands its reader a new result, as PyTorch and gradwise do.
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { findUp } from "../paths.js";
import type { Cell, SystemImpl } from "../types.js";

const SRC = findUp("bench/triad.c");

function build(dir: string): { exe: string; cc: string } | null {
  const exe = join(dir, "triad");
  for (const cc of [process.env.CC ?? "cc", "gcc", "clang"]) {
    for (const flags of [["-O3", "-march=native"], ["-O2"]]) {
      try {
        execFileSync(cc, [...flags, "-std=c11", "-o", exe, SRC], { stdio: "ignore", timeout: 60_000 });
        return { exe, cc: `${cc} ${flags.join(" ")}` };
      } catch {
        // try the next compiler or flags
      }
    }
  }
  return null;
}

/** Talks triad.c's line protocol: one request, one reply line. */
function server(exe: string): { ask(line: string): Promise<string>; proc: ChildProcessWithoutNullStreams } {
  const proc = spawn(exe, [], { stdio: ["pipe", "pipe", "pipe"] });
  const lines = createInterface({ input: proc.stdout });
  const waiting: ((s: string) => void)[] = [];
  lines.on("line", (l) => waiting.shift()?.(l));
  proc.on("exit", (code) => waiting.splice(0).forEach((w) => w(`exit ${code}`)));
  return {
    proc,
    ask: (line) =>
      new Promise((res) => {
        waiting.push(res);
        proc.stdin.write(`${line}\n`);
      }),
  };
}

export async function cpuCeiling(kind: "reuse" | "fresh" = "reuse"): Promise<SystemImpl> {
  const dir = mkdtempSync(join(tmpdir(), "gradwise-bench-"));
  const built = build(dir);
  if (!built) {
    rmSync(dir, { recursive: true, force: true });
    if (kind === "fresh") throw new Error("needs a C compiler (cc, gcc or clang): none built triad.c");
    return { info: { method: "Float64Array copy loop, timed at 16 B/elem, scaled to 12" }, cells: { W2: copyCell } };
  }
  const c = server(built.exe);
  const cell = async (n: number): Promise<Cell> => {
    const r = await c.ask(`alloc ${n}`);
    if (r !== "ok") throw new Error(`triad alloc ${n}: ${r}`);
    const selfTimed = async (): Promise<[number, number]> => {
      const [t, s] = (await c.ask(kind === "fresh" ? "fresh" : "run")).split(" ").map(Number);
      if (t === undefined || s === undefined || Number.isNaN(t)) throw new Error("triad: bad reply");
      return [t, s];
    };
    return { selfTimed, run: async () => (await selfTimed())[1] };
  };
  return {
    info: { method: `C loop c=a*b+2 (float32, 1 thread${kind === "fresh" ? ", c malloc'd and freed per call" : ""})`, compiler: built.cc },
    cells: { W2: cell },
    close: async () => {
      c.proc.stdin.end("quit\n");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function copyCell(n: number): Cell {
  const a = new Float64Array(n).fill(1.5);
  const b = new Float64Array(n);
  const selfTimed = async (): Promise<[number, number]> => {
    const t = performance.now();
    for (let i = 0; i < n; i++) b[i] = a[i] as number;
    return [((performance.now() - t) / 1000) * (12 / 16), Number.NaN];
  };
  return { selfTimed, run: async () => (await selfTimed())[1] };
}
