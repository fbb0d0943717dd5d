// WGSL of elementwise kernels, rendered from the op IR. The scalar form is spliced into
// elementwise.wgsl and map_reduce.wgsl; the vec4 form (elementwise_vec4.wgsl) is used when every
// input is read in the output's layout or is a single element, the size is a multiple of 4 and it
// fits one binding. Each lane evaluates the same expression as the scalar kernel, so results agree.
import { factor } from "../ops/expr.js";
import { render } from "../ops/render.js";
import type { Kernel } from "./backend.js";
import type { Sink } from "./webgpu_plan.js";

const LANES = ["x", "y", "z", "w"] as const;

/** The body of gw_value in elementwise.wgsl and map_reduce.wgsl: input j loads through gw_aj, constant j in meta. */
export function scalarSource(k: Kernel): string {
  const [lets, value] = body(k, "", (j) => `gw_a${j}(i, o[${j}])`);
  return `${lets}return ${value};`;
}

/**
 * `src` with each read of j, marked `${m}j${m}`, replaced by `v(j)`: the first as it is, every
 * later one as gw_fresh(v(j), k) with a new k (see there). A value read twice is one SSA value, and
 * WGSL lets compilers assume no NaN: lavapipe folded x - x to 0, and gw_c(0u) - gw_c(0u), where
 * PyTorch gives NaN (inf - inf).
 */
function reads(src: string, m: string, v: (j: string) => string, k = 0): string {
  const seen = new Set<string>();
  return src.replace(new RegExp(`${m}(\\d+)${m}`, "g"), (_, j: string) =>
    seen.has(j) ? `gw_fresh(${v(j)}, ${++k}u)` : (seen.add(j), v(j)));
}

/**
 * k's lets and value for lane `c`: input j read as load(j), constant j as gw_c(ju), and each shared
 * subexpression computed first, a `let` (gw_t<j><c>); all read again through gw_fresh. As a tree, an
 * expression reading an operand twice per link (relu, tanh's gradient) doubled per link (8 relus took
 * 74 s to compile on lavapipe). The operations are the same, so the values are too.
 */
function body(k: Kernel, c: string, load: (j: string) => string): [lets: string, value: string] {
  const env: Record<string, string> = {}, f = factor(k.expr, () => true), n = f.hoisted.length;
  k.inputs.forEach((l, j) => (env[l] = `\u0002${j}\u0002`));
  k.consts.forEach((l, j) => (env[l] = `\u0001${j}\u0001`));
  const temps = [...f.hoisted, ...f.shared].map((t, j) => ((env[j < n ? `c${1000 + j}` : `i${1000 + j - n}`] = `\u0003${j}\u0003`), t));
  let src = `${temps.map((t, j) => `let gw_t${j}${c} = ${render(t, "wgsl", env)};\n  `).join("")}\u0004${render(f.expr, "wgsl", env)}`;
  src = reads(reads(src, "\u0002", load), "\u0001", (j) => `gw_c(${j}u)`);
  src = reads(src, "\u0003", (j) => `gw_t${j}${c}`, 1); // from 2u: gw_fresh(gw_rn(v), 1u) is gw_rn(v), seen through
  const at = src.indexOf("\u0004");
  return [src.slice(0, at), src.slice(at + 1)];
}

const direct = new WeakMap<Kernel, Map<string, string>>();

/** Whether a map of n floats with these input modes (readMode's) can run four floats per thread. */
export const vec4Fits = (n: number, modes: readonly number[], bind: number): boolean =>
  n % 4 === 0 && n <= bind && modes.every((m) => m !== 2); // 3: dst itself (an in-place op), read in its layout

/** Lane `c` of gw_lanes (c "": one float, loads in place). */
const lane = (k: Kernel, modes: readonly number[], c: string): [lets: string, value: string] =>
  body(k, c, (j) => {
    const m = modes[Number(j)];
    return c ? (m !== 1 ? `v${j}.${c}` : `v${j}`) : m === 0 ? `a${j}[i]` : `a${j}[0]`;
  });

/** A scalar map's body with loads in place of the gw_aj accessors (their mode selects made a
 * fused sum 2.7x slower on lavapipe, standalone); null: an input is strided or dst. */
export function directSource(k: Kernel, modes: readonly number[]): string | null {
  if (modes.some((m) => m > 1)) return null;
  const tag = modes.join("");
  let byModes = direct.get(k), d = byModes?.get(tag);
  if (!byModes) direct.set(k, (byModes = new Map()));
  if (d === undefined) byModes.set(tag, (d = lane(k, modes, "").join("return ") + ";"));
  return d;
}

/** The body of gw_lanes(i) in elementwise_vec4.wgsl: the loads, each lane's lets, then the four lanes. */
export function vec4Source(k: Kernel, modes: readonly number[]): string {
  const loads = modes.map((m, j) => `let v${j} = ${m === 0 ? `a${j}[i]` : m === 3 ? "dst[i]" : `s${j}[0]`};`);
  const lanes = LANES.map((c) => lane(k, modes, c));
  return `${loads.join(" ")}\n  ${lanes.map(([l]) => l).join("")}return vec4<f32>(${lanes.map(([, v]) => v).join(",\n    ")});`;
}

/** Dispatches the vec4 map: `meta` is the scalar map's block (constants), resized here to float4s. */
export function planVec4(
  sink: Sink, key: string, dst: number, ids: readonly number[], meta: Uint32Array, n: number, wgsl?: string,
): void {
  meta[0] = n / 4;
  sink.run("vmap", key, [dst, ...ids], meta, n / 4, wgsl);
}
