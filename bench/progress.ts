// Progress while the bench runs: a redrawn bar on a terminal, one plain line per cell otherwise.
// Goes to stderr, so stdout carries only the final table.
import type { Row } from "./types.js";

export const fmtN = (n: number): string => {
  const e = Math.floor(Math.log10(n));
  const m = Math.round((n / 10 ** e) * 10) / 10;
  if (e < 3 || Math.abs(m * 10 ** e - n) > 1e-6 * n) return String(n);
  return m === 1 ? `1e${e}` : `${m}e${e}`;
};

export function fmtMs(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toPrecision(3)} µs`;
  if (ms < 1000) return `${ms.toPrecision(3)} ms`;
  return `${(ms / 1000).toPrecision(3)} s`;
}

export class Progress {
  private done = 0;
  private current = "";
  private readonly t0 = Date.now();
  private readonly tty = process.stderr.isTTY === true && !process.env.CI;

  constructor(private total: number) {}

  start(what: string): void {
    this.current = what;
    if (this.tty) this.draw();
  }

  /** Counts a finished cell; prints it unless `say` is false (a whole system skipped says it once). */
  row(r: Row, say = true): void {
    this.done++;
    const what = `${r.system} ${r.workload} N=${fmtN(r.n)}`;
    const res = r.status === "ok" && r.ms !== undefined ? `${fmtMs(r.ms)} (${r.reps} reps)` : `${r.status}: ${r.reason}`;
    if (this.tty) this.draw();
    else if (say) this.line(`[${String(this.done).padStart(3)}/${this.total}] ${what.padEnd(34)} ${res}`);
  }

  /** A message that must stay on screen (a system failed, the run is writing files). */
  note(text: string): void {
    this.line(text);
  }

  end(): void {
    if (this.tty) process.stderr.write("\r\x1b[2K");
  }

  private elapsed(): string {
    const s = Math.round((Date.now() - this.t0) / 1000);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }

  private line(text: string): void {
    if (this.tty) process.stderr.write("\r\x1b[2K");
    process.stderr.write(`${text}\n`);
    if (this.tty) this.draw();
  }

  private draw(): void {
    const width = 28;
    const fill = Math.round((width * this.done) / Math.max(1, this.total));
    const bar = "█".repeat(fill) + "░".repeat(width - fill);
    const cols = process.stderr.columns ?? 100;
    const text = `[${bar}] ${this.done}/${this.total} ${this.elapsed()}  ${this.current}`;
    process.stderr.write(`\r\x1b[2K${text.slice(0, cols - 1)}`);
  }
}
