// Plain JS baselines on Float32Arrays. fused(): one hand-written loop per workload (the floor a CPU
// engine in JS can reach; it still allocates its result). perOp(): one loop and one array per op.
import { chainOp, w1Input, w2Inputs, w3Inputs, w4Input } from "../data.js";
import type { Cell, SystemImpl } from "../types.js";
import { W3_LR, W3_STEPS, W4_N, W4_OPS } from "../types.js";

type F = Float32Array;
const cell = (run: () => F | number): Cell => ({ run: async () => run() });

export function fused(): SystemImpl {
  return {
    cells: {
      W1: (n) => {
        const x = w1Input(n);
        return cell(() => {
          const g = new Float32Array(n);
          const k = 4 / n;
          for (let i = 0; i < n; i++) g[i] = k * ((x[i] as number) + 2); // d/dx mean(2 (x+2)^2)
          return g;
        });
      },
      W2: (n) => {
        const [a, b] = w2Inputs(n);
        return cell(() => {
          const c = new Float32Array(n);
          for (let i = 0; i < n; i++) c[i] = (a[i] as number) * (b[i] as number) + 2;
          return c;
        });
      },
      W3: (n) => {
        const [x, y] = w3Inputs(n);
        return cell(() => {
          let w = 0, b = 0, loss = 0;
          for (let s = 0; s < W3_STEPS; s++) {
            let l = 0, gw = 0, gb = 0;
            for (let i = 0; i < n; i++) {
              const xi = x[i] as number;
              const d = w * xi + b - (y[i] as number);
              l += d * d;
              gw += d * xi;
              gb += d;
            }
            loss = l / n;
            w -= W3_LR * ((2 * gw) / n);
            b -= W3_LR * ((2 * gb) / n);
          }
          return loss;
        });
      },
      W4: () => {
        const x = w4Input(W4_N);
        const t = new Float64Array(W4_OPS + 1);
        return cell(() => {
          const gx = new Float32Array(W4_N);
          for (let i = 0; i < W4_N; i++) {
            const xi = x[i] as number;
            t[0] = xi;
            for (let k = 0; k < W4_OPS; k++) t[k + 1] = step(chainOp(k), t[k] as number, xi);
            let g = 1; // d sum / d t_k, walking back from t_100
            let acc = 0; // d sum / d x through the ops that read x directly
            for (let k = W4_OPS - 1; k >= 0; k--) {
              const op = chainOp(k);
              if (op === "addX") acc += g;
              else if (op === "mulHalf") g *= 0.5;
              else if (op === "mulX") { acc += g * (t[k] as number); g *= xi; }
            }
            gx[i] = acc + g;
          }
          return gx;
        });
      },
    },
  };
}

function step(op: ReturnType<typeof chainOp>, t: number, x: number): number {
  return op === "addX" ? t + x : op === "mulHalf" ? t * 0.5 : op === "subTenth" ? t - 0.1 : t * x;
}

// One loop per op, each allocating its output: what an unfused engine does, minus its bookkeeping.
const map1 = (a: F, f: (v: number) => number): F => {
  const o = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) o[i] = f(a[i] as number);
  return o;
};
const map2 = (a: F, b: F, f: (u: number, v: number) => number): F => {
  const o = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) o[i] = f(a[i] as number, b[i] as number);
  return o;
};
const sum = (a: F): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] as number;
  return s;
};
const add = (a: F, b: F): F => map2(a, b, (u, v) => u + v);
const mul = (a: F, b: F): F => map2(a, b, (u, v) => u * v);
const sub = (a: F, b: F): F => map2(a, b, (u, v) => u - v);
const addS = (a: F, s: number): F => map1(a, (v) => v + s);
const mulS = (a: F, s: number): F => map1(a, (v) => v * s);
const full = (n: number, v: number): F => new Float32Array(n).fill(v);

export function perOp(): SystemImpl {
  return {
    cells: {
      W1: (n) => {
        const x = w1Input(n);
        return cell(() => {
          const y = addS(x, 2);
          const yy = mul(y, y);
          const z2 = mulS(yy, 2);
          sum(z2); // z = mean(z2), the forward value backward() starts from
          const gz2 = full(n, 1 / n); // MeanBackward
          const gyy = mulS(gz2, 2); // MulBackward (scalar)
          const gy = add(mul(gyy, y), mul(gyy, y)); // MulBackward (y, y): both inputs are y
          return gy.slice(); // AddBackward passes the gradient on; x.grad gets its own copy
        });
      },
      W2: (n) => {
        const [a, b] = w2Inputs(n);
        return cell(() => addS(mul(a, b), 2));
      },
      W3: (n) => {
        const [x, y] = w3Inputs(n);
        return cell(() => {
          let w = 0, b = 0, loss = 0;
          for (let s = 0; s < W3_STEPS; s++) {
            const d = sub(addS(mulS(x, w), b), y);
            loss = sum(mul(d, d)) / n;
            const gd = mulS(mul(full(n, 1 / n), d), 2);
            const gw = sum(mul(gd, x));
            const gb = sum(gd);
            w -= W3_LR * gw;
            b -= W3_LR * gb;
          }
          return loss;
        });
      },
      W4: () => {
        const x = w4Input(W4_N);
        return cell(() => {
          const ts: F[] = [x];
          for (let k = 0; k < W4_OPS; k++) {
            const t = ts[k] as F, op = chainOp(k);
            ts.push(op === "addX" ? add(t, x) : op === "mulHalf" ? mulS(t, 0.5) : op === "subTenth" ? addS(t, -0.1) : mul(t, x));
          }
          let g: F = full(W4_N, 1); // SumBackward
          let gx: F = new Float32Array(W4_N);
          for (let k = W4_OPS - 1; k >= 0; k--) {
            const op = chainOp(k);
            if (op === "addX") gx = add(gx, g);
            else if (op === "mulHalf") g = mulS(g, 0.5);
            else if (op === "mulX") { gx = add(gx, mul(g, ts[k] as F)); g = mul(g, x); }
          }
          return add(gx, g);
        });
      },
    },
  };
}
