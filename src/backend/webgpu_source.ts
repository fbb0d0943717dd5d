// WGSL of elementwise kernels, rendered from the op IR. The scalar form is spliced into
// elementwise.wgsl and map_reduce.wgsl; the vec4 form (elementwise_vec4.wgsl) is used when every
// input is read in the output's layout or is a single element, the size is a multiple of 4 and it
// fits one binding. Each lane evaluates the same expression as the scalar kernel, so results agree.
import { render } from "../ops/render.js";
import type { Kernel } from "./backend.js";
import type { Sink } from "./webgpu_plan.js";

const LANES = ["x", "y", "z", "w"] as const;

/** The expression as elementwise.wgsl names things: input j loads through gw_aj, constant j in meta. */
export function scalarSource(k: Kernel): string {
  const env: Record<string, string> = {};
  k.inputs.forEach((l, j) => (env[l] = `gw_a${j}(i, o[${j}])`));
  return constants(k, env);
}

/**
 * `src` with each read of j, marked `${m}j${m}`, replaced by `v(j)`: the first as it is, every
 * later one as gw_fresh(v(j), k) with a new k (see there). A value read twice is one SSA value, and
 * WGSL lets compilers assume no NaN: lavapipe folded x - x to 0, and gw_c(0u) - gw_c(0u), where
 * PyTorch gives NaN (inf - inf).
 */
function reads(src: string, m: string, v: (j: string) => string): string {
  const seen = new Set<string>();
  let k = 0;
  return src.replace(new RegExp(`${m}(\\d+)${m}`, "g"), (_, j: string) =>
    seen.has(j) ? `gw_fresh(${v(j)}, ${++k}u)` : (seen.add(j), v(j)));
}

/** Renders k with its constants bound: constant j is gw_c(ju), read again through gw_fresh. */
function constants(k: Kernel, env: Record<string, string>): string {
  k.consts.forEach((l, j) => (env[l] = `\u0001${j}\u0001`));
  return reads(render(k.expr, "wgsl", env), "\u0001", (j) => `gw_c(${j}u)`);
}

const direct = new WeakMap<Kernel, Map<string, string>>();

/** Whether a map of n floats with these input modes (readMode's) can run four floats per thread. */
export const vec4Fits = (n: number, modes: readonly number[], bind: number): boolean =>
  n % 4 === 0 && n <= bind && modes.every((m) => m <= 1);

/** The expression for lane `c` of gw_lanes (c "": one float, loads in place). */
function lane(k: Kernel, modes: readonly number[], c: string): string {
  const env: Record<string, string> = {};
  k.inputs.forEach((l, j) => (env[l] = `\u0002${j}\u0002`));
  return reads(constants(k, env), "\u0002", (j) => {
    const m = modes[Number(j)];
    return c ? (m === 0 ? `v${j}.${c}` : `v${j}`) : m === 0 ? `a${j}[i]` : `a${j}[0]`;
  });
}

/** A scalar map's expression with loads in place of the gw_aj accessors (their mode selects made a
 * fused sum 2.7x slower on lavapipe, standalone); null: an input is strided or dst. */
export function directSource(k: Kernel, modes: readonly number[]): string | null {
  if (modes.some((m) => m > 1)) return null;
  const tag = modes.join("");
  let byModes = direct.get(k), d = byModes?.get(tag);
  if (!byModes) direct.set(k, (byModes = new Map()));
  if (d === undefined) byModes.set(tag, (d = lane(k, modes, "")));
  return d;
}

/** The body of gw_lanes(i) in elementwise_vec4.wgsl: the loads, then the four lanes. */
export function vec4Source(k: Kernel, modes: readonly number[]): string {
  const loads = modes.map((m, j) => `let v${j} = ${m === 0 ? `a${j}[i]` : `s${j}[0]`};`);
  return `${loads.join(" ")}\n  return vec4<f32>(${LANES.map((c) => lane(k, modes, c)).join(",\n    ")});`;
}

/** Dispatches the vec4 map: `meta` is the scalar map's block (constants), resized here to float4s. */
export function planVec4(
  sink: Sink, key: string, dst: number, ids: readonly number[], meta: Uint32Array, n: number, wgsl?: string,
): void {
  meta[0] = n / 4;
  sink.run("vmap", key, [dst, ...ids], meta, n / 4, wgsl);
}
