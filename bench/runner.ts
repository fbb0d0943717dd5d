// Starts one measuring process (a Node child over IPC, or Python printing JSON lines), relays its
// messages, and kills it at its time limit. Only the process it started is ever signalled.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why it was killed: past its limit, or silent too long (a hang); null if it ended itself. */
  timedOut: string | null;
  seconds: number;
  /** The last lines the process wrote to stderr/stdout that were not messages. */
  tail: string;
}

export function runProcess(
  cmd: string,
  args: string[],
  o: { ipc: boolean; timeoutS: number; stallS: number; onMessage: (m: unknown) => void },
): Promise<Exit> {
  const t0 = Date.now();
  const env = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? "/tmp" };
  const child = spawn(cmd, args, {
    stdio: ["ignore", "pipe", "pipe", ...(o.ipc ? (["ipc"] as const) : [])],
    env,
  });
  const { stdout, stderr } = child;
  if (!stdout || !stderr) throw new Error("spawn gave no pipes");
  const log: string[] = [];
  const keep = (l: string): void => {
    if (l.trim()) log.push(l.trim());
    if (log.length > 20) log.shift();
  };
  createInterface({ input: stderr }).on("line", keep);
  createInterface({ input: stdout }).on("line", (l) => {
    if (!o.ipc && l.startsWith("{")) {
      try {
        const m: unknown = JSON.parse(l);
        alive();
        o.onMessage(m);
        return;
      } catch {
        // not a message: keep it as log
      }
    }
    keep(l);
  });
  let timedOut: string | null = null;
  const kill = (why: string): void => {
    timedOut = why;
    child.kill("SIGKILL");
  };
  const timer = setTimeout(() => kill(`ran past its ${o.timeoutS} s limit`), o.timeoutS * 1000);
  let stall = setTimeout(() => kill(`silent for ${o.stallS} s`), o.stallS * 1000);
  const alive = (): void => {
    clearTimeout(stall);
    stall = setTimeout(() => kill(`silent for ${o.stallS} s`), o.stallS * 1000);
  };
  if (o.ipc)
    child.on("message", (m) => {
      alive();
      o.onMessage(m);
    });
  return new Promise((resolve) => {
    child.on("error", (e) => keep(`spawn failed: ${e.message}`));
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      clearTimeout(stall);
      const noise = /^(Warning: max\w+ artificially reduced|=+$|at |\d+: )/;
      const kept = log.filter((l) => !noise.test(l));
      const errs = kept.filter((l) => /error|abort|assert|fatal|exception|signal/i.test(l));
      const tail = (errs.length ? errs : kept).slice(-2).join(" / ").slice(0, 400);
      resolve({ code, signal, timedOut, seconds: (Date.now() - t0) / 1000, tail });
    });
  });
}
