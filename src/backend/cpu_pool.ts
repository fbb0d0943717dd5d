// The CPU backend's pool of freed kernel results: the autograd engine and dispose() free buffers (Buf.holders), and a
// result's array then serves the next result of its length, as WebGPU's pool serves its buffers.
import { errors } from "../errors.js";

/** Freed kernel results by length, for overwritten() to hand out again (a new 4 KiB array took ~1.5 µs here, a new
 * 4 MiB one ~1 000 page faults: 0.5-2 ms), up to POOL_BYTES; a free drops those that waited a second (at most once a second). */
const pool = new Map<number, { a: Float32Array; t: number }[]>(), POOL_BYTES = 32 * 2 ** 20;
let pooled = 0, swept = 0;
/** Keeps `a` (a freed kernel result) for overwritten() if the pool has room, first dropping what waited a second. */
export function recycle(a: Float32Array): void {
  const n = a.length;
  if (n < 256) return; // overwritten() makes these anew
  const now = performance.now();
  if (now - swept >= 1000) { // drop what waited a second or more
    swept = now;
    for (const [m, list] of pool) { // oldest first (pushed in time order)
      let k = 0;
      while (k < list.length && now - (list[k] as { t: number }).t >= 1000) k++;
      (pooled -= 4 * m * k), list.splice(0, k);
      if (!list.length) pool.delete(m); // lengths seen once do not stay
    }
  }
  if (pooled + 4 * n <= POOL_BYTES) (pool.get(n) ?? pool.set(n, []).get(n))?.push({ a, t: now }), (pooled += 4 * n);
}
/** An array its caller writes whole: from 1 KiB a freed one or one without the zero fill (saves a pass over memory). */
export function overwritten(n: number): Float32Array {
  if (n < 256) return new Float32Array(n);
  const e = pool.get(n)?.pop();
  if (e) return (pooled -= 4 * n), e.a;
  if (n > 2 ** 30) throw errors.cpuAlloc(n);
  const b = Buffer.allocUnsafeSlow(n * 4);
  return new Float32Array(b.buffer, b.byteOffset, n);
}
/** Bytes of arrays waiting in the pool. */
export const pooledBytes = (): number => pooled;
