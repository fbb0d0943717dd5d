// Worker-side pool of GPU buffers by size class: freed buffers wait here for reuse (creating and
// destroying buffers is slow); the pool is bounded and trims its oldest entries first. A buffer
// bigger than the whole pool (up to maxBufferSize) is created at its exact size and destroyed
// when given back.

/** Rounds a byte size up to its class: powers of two to 4 KiB, then quarter steps per octave. */
export function sizeClass(bytes: number, max: number): number {
  const b = Math.max(16, Math.ceil(bytes / 4) * 4);
  if (b <= 4096) return 2 ** Math.ceil(Math.log2(b));
  const step = 2 ** Math.floor(Math.log2(b)) / 4;
  const c = Math.ceil(b / step) * step;
  return c <= max ? c : b;
}

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  /** Pooled buffers, oldest first. */
  private order = new Set<GPUBuffer>();
  allocatedBytes = 0;
  pooledBytes = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: GPUBufferUsageFlags,
    private readonly capBytes: number,
    private readonly maxBytes: number,
  ) {}

  take(bytes: number): GPUBuffer {
    if (bytes > this.capBytes) {
      const size = Math.ceil(bytes / 4) * 4;
      this.allocatedBytes += size;
      return this.device.createBuffer({ size, usage: this.usage });
    }
    const cls = sizeClass(bytes, this.maxBytes);
    const b = this.free.get(cls)?.pop();
    if (b) {
      this.order.delete(b);
      this.pooledBytes -= cls;
      return b;
    }
    this.allocatedBytes += cls;
    return this.device.createBuffer({ size: cls, usage: this.usage });
  }

  /** Takes back a buffer no queued or future GPU work uses any more. */
  give(b: GPUBuffer): void {
    if (b.size > this.capBytes) {
      // Dawn defers the release until submitted work that uses it is done.
      this.allocatedBytes -= b.size;
      b.destroy();
      return;
    }
    let list = this.free.get(b.size);
    if (!list) this.free.set(b.size, (list = []));
    list.push(b);
    this.order.add(b);
    this.pooledBytes += b.size;
    this.trim(this.capBytes);
  }

  /** Destroys the oldest pooled buffers until at most `cap` bytes remain pooled. */
  trim(cap: number): void {
    for (const b of this.order) {
      if (this.pooledBytes <= cap) break;
      this.order.delete(b);
      const list = this.free.get(b.size) ?? [];
      list.splice(list.indexOf(b), 1);
      this.pooledBytes -= b.size;
      this.allocatedBytes -= b.size;
      b.destroy();
    }
  }
}
