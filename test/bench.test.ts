// The benchmark harness at a tiny size (N = 1e3, one rep), so that it cannot silently break: the
// run must finish and write the three result files with every system and cell accounted for.
// Asserts shapes, never timings.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { cellsOf, SYSTEMS } from "../bench/plan.js";
import type { RunResult } from "../bench/types.js";

const root = new URL("..", import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), "gradwise-bench-test-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

test("npm run bench -- --quick --sizes 1000 --reps 1 --torch writes json, md and svg", () => {
  const args = ["--import", "tsx", "bench/run.ts", "--quick", "--sizes", "1000", "--reps", "1", "--torch",
    "--timeout", "40", "--out", out, "--machine", "test"];
  const p = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", timeout: 170_000, env: { ...process.env, CI: "1" } });
  expect(p.status, p.stderr).toBe(0);
  expect(p.stdout).toContain("gradwise ÷ the others");

  const files = readdirSync(out).sort();
  const base = files[0]?.replace(/\.json$/, "") ?? "";
  expect(base).toMatch(/^test-\d{4}-\d{2}-\d{2}-quick$/);
  expect(files).toEqual([`${base}.json`, `${base}.md`, `${base}.svg`]);

  const r = JSON.parse(readFileSync(join(out, `${base}.json`), "utf8")) as RunResult;
  expect(r.schema).toBe(1);
  expect(r.sizes).toEqual([1000]);
  expect(r.durationS).toBeGreaterThan(0);
  expect(r.systems.map((s) => s.id).sort()).toEqual(SYSTEMS.map((s) => s.id).sort());
  for (const s of r.systems) {
    expect(["ok", "failed", "skipped"]).toContain(s.status);
    if (s.status !== "ok") expect(s.reason, s.id).toBeTruthy();
    // every planned cell is there exactly once: a failure is recorded, never dropped
    const mine = r.rows.filter((x) => x.system === s.id).map((x) => `${x.workload}@${x.n}`).sort();
    const spec = SYSTEMS.find((x) => x.id === s.id);
    expect(mine, s.id).toEqual(cellsOf(spec!, [1000]).map((c) => `${c.workload}@${c.n}`).sort());
  }
  for (const row of r.rows) {
    if (row.status === "ok") {
      expect(row.ms, row.system).toBeGreaterThan(0);
      expect(row.reps).toBeGreaterThanOrEqual(1);
      if (row.workload === "W2") expect(row.gbps).toBeGreaterThan(0);
      if (row.workload === "W4") expect(row.usPerOp).toBeGreaterThan(0);
    } else expect(row.reason, `${row.system} ${row.workload}`).toBeTruthy();
  }
  // systems that need nothing but Node must have measured
  for (const id of ["gradwise-cpu", "js-fused", "js-per-op", "tfjs-cpu"])
    expect(r.rows.filter((x) => x.system === id).every((x) => x.status === "ok"), id).toBe(true);
  expect(r.ratios.length).toBeGreaterThan(0);
  for (const q of r.ratios) {
    expect(q.gradwise).toMatch(/^gradwise-/);
    expect(Number.isFinite(q.ratio) && q.ratio > 0).toBe(true);
  }

  const md = readFileSync(join(out, `${base}.md`), "utf8");
  for (const h of ["# gradwise benchmark: test", "## gradwise ÷ the others", "## Medians", "## Failures and skips", "## Systems"])
    expect(md).toContain(h);
  for (const w of ["W1", "W2", "W3", "W4"]) expect(md).toContain(`### ${w}, `);
  for (const s of SYSTEMS) expect(md).toContain(`| ${s.id} |`);
  expect(md).toContain(`](${base}.svg)`);

  const svg = readFileSync(join(out, `${base}.svg`), "utf8");
  expect(svg.startsWith("<?xml")).toBe(true);
  expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
  expect(svg.match(/<svg /g)?.length).toBe(1);
  expect(svg).toContain("<polyline");
  for (const s of SYSTEMS) expect(svg).toContain(`>${s.id}`);
}, 180_000);

test("bench/ab.ts runs two builds (here the sources twice) and writes a B/A row per workload", () => {
  const md = join(out, "ab.md");
  const args = ["--import", "tsx", "bench/ab.ts", ".", ".", "--workloads", "W1,W2", "--rounds", "4", "--out", md];
  const p = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", timeout: 60_000 });
  expect(p.status, p.stderr).toBe(0);
  const rows = readFileSync(md, "utf8").split("\n").filter((l) => /^\| W\d/.test(l));
  expect(rows.map((r) => r.split("|")[1]?.trim())).toEqual(["W1", "W2"]);
  for (const r of rows) expect(Number(r.split("|")[5])).toBeGreaterThan(0);
});
