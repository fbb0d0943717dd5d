// The CPU backend's WebAssembly SIMD kernels (arrays from SIMD_MIN elements) against its JS
// kernels (smaller arrays): every table expression, bit for bit, on special values; single-element
// inputs and constants; full sums with a ragged tail; and which expressions run as SIMD at all.
import { describe, expect, it } from "vitest";
import type { Kernel, Strided } from "../src/backend/backend.js";
import { CpuBackend, type CpuBuf } from "../src/backend/cpu.js";
import { CHUNK, SIMD_MIN, simdRuns } from "../src/backend/cpu_simd.js";
import { wasmKernel } from "../src/ops/wasm.js";
import { Cond, E, type Leaf, leaf, leaves, select, x, y } from "../src/ops/expr.js";
import { OPS } from "../src/ops/table.js";
import { bstrides, kernel, randArray } from "./webgpu_helpers.js";

const cpu = new CpuBackend();
const N = 2 * CHUNK + 3; // two full chunks and a ragged last vector
const SLICE = SIMD_MIN > 1 ? Math.min(1000, SIMD_MIN - 1) : 1000; // below SIMD_MIN: the JS kernel
const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 2, 0.5, -0.5, 1e-40, -1e-40, 3.4e38, -3.4e38, 1e-3, 7];

/** Special values in every combination across inputs (a different stride per input), then random ones. */
function input(j: number): Float32Array {
  const a = randArray(N).map((v) => v * 4);
  for (let i = 0; i < SPECIAL.length ** 2; i++) a[i] = SPECIAL[Math.floor(i / SPECIAL.length ** j) % SPECIAL.length] as number;
  return a;
}
const flat = (d: Float32Array): Strided => ({ buf: cpu.upload(d), strides: d.length === 1 ? [0] : [1] });
const bits = (a: Float32Array): number[] => [...new Uint32Array(a.buffer)].map((b, i) => (Number.isNaN(a[i]) ? -1 : b));
const whole = (k: ReturnType<typeof kernel>, ins: Float32Array[], consts: number[]): Float32Array =>
  (cpu.map(k, ins.map((d) => flat(d)), consts, [N]) as CpuBuf).data;
/** The same kernel over SLICE-element pieces (single-element inputs stay whole). */
function sliced(k: ReturnType<typeof kernel>, ins: Float32Array[], consts: number[]): Float32Array {
  const out = new Float32Array(N);
  for (let o = 0; o < N; o += SLICE) {
    const part = ins.map((d) => (d.length === 1 ? d : d.slice(o, Math.min(N, o + SLICE))));
    const n = Math.min(SLICE, N - o);
    out.set((cpu.map(k, part.map((d) => flat(d)), consts, [n]) as CpuBuf).data, o);
  }
  return out;
}

const exprs: [string, E][] = Object.entries(OPS).flatMap(([name, s]) => [
  [`${name} forward`, s.fwd] as [string, E],
  ...Object.entries(s.grads).map(([l, e]) => [`${name} d${l}`, e as E] as [string, E]),
]);
// The primitives with a SIMD row: an expression of only these runs as SIMD, any other stays JS.
const ROWS = new Set(["neg", "abs", "sqrt", "sign", "add", "sub", "mul", "div", "maximum", "minimum", "exp", "expm1", "tanh", "log", "log1p", "sin", "cos", "trunc", "pow"]);
const simdable = (v: E | Cond): boolean => {
  const n = v.n as { k: string; op?: string };
  if ((n.k === "un" || n.k === "bin") && !ROWS.has(n.op as string)) return false;
  return ["a", "b", "c", "t", "f"].every((c) => {
    const kid = (v.n as unknown as Record<string, E | Cond | undefined>)[c];
    return !(kid instanceof E || kid instanceof Cond) || simdable(kid);
  });
};

// GRADWISE_SIMD_MIN=Infinity (SIMD off) skips these, visibly.
describe.skipIf(!(SIMD_MIN < N))("CPU SIMD kernels", () => {
  it.each(exprs)("%s: SIMD gives the JS kernel's bits", (_, e) => {
    const ls = [...leaves(e)].sort() as Leaf[];
    const k = kernel(e, ls);
    const ins = ls.map((_, j) => input(j));
    const before = simdRuns();
    const got = whole(k, ins, []);
    expect(simdRuns() - before).toBe(simdable(e) ? 1 : 0);
    expect(bits(got)).toEqual(bits(sliced(k, ins, [])));
  });

  it("a kernel needing 128+ locals (many exp/sin/cos calls) still runs as SIMD (a byte count made it invalid: silently JS)", () => {
    let e = x.sin();
    for (let j = 0; j < 8; j++) e = e.add((j % 2 ? x : y).mul(j + 1)[j % 3 === 0 ? "cos" : j % 3 === 1 ? "sin" : "exp"]());
    const k = kernel(e, ["x", "y"]), ins = [input(0), input(1)];
    const before = simdRuns();
    const got = whole(k, ins, []);
    expect([simdRuns() - before, (cpu.mapReduce("sum", { kernel: k, inputs: ins.map((d) => flat(d)), consts: [] }, [N], [0]), simdRuns() - before)]).toEqual([1, 2]);
    expect(bits(got)).toEqual(bits(sliced(k, ins, [])));
  });

  // A heavy call over the arrays that another one reads runs in a loop of its own (a stage, into a scratch region): chained
  // in one loop they ran at their latency (3 tanh/sigmoid links 1.2x slower fused than unfused). Side by side they stay
  // (as stages, two exps summed ran 1.15x slower), but sin and cos (in one loop 1.5x slower). The sum's stages cover its
  // last, masked elements.
  it.each([
    ["chained", x.tanh().mul(1.5).exp().add(1).log(), 2],
    ["shared and side by side", x.sin().mul(x.cos()).add(x.sin().exp()), 2],
    ["side by side", x.exp().add(y.exp()).mul(x.tanh()), 0],
    ["sin and cos side by side", x.sin().mul(y.cos()), 2],
    ["a constant's and a single input's calls hoisted", x.mul(leaf("c0")).exp().tanh().add(y.tanh()).mul(leaf("c0").exp()), 1],
  ] as const)("heavy calls in stages, %s: the JS kernel's bits, its sums", (_, e, stages) => {
    const single = _.includes("single"), k = kernel(e, ["x", "y"], ["c0"]), consts = [0.7];
    expect(wasmKernel(k, [false, single], 16, CHUNK * 4)?.end).toBe(16 + (single ? 2 : 3) * CHUNK * 4 + stages * (CHUNK * 4 + 16));
    const ins = [input(0), single ? Float32Array.of(0.3) : input(1)], want = sliced(k, ins, consts), before = simdRuns();
    const got = whole(k, ins, consts);
    expect(bits(got)).toEqual(bits(want));
    for (const n of [N - 300, 1001, SIMD_MIN + 3]) { // four float64 lanes per chunk, summed (0 + 2) + (1 + 3), as the SIMD sum adds
      let total = 0;
      for (let o = 0; o < n; o += CHUNK) {
        const a = [0, 0, 0, 0];
        for (let i = o; i < Math.min(n, o + CHUNK); i++) (a[(i - o) % 4] as number) += want[i + 300] as number;
        total += ((a[0] as number) + (a[2] as number)) + ((a[1] as number) + (a[3] as number));
      }
      const part = ins.map((d) => (d.length === 1 ? d : d.subarray(300, 300 + n))); // past the special values (a NaN sum would pass), not what the map left in the stages' regions
      const sum = (cpu.mapReduce("sum", { kernel: k, inputs: part.map((d) => flat(d)), consts }, [n], [0]) as CpuBuf).data[0];
      expect([n, sum, Number.isFinite(total)]).toEqual([n, Math.fround(total), true]);
    }
    expect(simdRuns() - before).toBe(4);
  });

  it("an int64 result's cast (trunc, clamped) runs as SIMD with the JS kernel's bits", () => {
    const e = select(x.abs().lt(2 ** 63), select(x.trunc().eq(0), 0, x.trunc()), -(2 ** 63)); // apply.ts castTo's
    const k = kernel(e.add(y.trunc()), ["x", "y"]), ins = [input(0), input(1)].map((a) => a.map((v, i) => (i % 3 ? v * 1e9 : v)));
    const want = sliced(k, ins, []), before = simdRuns();
    const got = whole(k, ins, []);
    expect([simdRuns() - before, bits(got)]).toEqual([1, bits(want)]);
  });

  it("pow runs as SIMD with Math.pow's float32 where the float64 result is a rounding tie (exact squares and cubes), and for negative bases to integers (odd: negative) and fractions (NaN)", () => {
    const a = new Float32Array(N), b = new Float32Array(N), r = randArray(N);
    for (let i = 0; i < N; i++) { // squares of 12-bit mantissas: odd ones are float32 midpoints, as cubes of 8-bit ones can be
      const j = i >> 2, [p, q] = [[1 + (j % 4096) * 2 ** -12, 2], [(1 + (j % 256) * 2 ** -8) * 2 ** ((j % 21) - 10), 3],
        [2 ** ((r[i] as number) * 40), (r[(i * 7) % N] as number) * 20], [-(2 ** ((r[i] as number) * 30)), j % 3 ? (j % 41) - 20 : (j % 41) / 4 - 5]][i % 4] as number[];
      [a[i], b[i]] = [p as number, q as number];
    }
    const k = kernel(x.pow(y), ["x", "y"]), want = sliced(k, [a, b], []), before = simdRuns();
    const got = whole(k, [a, b], []);
    expect([simdRuns() - before, bits(got)]).toEqual([1, bits(want)]);
    const base = Math.fround(-(2 ** ((r[7] as number) * 30)));
    expect([got[4], got[7], got[15]]).toEqual([Math.fround((1 + 2 ** -12) ** 2), Math.fround(Math.pow(base, -19)), NaN]);
  });

  it("single-element inputs and constants (rounded to float32 as uniforms are)", () => {
    const k = kernel(x.mul(y).add(leaf("c0")).maximum(x.sub(leaf("c1"))), ["x", "y"], ["c0", "c1"]);
    const ins = [input(0), Float32Array.of(0.3)], consts = [0.1, -1e-50];
    const before = simdRuns();
    const got = whole(k, ins, consts);
    expect(simdRuns() - before).toBe(1);
    expect(bits(got)).toEqual(bits(sliced(k, ins, consts)));
    const xi = ins[0]?.[300] as number, f = Math.fround, s = f(0.3);
    expect(got[300]).toBe(Math.max(f(f(xi * s) + f(0.1)), f(xi - f(-1e-50))));
  });

  it("writes in place over an input (each chunk is read before it is written)", () => {
    const a = input(0), b = input(1), k = kernel(x.mul(y).sub(x), ["x", "y"]);
    const want = sliced(k, [a, b], []), buf = cpu.upload(a);
    cpu.map(k, [{ buf, strides: [1] }, flat(b)], [], [N], buf);
    expect(bits((buf as CpuBuf).data)).toEqual(bits(want));
  });

  it("reads broadcast rows (periodic inputs), columns (each element repeated along the last dims) and blocks of rows as SIMD", () => {
    const k = kernel(x.mul(y).sub(y), ["x", "y"]), f = Math.fround;
    for (const [shape, yShape] of [[[5000, 3], [3]], [[2, 20000], [20000]], [[3, 7, 500], [7, 1]], [[9, 1000], [9, 1]], [[7000, 3], [7000, 1]], [[40, 1000], [40, 1]],
      [[2000, 16], [2000, 1]], [[300, 15, 4], [15, 1]], [[4, 50, 300], [4, 1, 300]], [[300, 50, 4], [300, 1, 4]], [[30, 20, 40], [20, 1]],
      [[7, 9, 11, 40], [7, 1, 11, 1]]] as const) {
      const n = shape.reduce((a, b) => a * b, 1), xs = randArray(n), ys = randArray(yShape.reduce((a, b) => a * b, 1));
      xs.set(input(0).subarray(0, SPECIAL.length ** 2)); // x's special values against each y
      const before = simdRuns();
      const got = (cpu.map(k, [{ buf: cpu.upload(xs), strides: bstrides(shape, shape) },
        { buf: cpu.upload(ys), strides: bstrides(yShape, shape) }], [], shape) as CpuBuf).data;
      expect(simdRuns() - before).toBe(1);
      const at = (i: number): number => { // y's element for output i, by index arithmetic
        const idx = shape.map((_, d) => Math.floor(i / shape.slice(d + 1).reduce((a, b) => a * b, 1)) % (shape[d] as number));
        const yi = idx.slice(shape.length - yShape.length).map((v, d) => (yShape[d] === 1 ? 0 : v));
        return ys[yi.reduce((a, v, d) => a * (yShape[d] as number) + v, 0)] as number;
      };
      const want = Float32Array.from(xs, (v, i) => f(f(v * at(i)) - at(i)));
      expect(bits(got)).toEqual(bits(want));
    }
  });

  it("reads transposed and permuted inputs (any strides) as SIMD, across chunk boundaries", () => {
    const k = kernel(x.mul(y).sub(y), ["x", "y"]), f = Math.fround;
    // y's buffer is row-major in `from`; the output's dim d is y's dim perm[d] (x.permute(perm) in PyTorch's terms)
    for (const [from, perm] of [[[300, 200], [1, 0]], [[20, 40, 30], [1, 2, 0]], [[5, 64, 70], [0, 2, 1]], [[3, 4, 50, 40], [3, 1, 0, 2]]] as const) {
      const shape = perm.map((p) => from[p] as number), n = shape.reduce((a, b) => a * b, 1), xs = randArray(n), ys = randArray(n);
      const rowMajor = from.map((_, d) => from.slice(d + 1).reduce((a, b) => a * b, 1)), strides = perm.map((p) => rowMajor[p] as number);
      const before = simdRuns();
      const got = (cpu.map(k, [{ buf: cpu.upload(xs), strides: bstrides(shape, shape) }, { buf: cpu.upload(ys), strides }], [], shape) as CpuBuf).data;
      expect(simdRuns() - before).toBe(1);
      const at = (i: number): number => ys[shape.reduce((a, _, d) => a + (Math.floor(i / shape.slice(d + 1).reduce((p, q) => p * q, 1)) % (shape[d] as number)) * (strides[d] as number), 0)] as number;
      expect(bits(got)).toEqual(bits(Float32Array.from(xs, (v, i) => f(f(v * at(i)) - at(i)))));
    }
  });

  it("sums columns of a kernel with no array input and 13 constants (its output at byte 64: an i32.const of 64 reads as -64)", () => {
    let e = leaf("i0");
    for (let j = 0; j < 13; j++) e = j % 2 ? e.add(leaf(`c${j}`)) : e.mul(leaf(`c${j}`));
    const k: Kernel = { key: "cols13", expr: e, inputs: ["i0"], consts: Array.from({ length: 13 }, (_, j) => `c${j}` as const) };
    const consts = Array.from({ length: 13 }, (_, j) => 1 + j / 32), ins = [{ buf: cpu.upload(Float32Array.of(1.5)), strides: [0, 0] }];
    const got = (cpu.mapReduce("sum", { kernel: k, inputs: ins, consts }, [8, 64], [0]) as CpuBuf).data;
    expect(bits(got)).toEqual(bits((cpu.reduce("sum", cpu.map(k, ins, consts, [8, 64]), [8, 64], [0]) as CpuBuf).data));
  });

  it("finds max/min along a dim with its index as SIMD lanes (rows of 256+, blocks of 4+ columns and 512+ elements): the first NaN, else the first extreme, ±0 as it came", () => {
    const ref = (op: "max" | "min", a: Float32Array, outer: number, red: number, inner: number): [number[], number[]] => {
      const v: number[] = [], ix: number[] = [];
      for (let o = 0; o < outer; o++) for (let j = 0; j < inner; j++) {
        let b = a[o * red * inner + j] as number, bi = 0;
        for (let r = 1; r < red; r++) {
          const x = a[(o * red + r) * inner + j] as number;
          if (b === b && (x !== x || (op === "max" ? x > b : x < b))) (b = x), (bi = r);
        }
        v.push(b), ix.push(bi);
      }
      return [v, ix];
    };
    for (const [shape, axis] of [[[7, 1003], 1], [[5, 256], 1], [[2, 4 * CHUNK + 7], 1], [[3, 300], 1], [[5, 9, 100], 1], [[3, 130, 4], 1], [[2, 5, CHUNK + 9], 1], [[1000, 5], 0], [[4, 300], 0]] as const) {
      const n = shape.reduce((p, q) => p * q, 1), special = [NaN, 0, -0, Infinity, -Infinity];
      for (const nan of [false, true]) {
        const a = Float32Array.from({ length: n }, (_, i) => (i % 97 === 5 ? (special[(i / 97) % 5 | 0] as number) : Math.round(Math.sin(i * 0.7) * 8) / 8)); // ties
        if (!nan) a.forEach((v, i) => v !== v && (a[i] = -0)); // zeros of both signs tie
        const outer = shape.slice(0, axis).reduce((p, q) => p * q, 1), red = shape[axis] as number, inner = n / outer / red;
        const tail = red % (red < 1024 ? 16 : 64); // the elements past the last full group of lanes
        if (inner === 1 && tail && !nan) { // rows 1 and 2: their extreme the tail's first (no infinity before it)
          a.forEach((v, i) => Math.abs(v) === Infinity && (a[i] = 0));
          (a[2 * red - tail] = 100), (a[3 * red - tail] = -100);
        }
        for (const op of ["max", "min"] as const) {
          const before = simdRuns(), [vals, idx] = cpu.argReduce(op, cpu.upload(a), [...shape], axis).map((b) => (b as CpuBuf).data) as [Float32Array, Float32Array];
          const [wv, wi] = ref(op, a, outer, red, inner);
          expect([simdRuns() - before, bits(vals), [...idx]]).toEqual([1, bits(Float32Array.from(wv)), wi]);
          const along = (cpu.reduce(op, cpu.upload(a), [...shape], [axis]) as CpuBuf).data, all = (cpu.reduce(op, cpu.upload(a), [...shape], shape.map((_, d) => d)) as CpuBuf).data;
          expect([simdRuns() - before, bits(along), bits(all)]).toEqual([3, bits(vals), bits(Float32Array.of(ref(op, a, 1, n, 1)[0][0] as number))]); // reduce(): the same lanes
        }
      }
    }
    const k = kernel(x.mul(-1.5).sub(0.25), ["x"]);
    for (const [op, nan] of [["max", true], ["min", true], ["max", false], ["min", false]] as const) { // a fused producer's, of all: a SIMD map, then the lanes
      const a = Float32Array.from({ length: 5000 }, (_, i) => (i === 77 && nan ? NaN : i % 3 ? Math.sin(i) : 0));
      const before = simdRuns(), got = (cpu.mapReduce(op, { kernel: k, inputs: [flat(a)], consts: [] }, [5000], [0]) as CpuBuf).data;
      const values = (cpu.map(k, [flat(a)], [], [5000]) as CpuBuf).data;
      expect([simdRuns() - before, bits(got)]).toEqual([3, bits(Float32Array.of(ref(op, values, 1, 5000, 1)[0][0] as number))]);
    }
    for (const [shape, axis] of [[[5, 200], 1], [[200, 2, 4], 1], [[100, 4], 0]] as const) { // short rows, small blocks: the loop
      const a = randArray(shape.reduce((p, q) => p * q, 1)), before = simdRuns();
      cpu.argReduce("max", cpu.upload(a), [...shape], axis), cpu.reduce("min", cpu.upload(a), [...shape], [axis]);
      expect(simdRuns() - before).toBe(0);
    }
  });

  it("sums a kernel's values in float64 over chunks and a ragged tail", () => {
    for (const n of [SIMD_MIN, N, CHUNK + 1]) {
      const a = randArray(n);
      const k = kernel(x.mul(x).mul(2), ["x"]);
      const before = simdRuns();
      const got = (cpu.mapReduce("sum", { kernel: k, inputs: [flat(a)], consts: [] }, [n], [0]) as CpuBuf).data[0];
      expect(simdRuns() - before).toBe(1);
      let want = 0;
      for (const v of a) want += Math.fround(Math.fround(v * v) * 2);
      expect(got).toBe(Math.fround(want));
    }
  });

  // exp, expm1, tanh, log, log1p, sin and cos go through float64 polynomials of their own (ops/wasm_math.ts), the JS rows through
  // V8's Math: the same float32 for all 2^32 inputs on Node 20 but 2 ties of log1p's (bench/mathcheck.ts, ~2 minutes per function).
  it.each(["exp", "expm1", "tanh", "log", "log1p", "sin", "cos"] as const)("%s over float32 bit patterns of every exponent and its busy range gives the JS kernel's float32 (Math's, rounded)", (op) => {
    const n = 1 << 18, u = new Uint32Array(n), a = new Float32Array(u.buffer);
    for (let i = 0; i < n; i++) u[i] = (Math.imul(i, 2654435761) ^ (i >>> 7)) >>> 0; // every sign and exponent, scrambled mantissas
    // then half of them where the polynomial's error shows (with 7 of its 13 terms, exp, expm1 and tanh fail; with 6 of its 10,
    // sin), for sin and cos up to 2^20 (their reduction's range; beyond it Math's own: with that bound at 2^40 both fail) and 6% beyond
    const range = op === "tanh" ? 12 : op === "log" ? 2 : op === "sin" || op === "cos" ? 2 ** 20 * 1.06 : 100;
    for (let i = n / 2; i < n; i++) a[i] = ((Math.imul(i, 2246822519) >>> 0) / 2 ** 32 - (op === "log" ? 0 : 0.5)) * 2 * range;
    a.set(SPECIAL);
    a.set([88.72283, 88.72284, -87.33654, -103.97208, -103.97209, -150, 9.010913, -9.010913, 1e-8, -1e-8, 2 ** -126], SPECIAL.length);
    // The float32 nearest a multiple of π/2 below 2^20 (|r| from 4e-9: the reduction's cancellation), near odd multiples of π/4, the bounds.
    const nearPi = [252.89820861816406, 505.7964172363281, 4.71238899230957, 52516.43359375, 1011.5928344726562, 105032.8671875,
      267058.9375, 1.5707963705062866, 2 ** 19 * Math.PI / 2, 710 * Math.PI / 2].flatMap((v) => [v, -v, v + Math.PI / 4]);
    a.set([...nearPi, 2 ** 20, 2 ** 20 + 0.125, -(2 ** 20), 1e30, -3e38, 0.7853982, 0.78539807], SPECIAL.length + 11);
    const before = simdRuns();
    const got = (cpu.map(kernel(x[op](), ["x"]), [flat(a)], [], [n]) as CpuBuf).data;
    expect(simdRuns() - before).toBe(1);
    const want = Float32Array.from(a, (v) => Math.fround(Math[op](v)));
    const gb = bits(got), wb = bits(want), off = [...gb.keys()].filter((i) => gb[i] !== wb[i]);
    expect(off.map((i) => [a[i], got[i], want[i]])).toEqual([]);
  });

  it("sums a buffer (a full reduction without a fused producer)", () => {
    const a = randArray(N), before = simdRuns();
    const got = (cpu.reduce("sum", cpu.upload(a), [N], [0]) as CpuBuf).data[0];
    expect(simdRuns() - before).toBe(1);
    expect(got).toBe(Math.fround(a.reduce((s, v) => s + v, 0)));
  });

  it("sums columns as SIMD (dims before the last, 64+ columns, 4+ rows), each in the rows' order: the JS loop's bits (NaN's aside)", () => {
    for (const [shape, axes] of [[[300, 70], [0]], [[3, 50, 100], [1]], [[5, 20000], [0]], [[5, 3, 100], [0, 1]], [[40, 63], [0]], [[3, 100], [0]]] as const) {
      const n = shape.reduce((p, q) => p * q, 1), big = [1e20, 1, -1e20, 3.5, NaN, -0, Infinity];
      const a = Float32Array.from({ length: n }, (_, i) => (i % 29 === 0 ? (big[(i / 29) % 7] as number) : Math.sin(i))); // order matters
      const lo = Math.min(...axes), hi = Math.max(...axes), outer = shape.slice(0, lo).reduce((p, q) => p * q, 1);
      const inner = shape.slice(hi + 1).reduce((p, q) => p * q, 1), red = n / outer / inner, want = new Float64Array(outer * inner);
      for (let o = 0, i = 0; o < outer; o++) for (let r = 0; r < red; r++) for (let j = 0; j < inner; j++) want[o * inner + j] += a[i++] as number;
      const before = simdRuns();
      const got = (cpu.reduce("sum", cpu.upload(a), [...shape], [...axes]) as CpuBuf).data;
      expect([simdRuns() - before, bits(got)]).toEqual([inner >= 64 && red >= 4 ? outer : 0, bits(Float32Array.from(want))]);
    }
  });

  it("sums rows as SIMD (the last dim, from SIMD_MIN elements; shorter rows stay JS), each in float64", () => {
    const [rows, len] = [7, Math.max(SIMD_MIN, 1000) + 3], a = randArray(rows * len).map((v) => Math.round(v * 4096) / 4096); // exact float64 sums
    a[len + 5] = NaN, a[3 * len] = Infinity;
    const before = simdRuns();
    const got = (cpu.reduce("sum", cpu.upload(a), [rows, len], [1]) as CpuBuf).data;
    const want = Array.from({ length: rows }, (_, o) => Math.fround(a.subarray(o * len, (o + 1) * len).reduce((s, v) => s + v, 0)));
    expect([simdRuns() - before, [...got]]).toEqual([rows, want]);
    cpu.reduce("sum", cpu.upload(a), [len, 7], [1]), cpu.reduce("max", cpu.upload(a), [rows, len], [1]); // rows of 7: SIMD only if SIMD_MIN <= 7
    expect(simdRuns() - before).toBe(rows + (SIMD_MIN <= 7 ? len : 0) + 1); // and the max by argModule's lanes
  });

  it("sums a fused kernel over a block of dims by row (the last dims) or column in the scratch memory: the bits of its values summed by reduce()", () => {
    const k = kernel(x.mul(y).sub(y.exp()), ["x", "y"]), f = Math.fround;
    for (const [shape, yShape, axes] of [[[7, 1003], [7, 1003], [1]], [[3, 5, 400], [5, 1], [2]], [[2, 30, 40], [2, 1, 40], [1, 2]], [[4, 2 * CHUNK + 5], [1], [1]],
      [[1003, 70], [70], [0]], [[3, 500, 100], [3, 1, 100], [1]], [[20, 30, 65], [30, 65], [0, 1]], [[5, 4000, 2, 64], [5, 1, 2, 64], [1]], [[2, 7, 300], [7, 300], [1]],
      [[40, 30], [30], [0, 1]], [[3, 2 * CHUNK], [3, 1], [0, 1]]] as const) { // and all dims: a full sum, an input broadcast
      const n = shape.reduce((p, q) => p * q, 1), xs = randArray(n), ys = randArray(yShape.reduce((p, q) => p * q, 1));
      xs[5] = NaN, xs[3] = Infinity; // in row 0
      const ins = [{ buf: cpu.upload(xs), strides: bstrides(shape, shape) }, { buf: cpu.upload(ys), strides: bstrides(yShape, shape) }];
      const rows = n / axes.reduce((p, d) => p * (shape[d] as number), 1), before = simdRuns();
      const got = (cpu.mapReduce("sum", { kernel: k, inputs: ins, consts: [] }, [...shape], [...axes]) as CpuBuf).data;
      const inner = shape.slice(Math.max(...axes) + 1).reduce((p, q) => p * q, 1);
      expect(simdRuns() - before).toBe(inner === 1 ? rows : 1); // a run per row, or one for all columns; no map
      const want = (cpu.reduce("sum", cpu.map(k, ins, [], [...shape]), [...shape], [...axes]) as CpuBuf).data;
      expect([got.length, bits(got)]).toEqual([rows, bits(want)]);
      const yAt = (i: number): number => { // y's element for output i, broadcast
        const idx = shape.map((_, d) => Math.floor(i / shape.slice(d + 1).reduce((p, q) => p * q, 1)) % (shape[d] as number)).slice(shape.length - yShape.length);
        return ys[idx.reduce((a, v, d) => a * (yShape[d] as number) + (yShape[d] === 1 ? 0 : v), 0)] as number;
      };
      const per = n / rows, o = Math.floor((rows - 1) / inner), j = (rows - 1) % inner; // the last result: no inf or NaN
      const val = (i: number): number => f(f((xs[i] as number) * yAt(i)) - f(Math.exp(yAt(i))));
      const sum = Array.from({ length: per }, (_, r) => val((o * per + r) * inner + j)).reduce((a, v) => a + v, 0); // in float64
      expect([got[inner === 1 ? 0 : 5], rows === 1 || Math.abs((got[rows - 1] as number) - sum) <= 1e-6 * Math.abs(sum)]).toEqual([NaN, true]); // a full sum: NaN
    }
  });
});
