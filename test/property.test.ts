// Property test: random op programs (ranks 0–5, broadcasting, size-0 dims; NaN, ±Inf, -0 and
// denormal values) run on every device; either all throw the same error, or all return the same
// values and gradients (NaN positions included). GRADWISE_PROPERTY_RUNS sets the program count
// (2000 by default, what CI runs; each new fused kernel is a shader compile on lavapipe).
import fc from "fast-check";
import { expect, test } from "vitest";
import { type Device, type Tensor, maximum, minimum, noGrad, tensor, where } from "../src/index.js";
import { isFusionEnabled, setFusion } from "../src/ops/lazy.js";
import { availableDevices, flushesSubnormals, subnormal } from "./setup.js";

const RUNS = Number(process.env.GRADWISE_PROPERTY_RUNS ?? 2000);
const devices = await availableDevices();

const UNARY = ["neg", "exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu",
  "square", "reciprocal", "log1p", "expm1"] as const;
const BINARY = ["add", "sub", "mul", "div", "pow", "rsub", "maximum", "minimum", "gt", "le", "eq"] as const;
const REDUCE = ["sum", "mean", "max", "min"] as const;

type Step =
  | { k: "unary"; op: (typeof UNARY)[number]; a: number }
  | { k: "binary"; op: (typeof BINARY)[number]; a: number; b: number }
  | { k: "scalar"; op: (typeof BINARY)[number]; a: number; c: number }
  | { k: "reduce"; op: (typeof REDUCE)[number]; a: number; dim: number | null; keepdim: boolean }
  | { k: "where"; c: number; a: number; b: number }
  | { k: "clamp"; a: number; lo: number; hi: number }
  | { k: "shape"; op: "unsqueeze" | "squeeze" | "flat"; a: number; dim: number };

interface Program {
  inputs: { shape: number[]; data: number[] }[];
  steps: Step[];
}

const special = fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, 1, -1, 2, 0.5, 1e-40, -3e-39, 1e30, 100);
const value = fc.oneof({ weight: 3, arbitrary: fc.double({ min: -4, max: 4, noNaN: true }) }, special);
const dim = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 4 }) }, fc.constant(0));
const baseShape = fc.array(dim, { minLength: 0, maxLength: 5 });

/** Input shapes broadcastable to a base shape (dims set to 1 or dropped), rarely incompatible. */
const program: fc.Arbitrary<Program> = baseShape.chain((base) => {
  const shape = fc.oneof(
    { weight: 9, arbitrary: fc.tuple(fc.array(fc.boolean(), { minLength: base.length, maxLength: base.length }), fc.nat(base.length))
      .map(([ones, drop]) => base.map((d, i) => (ones[i] ? 1 : d)).slice(drop)) },
    { weight: 1, arbitrary: fc.array(dim, { maxLength: 3 }) },
  );
  const input = shape.chain((s) => fc.array(value, { minLength: s.reduce((a, b) => a * b, 1), maxLength: s.reduce((a, b) => a * b, 1) }).map((data) => ({ shape: s, data })));
  return fc.array(input, { minLength: 1, maxLength: 3 }).chain((inputs) => {
    const ref = fc.nat(64);
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ k: fc.constant("unary" as const), op: fc.constantFrom(...UNARY), a: ref }),
      fc.record({ k: fc.constant("binary" as const), op: fc.constantFrom(...BINARY), a: ref, b: ref }),
      fc.record({ k: fc.constant("scalar" as const), op: fc.constantFrom(...BINARY), a: ref, c: value }),
      fc.record({ k: fc.constant("reduce" as const), op: fc.constantFrom(...REDUCE), a: ref,
        dim: fc.option(fc.integer({ min: -5, max: 4 }), { nil: null }), keepdim: fc.boolean() }),
      fc.record({ k: fc.constant("where" as const), c: ref, a: ref, b: ref }),
      fc.record({ k: fc.constant("clamp" as const), a: ref, lo: fc.double({ min: -2, max: 0, noNaN: true }), hi: fc.double({ min: 0, max: 2, noNaN: true }) }),
      fc.record({ k: fc.constant("shape" as const), op: fc.constantFrom("unsqueeze" as const, "squeeze" as const, "flat" as const), a: ref, dim: fc.integer({ min: -3, max: 3 }) }),
    );
    return fc.array(step, { minLength: 1, maxLength: 6 }).map((steps) => ({ inputs, steps }));
  });
});

function applyStep(s: Step, vals: Tensor[]): Tensor {
  const at = (i: number): Tensor => vals[i % vals.length] as Tensor;
  const t = (x: Tensor) => x as unknown as Record<string, (...a: unknown[]) => Tensor>;
  switch (s.k) {
    case "unary": return (t(at(s.a))[s.op] as () => Tensor).call(at(s.a));
    case "binary":
      if (s.op === "maximum") return maximum(at(s.a), at(s.b));
      if (s.op === "minimum") return minimum(at(s.a), at(s.b));
      return (t(at(s.a))[s.op] as (o: Tensor) => Tensor).call(at(s.a), at(s.b));
    case "scalar":
      if (s.op === "maximum" || s.op === "minimum") return at(s.a).clamp(s.op === "maximum" ? s.c : null, s.op === "minimum" ? s.c : null);
      return (t(at(s.a))[s.op] as (o: number) => Tensor).call(at(s.a), s.c);
    case "reduce": {
      const x = at(s.a);
      if (s.op === "max" || s.op === "min") return s.dim === null ? x[s.op]() : x[s.op](s.dim, s.keepdim)[0];
      return s.dim === null ? x[s.op]() : x[s.op](s.dim, s.keepdim);
    }
    case "where": return where(at(s.c).gt(0), at(s.a), at(s.b));
    case "clamp": return at(s.a).clamp(s.lo, s.hi);
    case "shape": {
      const x = at(s.a);
      return s.op === "flat" ? x.reshape(-1) : s.op === "squeeze" ? x.squeeze(s.dim) : x.unsqueeze(s.dim);
    }
  }
}

type Outcome = { error: string } | { values: number[][]; grads: (number[] | null)[] };

function run(p: Program, device: Device): Outcome {
  try {
    const ins = p.inputs.map((x) => tensor(x.data, { device }).reshape(x.shape).detach().requiresGrad_());
    const vals: Tensor[] = [...ins];
    for (const s of p.steps) vals.push(applyStep(s, vals));
    const out = vals[vals.length - 1] as Tensor;
    if (out.requiresGrad) out.backward(noGrad(() => out.mul(0).add(1)));
    return {
      values: vals.slice(ins.length).map((v) => Array.from(v.dataSync())),
      grads: ins.map((x) => (x.grad ? Array.from(x.grad.dataSync()) : null)),
    };
  } catch (e) {
    return { error: `${(e as Error).constructor.name}: ${(e as Error).message}` };
  }
}

/** Equal up to float tolerance; NaN where NaN; denormals may flush to zero on a GPU. */
function same(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b || Math.abs(a - b) <= 1e-3 * Math.abs(b);
  return Math.abs(a - b) <= 1e-5 + 2e-4 * Math.abs(b);
}

/** Whether a program meets a subnormal float32: in an input or scalar, or in a value or gradient
 * the CPU computed. A device that flushes them (NVIDIA) is compared only on programs that do not. */
function touchesSubnormal(p: Program, cpu: Outcome): boolean {
  const sub = (v: number) => subnormal(Math.fround(v));
  const scalars = p.steps.flatMap((s) => (s.k === "scalar" ? [s.c] : s.k === "clamp" ? [s.lo, s.hi] : []));
  const seen = "values" in cpu ? [...cpu.values, ...cpu.grads.filter((g) => g !== null)].flat() : [];
  return [...p.inputs.flatMap((x) => x.data), ...scalars, ...seen].some(sub);
}
const flushes = new Map(await Promise.all(devices.map(async (d) => [d, await flushesSubnormals(d)] as const)));

function agree(x: Outcome, y: Outcome): boolean {
  if ("error" in x || "error" in y) return "error" in x && "error" in y && x.error === y.error;
  const arr = (p: number[] | null, q: number[] | null) =>
    p === null || q === null ? p === q : p.length === q.length && p.every((v, i) => same(v, q[i] as number));
  return x.values.every((v, i) => arr(v, y.values[i] ?? null)) && x.grads.every((g, i) => arr(g, y.grads[i] ?? null));
}

/** Counterexamples the property test found, kept as regular cases once fixed. */
const FOUND: { why: string; p: Program }[] = [
  {
    why: "log of a subnormal: lavapipe's builtin log is inexact there (seed 20261123, run 373)",
    p: { inputs: [{ shape: [2, 1, 3, 1], data: [5.0975521314359524e-82, 1.286704232579778, 2.6710418060370148e-266, 1e-40, 8.795827098570381e-285, 1e30] }],
      steps: [{ k: "unary", op: "log", a: 0 }] },
  },
];

test.runIf(devices.length > 1).each(FOUND)("found earlier: $why", ({ p }) => {
  const want = run(p, devices[0] as Device);
  expect("values" in want).toBe(true);
  for (const d of devices.slice(1)) {
    if (flushes.get(d) && touchesSubnormal(p, want)) continue;
    expect(agree(want, run(p, d)), JSON.stringify(run(p, d))).toBe(true);
  }
});

test.runIf(devices.length > 1)(`${RUNS} random programs agree on ${devices.map((d) => d.type).join(" and ")}`, () => {
  const [cpu, ...others] = devices as [Device, ...Device[]];
  fc.assert(
    fc.property(program, (p) => {
      const want = run(p, cpu);
      for (const d of others) {
        if (flushes.get(d) && touchesSubnormal(p, want)) continue;
        const got = run(p, d);
        if (!agree(want, got)) throw new Error(`${d.type} differs:\n${JSON.stringify(got).slice(0, 600)}\ncpu:\n${JSON.stringify(want).slice(0, 600)}`);
      }
    }),
    { numRuns: RUNS, seed: Number(process.env.GRADWISE_PROPERTY_SEED ?? 20261123) },
  );
}, 600_000);

test("fused and unfused execution agree on every program (cpu)", () => {
  const cpu = devices[0] as Device;
  const was = isFusionEnabled();
  try {
    fc.assert(
      fc.property(program, (p) => {
        setFusion(true);
        const fused = run(p, cpu);
        setFusion(false);
        const plain = run(p, cpu);
        if (!agree(plain, fused)) throw new Error(`fused:\n${JSON.stringify(fused).slice(0, 600)}\nunfused:\n${JSON.stringify(plain).slice(0, 600)}`);
      }),
      { numRuns: Math.min(RUNS, 1000), seed: 7 },
    );
  } finally {
    setFusion(was);
  }
}, 600_000);
