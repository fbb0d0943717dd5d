// `npx tsx bench/powcheck.ts [build] [--rounds 40] [--seed 7]`: pow(x, y) has two float32 operands, too
// many pairs to try all (mathcheck.ts tries every input of the one-operand rows), so this samples them:
// `rounds` arrays of 2^20 pairs from each of the ten sets below through the CPU's SIMD pow row (ops/wasm_math.ts
// powRow) against the JS kernel's value, Math.fround(gw_pow(x, y)); counts the pairs where they differ
// (NaN against NaN counts as equal). The sets aim at the row's weak spots: results that are exact
// float32 rounding ties (its float64 value must then be Math.pow's to the last bit), results near
// float32's overflow and underflow, bases near 1 with large exponents, negative bases, raw bit patterns.
// `build`: a folder holding src/backend/cpu.js and src/ops/expr.js (default dist/, `npm run build` first).
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { commandLine } from "./paths.js";

const { flag, positional } = commandLine();
const build = resolve(positional[0] ?? "dist");
const rounds = Number(flag("--rounds", "40"));
let seed = Number(flag("--seed", "7"));
const load = async <T>(p: string): Promise<T> => (await import(pathToFileURL(resolve(build, "src", p)).href)) as T;
const { CpuBackend } = await load<typeof import("../src/backend/cpu.js")>("backend/cpu.js");
const { leaf } = await load<typeof import("../src/ops/expr.js")>("ops/expr.js");
const { SIMD_MIN, simdRuns } = await load<typeof import("../src/backend/cpu_simd.js")>("backend/cpu_simd.js");
if (!(SIMD_MIN <= 2 ** 20)) throw new Error(`GRADWISE_SIMD_MIN=${SIMD_MIN} turns the SIMD rows off: nothing to check`);

const cpu = new CpuBackend(), N = 2 ** 20;
const k = { key: "powcheck", expr: leaf("i0").pow(leaf("i1")), inputs: ["i0" as const, "i1" as const], consts: [] };
// render.ts's JS_PRELUDE: C's pow where Math's differs
const gwPow = (a: number, b: number): number => (a === 1 || b === 0 ? 1 : a === -1 && !Number.isFinite(b) && !Number.isNaN(b) ? 1 : Math.pow(a, b));
const f32 = Math.fround;
const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648; // a fixed sequence per seed
const u32 = new Uint32Array(1), asFloat = new Float32Array(u32.buffer);
const bitsRand = (): number => ((u32[0] = Math.floor(rnd() * 2 ** 32)), asFloat[0] as number);
const sets: Record<string, () => [number, number]> = {
  "x log-uniform in [2^-30, 2^30], y in [-10, 10]": () => [2 ** (rnd() * 60 - 30), rnd() * 20 - 10],
  "x in (0, 4), integer y in [-40, 40]": () => [rnd() * 4, Math.round(rnd() * 80 - 40)],
  "squares of 12-bit mantissas (odd ones: float32 ties)": () => [1 + Math.floor(rnd() * 4096) * 2 ** -12, 2],
  "cubes of 8-bit mantissas (some ties)": () => [(1 + Math.floor(rnd() * 256) * 2 ** -8) * 2 ** Math.floor(rnd() * 20 - 10), 3],
  "square roots of squares of 12-bit mantissas": () => [(1 + Math.floor(rnd() * 4096) * 2 ** -12) ** 2, 0.5],
  "results near float32's largest and smallest": () => {
    const y = f32(rnd() * 200 - 100) || 1, t = rnd() < 0.5 ? 88.72 : -103.3;
    return [Math.exp((t + (rnd() - 0.5) * 0.01) / y), y];
  },
  "x within 2^-11 of 1, |y| up to 2^17": () => [1 + (rnd() - 0.5) * 2 ** -10, (rnd() - 0.5) * 2 ** 18],
  "negative bases, integer or fractional y": () => [-(2 ** (rnd() * 60 - 30)), rnd() < 0.5 ? Math.round(rnd() * 80 - 40) : rnd() * 20 - 10],
  "random bits": () => [bitsRand(), bitsRand()],
  "random bits x, y in [-4, 4]": () => [bitsRand(), rnd() * 8 - 4],
};
let total = 0, differ = 0;
for (const [name, gen] of Object.entries(sets)) {
  const examples: number[][] = [];
  let off = 0;
  const a = new Float32Array(N), b = new Float32Array(N);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < N; i++) [a[i], b[i]] = gen();
    const before = simdRuns();
    const got = (cpu.map(k, [a, b].map((d) => ({ buf: cpu.upload(d), strides: [1] })), [], [N]) as unknown as { data: Float32Array }).data;
    if (simdRuns() - before !== 1) throw new Error("pow did not run as SIMD");
    for (let i = 0; i < N; i++) {
      const x = a[i] as number, y = b[i] as number, g = got[i] as number, w = f32(gwPow(x, y));
      if (!Object.is(g, w) && !(Number.isNaN(g) && Number.isNaN(w)) && (off++, examples.length < 5)) examples.push([x, y, g, w]);
    }
  }
  total += rounds * N, differ += off;
  console.log(`${name}: ${rounds * N} pairs, ${off} differ${examples.length ? ` (x, y, SIMD, JS: ${JSON.stringify(examples)})` : ""}`);
}
console.log(`all: ${total} pairs, ${differ} differ`);
