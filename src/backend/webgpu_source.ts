// WGSL of elementwise kernels, rendered from the op IR. The scalar form is spliced into
// elementwise.wgsl and map_reduce.wgsl; the vec4 form (elementwise_vec4.wgsl) is used when every
// input is read in the output's layout or is a single element, the size is a multiple of 4 and it
// fits one binding. Each lane evaluates the same expression as the scalar kernel, so results agree.
import { render } from "../ops/render.js";
import type { Kernel } from "./backend.js";
import { MAX_INPUTS, NONE } from "./webgpu_protocol.js";
import type { Sink } from "./webgpu_plan.js";

const LANES = ["x", "y", "z", "w"] as const;

/** The expression as elementwise.wgsl names things: input j loads through gw_aj, constant j in meta. */
export function scalarSource(k: Kernel): string {
  const env: Record<string, string> = {};
  k.inputs.forEach((l, j) => (env[l] = `gw_a${j}(i, o[${j}])`));
  k.consts.forEach((l, j) => (env[l] = `gw_c(${j}u)`));
  return render(k.expr, "wgsl", env);
}

/** Meta words 96..126 are zero; gw_fresh(v, w) ORs one in, which no compiler can see through. */
const FRESH_WORDS = 31;
const repeatsOf = new WeakMap<Kernel, number>();

/** Input leaves read again after their first read in one lane (each needs a fresh word). */
function repeats(k: Kernel): number {
  let r = repeatsOf.get(k);
  if (r === undefined) {
    const env = Object.fromEntries([...k.inputs.map((l) => [l, "\u0001"]), ...k.consts.map((l) => [l, "c"])]);
    const uses = render(k.expr, "wgsl", env).split("\u0001").length - 1;
    repeatsOf.set(k, (r = uses - k.inputs.length));
  }
  return r;
}

/** Whether a map of n floats with these input modes (readMode's) can run four floats per thread. */
export const vec4Fits = (k: Kernel, n: number, modes: readonly number[], bind: number): boolean =>
  n % 4 === 0 && n <= bind && modes.every((m) => m === 0 || m === 1) && repeats(k) <= FRESH_WORDS;

/**
 * The body of gw_lanes(i) in elementwise_vec4.wgsl: loads, then the expression once per lane.
 * A value loaded once and used twice is a single SSA value, and WGSL lets compilers assume no NaN:
 * lavapipe folds x - x to 0 where PyTorch gives NaN. So every read after a lane's first is
 * gw_fresh(v, w), a value the compiler cannot prove equal to v, as the scalar kernel's reloads.
 */
export function vec4Source(k: Kernel, modes: readonly number[]): string {
  const loads = modes.map((m, j) => `let v${j} = ${m === 0 ? `a${j}[i]` : `s${j}[0]`};`);
  const lanes = LANES.map((c) => {
    const env: Record<string, string> = {};
    k.inputs.forEach((l, j) => (env[l] = `\u0001${j}\u0002`));
    k.consts.forEach((l, j) => (env[l] = `gw_c(${j}u)`));
    const seen = new Set<string>();
    let w = 96;
    return render(k.expr, "wgsl", env).replace(/\u0001(\d+)\u0002/g, (_, j: string) => {
      const v = modes[Number(j)] === 0 ? `v${j}.${c}` : `v${j}`;
      if (!seen.has(j)) return (seen.add(j), v);
      return `gw_fresh(${v}, ${w++}u)`;
    });
  });
  return `${loads.join(" ")}\n  return vec4<f32>(${lanes.join(",\n    ")});`;
}

/** Dispatches the vec4 map: `meta` is the scalar map's block (constants), sized here in float4s. */
export function planVec4(
  sink: Sink, key: string, dst: number, ids: readonly number[], meta: Uint32Array, n: number, wgsl?: string,
): void {
  const m = meta.slice();
  m[0] = n / 4;
  const all = [dst, ...ids];
  while (all.length < MAX_INPUTS + 1) all.push(NONE);
  sink.run("vmap", key, all, m, n / 4, wgsl);
}
