// Checks src/random.ts bit-for-bit against torch.rand / torch.randn streams recorded from PyTorch
// 1.13 CPU by test/fixtures/gen_random.py in test/fixtures/random.json.
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { initialSeed, manualSeed, normalData, randData, randnData } from "../src/random.js";

interface SizeCase {
  seed: number;
  n: number;
  rand: number[];
  randn: number[];
}
interface Step {
  kind: "rand" | "randn";
  n: number;
  values: number[];
}
interface Fixture {
  cases: SizeCase[];
  sequences: { name: string; seed: number; steps: Step[] }[];
  reseed: number[];
  normal: { seed: number; n: number; mean: number; std: number; values: number[] }[];
  negative: { seed: number; initialSeed: string; rand: number[] }[];
  default: { initialSeed: string; rand: number[]; randn: number[] };
}

const fx = JSON.parse(
  readFileSync(new URL("./fixtures/random.json", import.meta.url), "utf8"),
) as Fixture;

/** Compare as float32 bit patterns so that even -0 vs 0 or a one-ulp slip fails. */
function bits(xs: ArrayLike<number>): number[] {
  return Array.from(new Uint32Array(Float32Array.from(xs).buffer));
}

function expectSame(got: Float32Array, want: number[]): void {
  expect(got.length).toBe(want.length);
  expect(Array.from(got)).toEqual(want);
  expect(bits(got)).toEqual(bits(want));
}

describe("default generator", () => {
  // Runs first in this file's module instance: nothing has been seeded yet.
  test("matches a fresh torch.Generator() (default_rng_seed_val)", () => {
    expect(initialSeed()).toBe(BigInt(fx.default.initialSeed));
    expectSame(randData(5), fx.default.rand);
    expectSame(randnData(20), fx.default.randn);
  });
});

describe("rand / randn right after manual_seed", () => {
  for (const c of fx.cases) {
    test(`seed ${c.seed}, n ${c.n}`, () => {
      manualSeed(BigInt(c.seed));
      expectSame(randData(c.n), c.rand);
      manualSeed(BigInt(c.seed));
      expectSame(randnData(c.n), c.randn);
    });
  }

  test("number and bigint seeds agree", () => {
    manualSeed(42);
    const a = randnData(7);
    manualSeed(42n);
    expect(bits(randnData(7))).toEqual(bits(a));
  });
});

describe("generator state carries across calls", () => {
  for (const s of fx.sequences) {
    test(s.name, () => {
      manualSeed(s.seed);
      for (const step of s.steps) {
        const got = step.kind === "rand" ? randData(step.n) : randnData(step.n);
        expectSame(got, step.values);
      }
    });
  }

  test("manualSeed drops a cached normal", () => {
    manualSeed(5);
    randnData(1);
    manualSeed(5);
    expectSame(randnData(2), fx.reseed);
  });
});

describe("normalData", () => {
  for (const c of fx.normal) {
    test(`mean ${c.mean}, std ${c.std}, n ${c.n}`, () => {
      manualSeed(c.seed);
      expectSame(normalData(c.n, c.mean, c.std), c.values);
    });
  }
});

describe("seed validation", () => {
  for (const c of fx.negative) {
    test(`negative seed ${c.seed}`, () => {
      manualSeed(BigInt(c.seed));
      expect(initialSeed()).toBe(BigInt(c.initialSeed));
      expectSame(randData(3), c.rand);
    });
  }

  test("rejects non-integers and out-of-range seeds", () => {
    expect(() => manualSeed(1.5)).toThrow(RangeError);
    expect(() => manualSeed(Number.NaN)).toThrow(RangeError);
    expect(() => manualSeed(1n << 64n)).toThrow(RangeError);
    expect(() => manualSeed(-(1n << 63n) - 1n)).toThrow(RangeError);
    manualSeed((1n << 64n) - 1n);
    expect(initialSeed()).toBe((1n << 64n) - 1n);
  });
});

test("1e6 normals stay fast", () => {
  manualSeed(0);
  const t0 = performance.now();
  const xs = randnData(1_000_000);
  const ms = performance.now() - t0;
  expect(xs.length).toBe(1_000_000);
  expect(ms).toBeLessThan(2000); // generous bound for slow CI; typical runs are far lower
});
