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

/** Renders k with its constants bound: each read after a constant's first is gw_cn (see there). */
function constants(k: Kernel, env: Record<string, string>): string {
  k.consts.forEach((l, j) => (env[l] = `\u0003${j}\u0004`));
  const seen = new Set<string>();
  let n = 0;
  return render(k.expr, "wgsl", env).replace(/\u0003(\d+)\u0004/g, (_, j: string) =>
    seen.has(j) ? `gw_cn(${j}u, ${++n}u)` : (seen.add(j), `gw_c(${j}u)`));
}

/** Meta words 96..126 are zero: gw_fresh(v, w) ORs one in, which no compiler can see through;
 * so are a map's stride words 24..71 when no input is strided (directSource's). */
const FRESH_WORDS = 31, fresh = new WeakMap<Kernel, number>(), direct = new WeakMap<Kernel, Map<string, string | null>>();

/** Whether a map of n floats with these input modes (readMode's) can run four floats per thread. */
export function vec4Fits(k: Kernel, n: number, modes: readonly number[], bind: number): boolean {
  if (n % 4 !== 0 || n > bind || modes.some((m) => m > 1)) return false;
  let f = fresh.get(k);
  if (f === undefined) fresh.set(k, (f = lane(k, modes, "x").fresh));
  return f <= FRESH_WORDS;
}

/**
 * The expression for lane `c` of gw_lanes (c "": one float, loads in place). A value loaded once
 * and used twice is one SSA value, and WGSL lets compilers assume no NaN: lavapipe folds x - x to 0
 * where PyTorch gives NaN. So every read after the first is gw_fresh(v, w) (w from w0 on).
 */
function lane(k: Kernel, modes: readonly number[], c: string, w0 = 96): { src: string; fresh: number } {
  const env: Record<string, string> = {};
  k.inputs.forEach((l, j) => (env[l] = `\u0001${j}\u0002`));
  const seen = new Set<string>();
  let w = w0;
  const src = constants(k, env).replace(/\u0001(\d+)\u0002/g, (_, j: string) => {
    const m = modes[Number(j)], v = c ? (m === 0 ? `v${j}.${c}` : `v${j}`) : m === 0 ? `a${j}[i]` : `a${j}[0]`;
    return seen.has(j) ? `gw_fresh(${v}, ${w++}u)` : (seen.add(j), v);
  });
  return { src, fresh: w - w0 };
}

/** A scalar map's expression with loads in place of the gw_aj accessors (their mode selects made a
 * fused sum 2.7x slower on lavapipe, standalone); null: an input is strided or dst, or reads repeat much. */
export function directSource(k: Kernel, modes: readonly number[]): string | null {
  const tag = modes.join("");
  let byModes = direct.get(k), d = byModes?.get(tag);
  if (d !== undefined) return d;
  const l = modes.every((m) => m < 2) ? lane(k, modes, "", 24) : null;
  if (!byModes) direct.set(k, (byModes = new Map()));
  return byModes.set(tag, (d = l && l.fresh <= 48 ? l.src : null)), d; // 48: words 24..71
}

/** The body of gw_lanes(i) in elementwise_vec4.wgsl: the loads, then the four lanes. */
export function vec4Source(k: Kernel, modes: readonly number[]): string {
  const loads = modes.map((m, j) => `let v${j} = ${m === 0 ? `a${j}[i]` : `s${j}[0]`};`);
  return `${loads.join(" ")}\n  return vec4<f32>(${LANES.map((c) => lane(k, modes, c).src).join(",\n    ")});`;
}

/** Dispatches the vec4 map: `meta` is the scalar map's block (constants), resized here to float4s. */
export function planVec4(
  sink: Sink, key: string, dst: number, ids: readonly number[], meta: Uint32Array, n: number, wgsl?: string,
): void {
  meta[0] = n / 4;
  sink.run("vmap", key, [dst, ...ids], meta, n / 4, wgsl);
}
