// gradwise on one device, through its public API only, exactly as a user writes it: the tsc build
// (dist/, what a user imports) when it is newer than every source, else src/ through tsx, whose
// transform adds a naming call per closure that almost doubles host time on small tensors.
// Inputs are created on the device before timing; each rep ends with a read back to the host.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Device, Tensor } from "../../src/index.js";
import { compiled, findUp } from "../paths.js";
import { chainOp, w1Input, w2Inputs, w3Inputs, w4Input } from "../data.js";
import type { Cell, SystemImpl } from "../types.js";
import { W3_LR, W3_STEPS, W4_N, W4_OPS } from "../types.js";

const gradOf = (x: Tensor): Tensor => {
  if (!x.grad) throw new Error("backward left no gradient on x");
  return x.grad;
};

export type Lib = typeof import("../../src/index.js");

/** The newest modification time under a folder (ms). */
function newest(dir: string): number {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .reduce((t, e) => Math.max(t, statSync(join(e.parentPath, e.name)).mtimeMs), 0);
}

async function load(): Promise<{ lib: Lib; build: string }> {
  if (compiled) return { lib: await import("../../src/index.js"), build: "compiled" };
  const src = findUp("src"), dist = join(findUp("package.json"), "..", "dist", "src", "index.js");
  let fresh = false;
  try {
    fresh = statSync(dist).mtimeMs >= newest(src);
  } catch {
    // no build
  }
  if (fresh) return { lib: (await import(pathToFileURL(dist).href)) as Lib, build: "dist (tsc)" };
  return { lib: await import("../../src/index.js"), build: "src via tsx (no fresh build)" };
}

/** `thread`: where a webgpu device runs Dawn (requestDevice's option); every read here is async. */
export async function gradwise(type: "cpu" | "webgpu", thread: "worker" | "main" = "worker"): Promise<SystemImpl> {
  if (type === "webgpu") process.env.XDG_RUNTIME_DIR ??= "/tmp";
  const { lib, build } = await load();
  const device: Device = await lib.requestDevice(type, type === "webgpu" ? { thread } : {});
  return {
    info: { device: device.type, backend: device.backend.name, build, ...(type === "webgpu" ? { thread } : {}) },
    cells: cellsFor(lib, device),
    close: () => lib.shutdown(),
  };
}

/** The four workloads through `lib` (any build of gradwise's public API) on `device`. */
export function cellsFor(lib: Lib, device: Device): Record<"W1" | "W2" | "W3" | "W4", (n: number) => Cell> {
  const { optim, tensor, zeros } = lib;
  const on = { device };

  const w1 = (n: number): Cell => {
    const x = tensor(w1Input(n), { ...on, requiresGrad: true });
    return {
      run: async () => {
        x.grad = null;
        const y = x.add(2);
        const z = y.mul(y).mul(2).mean();
        z.backward();
        return gradOf(x).data();
      },
    };
  };

  const w2 = (n: number): Cell => {
    const [a0, b0] = w2Inputs(n);
    const a = tensor(a0, on);
    const b = tensor(b0, on);
    return { run: () => a.mul(b).add(2).data() };
  };

  const w3 = (n: number): Cell => {
    const [x0, y0] = w3Inputs(n);
    const x = tensor(x0, on);
    const y = tensor(y0, on);
    return {
      run: async () => {
        const w = zeros([1], { ...on, requiresGrad: true });
        const b = zeros([1], { ...on, requiresGrad: true });
        const opt = new optim.SGD([w, b], { lr: W3_LR });
        let loss: Tensor | null = null;
        for (let s = 0; s < W3_STEPS; s++) {
          opt.zeroGrad();
          loss = x.mul(w).add(b).sub(y).square().mean();
          loss.backward();
          opt.step();
        }
        return ((await (loss as Tensor).data())[0] as number);
      },
    };
  };

  const w4 = (): Cell => {
    const x = tensor(w4Input(W4_N), { ...on, requiresGrad: true });
    return {
      run: async () => {
        x.grad = null;
        let t: Tensor = x;
        for (let k = 0; k < W4_OPS; k++) {
          const op = chainOp(k);
          t = op === "addX" ? t.add(x) : op === "mulHalf" ? t.mul(0.5) : op === "subTenth" ? t.sub(0.1) : t.mul(x);
        }
        t.sum().backward();
        return gradOf(x).data();
      },
    };
  };

  return { W1: w1, W2: w2, W3: w3, W4: w4 };
}
