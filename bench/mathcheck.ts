// `npx tsx bench/mathcheck.ts [build] [--ops exp,expm1,tanh,log,log1p,sin,cos] [--from 0] [--to 4294967296]`: every
// float32 bit pattern in [from, to) through the CPU's SIMD row of each op (ops/wasm_math.ts, arrays of
// 2^24) against the JS kernel's value, Math.fround(Math.<op>(x)); counts the inputs where they differ
// (NaN against NaN counts as equal: payloads may differ). All 2^32 take ~2 minutes per op here (sin, cos ~10).
// `build`: a folder holding src/backend/cpu.js and src/ops/expr.js (default dist/, `npm run build` first).
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { commandLine } from "./paths.js";

const { flag, positional } = commandLine();
const build = resolve(positional[0] ?? "dist");
const ops = flag("--ops", "exp,expm1,tanh,log,log1p,sin,cos").split(",") as ("exp" | "expm1" | "tanh" | "log" | "log1p" | "sin" | "cos")[];
const from = Number(flag("--from", "0")), to = Number(flag("--to", String(2 ** 32)));
const { CpuBackend } = (await import(pathToFileURL(resolve(build, "src/backend/cpu.js")).href)) as typeof import("../src/backend/cpu.js");
const { leaf } = (await import(pathToFileURL(resolve(build, "src/ops/expr.js")).href)) as typeof import("../src/ops/expr.js");
const { SIMD_MIN } = (await import(pathToFileURL(resolve(build, "src/backend/cpu_simd.js")).href)) as typeof import("../src/backend/cpu_simd.js");
if (!(SIMD_MIN <= 2 ** 24)) throw new Error(`GRADWISE_SIMD_MIN=${SIMD_MIN} turns the SIMD rows off: nothing to check`);

const cpu = new CpuBackend(), CH = 2 ** 24, bits = new Uint32Array(CH), xs = new Float32Array(bits.buffer);
for (const op of ops) {
  const k = { key: `mathcheck:${op}`, expr: leaf("i0")[op](), inputs: ["i0" as const], consts: [] };
  let off = 0, n = 0;
  const examples: number[][] = [];
  for (let b = from; b < to; b += CH) {
    const len = Math.min(CH, to - b);
    for (let i = 0; i < len; i++) bits[i] = b + i;
    const a = len === CH ? xs : xs.slice(0, len);
    const got = (cpu.map(k, [{ buf: cpu.upload(a), strides: [1] }], [], [len]) as unknown as { data: Float32Array }).data;
    for (let i = 0; i < len; i++) {
      const x = a[i] as number, g = got[i] as number, w = Math.fround(Math[op](x));
      if (!Object.is(g, w) && !(Number.isNaN(g) && Number.isNaN(w)) && (off++, examples.length < 5)) examples.push([x, g, w]);
    }
    n += len;
  }
  console.log(`${op}: ${n} inputs, ${off} differ${examples.length ? ` (x, SIMD, JS: ${JSON.stringify(examples)})` : ""}`);
}
