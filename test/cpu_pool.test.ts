// The CPU backend's pool of freed kernel results (cpu.ts overwritten/free): a result freed by the autograd engine or
// dispose() is handed to the next kernel of its length, never an array the user holds, each once; bounded in bytes
// and in time.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Strided } from "../src/backend/backend.js";
import { CpuBackend, type CpuBuf } from "../src/backend/cpu.js";
import { x } from "../src/ops/expr.js";
import { kernel } from "./webgpu_helpers.js";

const cpu = new CpuBackend(), k = kernel(x.add(1), ["x"]);
const input = (n: number): Strided[] => [{ buf: cpu.upload(new Float32Array(n).fill(2)), strides: [1] }];
const run = (n: number): CpuBuf => cpu.map(k, input(n), [], [n]) as CpuBuf;

describe("CPU pool of freed kernel results", () => {
  afterEach(() => void vi.useRealTimers());

  it("hands a freed result's array to the next result of its length, once, never an uploaded or released one", () => {
    const r = run(1000), a = r.data, before = cpu.memory().pooledBytes;
    cpu.free(r), cpu.free(r); // a second free is a no-op
    expect(cpu.memory().pooledBytes - before).toBe(4000);
    const [r2, r3] = [run(1000), run(1000)];
    expect([r2.data === a, r3.data === a, [...r2.data.subarray(0, 3)]]).toEqual([true, false, [3, 3, 3]]); // written whole
    const mine = new Float32Array(1000), up = cpu.upload(mine);
    cpu.free(up);
    const r4 = run(1000), out = cpu.readSync(r4, true); // handed over: the caller's now
    cpu.free(r4);
    const next = run(1000).data;
    expect([next === mine, next === out, run(100).data.length]).toEqual([false, false, 100]);
  });

  it("keeps at most 32 MiB, and drops what waited a second unused at the next free", () => {
    vi.useFakeTimers({ toFake: ["performance"] }), vi.advanceTimersByTime(1e9); // past the real clock's last sweep
    const big = Array.from({ length: 9 }, () => run(2 ** 20)), before = cpu.memory().pooledBytes;
    big.forEach((r) => cpu.free(r));
    expect(cpu.memory().pooledBytes).toBeLessThanOrEqual(32 * 2 ** 20);
    expect(cpu.memory().pooledBytes - before).toBe(Math.min(9, Math.floor((32 * 2 ** 20 - before) / 2 ** 22)) * 2 ** 22);
    vi.advanceTimersByTime(1500);
    cpu.free(run(2000));
    expect(cpu.memory().pooledBytes).toBe(8000);
  });
});
