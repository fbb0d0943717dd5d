// TensorFlow.js 4.x (the full @tensorflow/tfjs bundle: tf.grad needs its gradient registrations)
// on its cpu, wasm or webgpu backend. Not tfjs-node, whose install downloads a native binary.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type * as TF from "@tensorflow/tfjs";
import { chainOp, w1Input, w2Inputs, w3Inputs, w4Input } from "../data.js";
import type { Cell, SystemImpl } from "../types.js";
import { W3_LR, W3_STEPS, W4_N, W4_OPS } from "../types.js";
import { installNavigatorGpu } from "./dawn.js";

type Tf = typeof TF;
type T = TF.Tensor;

/** Reads a tensor to the host and releases it. */
async function take(t: T): Promise<Float32Array> {
  const d = (await t.data()) as Float32Array;
  t.dispose();
  return d;
}

async function load(backend: "cpu" | "wasm" | "webgpu"): Promise<Tf> {
  if (backend === "webgpu") installNavigatorGpu(); // before the backend module looks for it
  const tf: Tf = await import("@tensorflow/tfjs");
  if (backend === "wasm") {
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    const pkg = createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm/package.json");
    wasm.setWasmPaths(join(dirname(pkg), "dist") + "/");
  }
  if (backend === "webgpu") await import("@tensorflow/tfjs-backend-webgpu");
  if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') returned false`);
  await tf.ready();
  return tf;
}

export async function tfjs(backend: "cpu" | "wasm" | "webgpu"): Promise<SystemImpl> {
  const tf = await load(backend);
  const info: Record<string, string | number | boolean> = { version: tf.version.tfjs, backend: tf.getBackend() };
  if (backend === "wasm") {
    info.simd = tf.env().getBool("WASM_HAS_SIMD_SUPPORT");
    info.threads = tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT");
  }

  const w1 = (n: number): Cell => {
    const x = tf.tensor1d(w1Input(n));
    const g = tf.grad((v: T) => {
      const y = v.add(2);
      return y.mul(y).mul(2).mean();
    });
    return { run: () => take(tf.tidy(() => g(x))), dispose: () => x.dispose() };
  };

  const w2 = (n: number): Cell => {
    const [a0, b0] = w2Inputs(n);
    const a = tf.tensor1d(a0);
    const b = tf.tensor1d(b0);
    return { run: () => take(tf.tidy(() => a.mul(b).add(2))), dispose: () => tf.dispose([a, b]) };
  };

  const w3 = (n: number): Cell => {
    const [x0, y0] = w3Inputs(n);
    const x = tf.tensor1d(x0);
    const y = tf.tensor1d(y0);
    return {
      run: async () => {
        const w = tf.variable(tf.zeros([1]));
        const b = tf.variable(tf.zeros([1]));
        const opt = tf.train.sgd(W3_LR);
        const f = (): TF.Scalar => x.mul(w).add(b).sub(y).square().mean() as TF.Scalar;
        let loss: TF.Scalar | null = null;
        for (let s = 0; s < W3_STEPS; s++) loss = opt.minimize(f, s === W3_STEPS - 1, [w, b]);
        if (!loss) throw new Error("minimize returned no cost");
        const v = (await take(loss))[0] as number;
        tf.dispose([w, b]);
        opt.dispose();
        return v;
      },
      dispose: () => tf.dispose([x, y]),
    };
  };

  const w4 = (): Cell => {
    const x = tf.tensor1d(w4Input(W4_N));
    const g = tf.grad((v: T) => {
      let t = v;
      for (let k = 0; k < W4_OPS; k++) {
        const op = chainOp(k);
        t = op === "addX" ? t.add(v) : op === "mulHalf" ? t.mul(0.5) : op === "subTenth" ? t.sub(0.1) : t.mul(v);
      }
      return t.sum();
    });
    return { run: () => take(tf.tidy(() => g(x))), dispose: () => x.dispose() };
  };

  return { info, cells: { W1: w1, W2: w2, W3: w3, W4: w4 } };
}
