// Checks formatTensor byte-for-byte against real PyTorch 1.13 repr() strings recorded by
// test/fixtures/gen_repr.py in test/fixtures/repr.json.
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { formatTensor } from "../src/format.js";

type JsonValue = number | "nan" | "inf" | "-inf";

interface ReprCase {
  name: string;
  shape: number[];
  data: JsonValue[];
  suffixes: string[];
  repr: string;
}

const cases = JSON.parse(
  readFileSync(new URL("./fixtures/repr.json", import.meta.url), "utf8"),
) as ReprCase[];

function decode(v: JsonValue): number {
  if (v === "nan") return NaN;
  if (v === "inf") return Infinity;
  if (v === "-inf") return -Infinity;
  return v;
}

describe("formatTensor matches torch repr", () => {
  test("fixture file has the expected coverage", () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
    const dims = new Set(cases.map((c) => c.shape.length));
    for (const d of [0, 1, 2, 3, 4]) expect(dims.has(d)).toBe(true);
    expect(cases.some((c) => c.repr.includes("..."))).toBe(true);
  });

  test.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const data = Float32Array.from(c.data, decode);
    expect(formatTensor(data, c.shape, c.suffixes)).toBe(c.repr);
  });

  test("rejects data that does not match the shape", () => {
    expect(() => formatTensor(new Float32Array(3), [2, 2])).toThrow();
  });

  test("suffixes default to none", () => {
    expect(formatTensor(Float32Array.of(1, 2.5), [2])).toBe("tensor([1.0000, 2.5000])");
  });
});
