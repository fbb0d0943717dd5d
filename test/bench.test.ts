// The benchmark harness at a tiny size (N = 1e3, one rep), so that it cannot silently break: the
// run must finish and write the three result files with every system and cell accounted for.
// Asserts shapes, never timings.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { measureSystem } from "../bench/measure.js";
import { cellsOf, SYSTEMS } from "../bench/plan.js";
import type { Row, RunResult, SystemImpl } from "../bench/types.js";

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

test("a cell too short to time alone is sampled in batches that fill its budget; a self-timed one is not", async () => {
  let calls = 0;
  const spin = (us: number): number => {
    const t = performance.now() + us / 1000;
    while (performance.now() < t) calls++;
    return calls;
  };
  const impl: SystemImpl = {
    cells: {
      W1: () => ({ run: async () => spin(20) }), // ~20 µs a call
      W2: () => ({ run: async () => spin(5000), selfTimed: async () => [1e-6, spin(50)] }),
      W3: () => ({ run: async () => spin(25_000) }), // 25 ms: single calls fill the budget
    },
  };
  const budget = { budgetS: 0.2, minReps: 3, maxReps: 10, warmS: 0.01, warmMaxS: 0.1, cellCapS: 5, systemS: 30 };
  const rows: Row[] = [];
  const cells = (["W1", "W2", "W3"] as const).map((workload) => ({ workload, n: 1000 }));
  await measureSystem(impl, { system: "fake", cells, budget }, async (m) => void (m.type === "row" && rows.push(m.row)));
  const [w1, w2, w3] = rows;
  expect(w1?.reps).toBe(10);
  // ~0.2 s / 10 reps / ~20 µs a call: about 1 000 calls a rep (fewer when the machine is slow)
  expect(w1?.batch).toBeGreaterThan(100);
  expect(w1?.batch).toBeLessThanOrEqual(1000);
  expect(w1?.ms).toBeGreaterThan(0.019);
  expect(w1?.ms).toBeLessThan(0.2);
  expect(w2?.batch).toBeUndefined(); // its own time (1 µs), one call a rep
  expect(w2?.ms).toBeCloseTo(0.001, 6);
  expect(w3?.batch).toBeUndefined();
  expect(w3?.reps).toBeGreaterThanOrEqual(7); // 0.2 s / 25 ms, less the time guard
  expect(w3?.ms).toBeGreaterThan(24);
}, 60_000);
