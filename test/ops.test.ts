// Every fixture case (test/fixtures/ops.json, from PyTorch) on every device: forward values, each
// input's gradient after backward(v), and the grad_fn name.
import { describe, expect, test } from "vitest";
import { type Device, type Tensor, pow, tensor, where } from "../src/index.js";
import { type Fx, availableDevices, decode, loadFixture } from "./setup.js";

interface Case {
  name: string;
  op: string;
  kw: { dim?: number | number[]; keepdim?: boolean; min?: number | null; max?: number | null; shape?: number[] };
  args: (Fx | { number: number | string })[];
  out: Fx;
  gradFn: string | null;
  seed?: Fx;
  grads?: (Fx | null)[];
}

const cases = loadFixture<Case[]>("ops.json");
type Arg = Tensor | number;

function run(c: Case, a: Arg[]): Tensor {
  const [x, y, z] = a as [Tensor, Arg, Arg];
  const k = c.kw;
  switch (c.op) {
    case "clamp": return x.clamp(k.min, k.max);
    case "where": return where(x.gt(0), y, z);
    case "sum": case "mean": return k.dim === undefined ? x[c.op]() : x[c.op](k.dim, k.keepdim);
    case "max": case "min": {
      const src = c.name.includes("ties") ? x.mul(0).add(1) : x;
      return k.dim === undefined ? src[c.op]() : src[c.op](k.dim as number, k.keepdim)[0];
    }
    case "reshape": case "view": case "expand": return x[c.op](k.shape as number[]);
    case "squeeze": return x.squeeze(k.dim as number | undefined);
    case "unsqueeze": return x.unsqueeze(k.dim as number);
    case "pow": return typeof a[0] === "number" ? pow(a[0], y) : x.pow(y);
    default: {
      const m = (x as unknown as Record<string, (o?: Arg) => Tensor>)[c.op];
      if (!m) throw new Error(`no method ${c.op}`);
      return a.length === 1 ? m.call(x) : m.call(x, y);
    }
  }
}

const devices = await availableDevices();
describe.each(devices.map((d) => [d.type, d] as [string, Device]))("%s", (_, device) => {
  test.each(cases.map((c) => [c.name, c] as [string, Case]))("%s matches PyTorch", (_n, c) => {
    const args: Arg[] = c.args.map((a) => {
      if ("number" in a) return decode(a.number);
      const t = tensor(a.data.map(decode), { device }).reshape(a.shape).detach();
      return c.seed ? t.requiresGrad_(c.op !== "where" || a !== c.args[0]) : t;
    });
    const out = run(c, args);
    expect(out.gradFn?.name ?? null).toBe(c.gradFn);
    expect(out).toBeAllClose(c.out);
    if (!c.seed || !c.grads) return;
    out.backward(tensor(c.seed.data.map(decode), { device }).reshape(c.seed.shape).detach());
    c.grads.forEach((g, i) => {
      const a = args[i];
      if (g === null || typeof a === "number") return;
      expect(a?.grad, `grad of input ${i}`).toBeAllClose(g);
    });
  });
});
