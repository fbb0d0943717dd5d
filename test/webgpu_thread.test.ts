// A webgpu device opened with { thread: "main" }: Dawn on the caller's thread. The same graph,
// values and kernel counts as the worker device; reads only through data(); sync reads, the other
// thread option and bad options throw naming what to do; budgets, big reads and shutdown work.
// (ops.test.ts runs every PyTorch fixture case on this device too.)
import { inspect } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { createWebGpuBackend } from "../src/backend/webgpu.js";
import { type Device, memory, noGrad, requestDevice, shutdown, tensor } from "../src/index.js";
import { isFusionEnabled } from "../src/ops/lazy.js";
import { availableDevices } from "./setup.js";

const hasGpu = (await availableDevices()).length > 1;
await shutdown(); // availableDevices opened the worker device: this file opens the other kind
const NO_SYNC = /^the webgpu device opened with \{ thread: "main" \} reads only asynchronously: use 'await t\.data\(\)'/;

describe.runIf(hasGpu)("webgpu, thread main", () => {
  let device: Device;
  afterAll(() => shutdown());

  it("opens through requestDevice and runs W1 forward and backward like PyTorch", async () => {
    device = await requestDevice("webgpu", { thread: "main" });
    expect((device.backend as { thread?: string }).thread).toBe("main");
    const x0 = [0.5, -1.25, 2, 3.5];
    const x = tensor(x0, { device, requiresGrad: true });
    const y = x.add(2);
    const z = y.mul(y).mul(2).mean();
    expect([y.gradFn?.name, z.gradFn?.name]).toEqual(["AddBackward0", "MeanBackward0"]);
    z.backward();
    const want = x0.map((v) => (4 * (v + 2)) / 4);
    expect(Array.from(await (x.grad as NonNullable<typeof x.grad>).data())).toEqual(want);
    expect((await z.data())[0]).toBeCloseTo(x0.reduce((s, v) => s + 2 * (v + 2) ** 2, 0) / 4, 4);
  });

  it("keeps that device for later calls; the worker kind or bad options throw", async () => {
    expect(await requestDevice("webgpu")).toBe(device);
    expect(await requestDevice("webgpu", { thread: "main" })).toBe(device);
    await expect(requestDevice("webgpu", { thread: "worker" })).rejects.toThrow(
      `requestDevice(): the webgpu device is open with { thread: "main" }; call 'await shutdown()' before opening it with { thread: "worker" }`,
    );
    await expect(requestDevice("webgpu", { thread: "gpu" as never })).rejects.toThrow(
      "requestDevice(): argument 'opts.thread' must be 'worker' or 'main', but got",
    );
    await expect(requestDevice("webgpu", { threads: 2 } as never)).rejects.toThrow(
      "requestDevice(): got an unexpected option 'threads'",
    );
    await expect(requestDevice("cpu", { thread: 1 } as never)).rejects.toThrow("argument 'opts.thread'");
    await expect(requestDevice("webgpu", null as never)).rejects.toThrow(
      "requestDevice(): argument 'opts' must be an object, but got",
    );
  });

  it("replaces a lost device on the same thread; the old one's tensors throw", async () => {
    const t = tensor([1, 2], { device });
    (device.backend as unknown as { debugFault(f: string): void }).debugFault("destroy");
    await expect(t.add(1).data()).rejects.toThrow(/^webgpu device was lost: destroyed/);
    const again = await requestDevice("webgpu");
    expect(again).not.toBe(device);
    expect((again.backend as { thread?: string }).thread).toBe("main");
    expect(() => t.add(1)).toThrow(/^webgpu device was lost/);
    device = again;
    expect(Array.from(await tensor([4], { device }).sqrt().data())).toEqual([2]);
  });

  // Only fusion leaves results pending (with GRADWISE_FUSION=0 each op runs as it is called).
  it.runIf(isFusionEnabled())("reads a pending result in one batch: its kernel, the copy out, and the free of its buffer", async () => {
    const a = tensor([1, 2, 3], { device }), b = tensor([4, 5, 6], { device });
    await a.data(); // the uploads go first, in a batch of their own
    const peer = (device.backend as unknown as { q: { worker: { postMessage(b: { cmds: { op: string }[] }): void } } }).q.worker;
    const sent: string[][] = [], post = peer.postMessage;
    peer.postMessage = (batch) => (sent.push(batch.cmds.map((c) => c.op)), post.call(peer, batch));
    try {
      expect(Array.from(await a.mul(b).add(2).data())).toEqual([6, 12, 20]);
      await new Promise((r) => setImmediate(r)); // a free queued apart would be posted by now
    } finally {
      peer.postMessage = post;
    }
    expect(sent).toEqual([["alloc", "run", "read", "free"]]);
  });

  it("takes a 0-d CPU tensor as a scalar; one that requires grad throws at the op, not in backward", async () => {
    const x = tensor([1, 2], { device, requiresGrad: true });
    expect(Array.from(await x.mul(tensor(3)).data())).toEqual([3, 6]);
    expect(() => x.mul(tensor(3, { requiresGrad: true }))).toThrow(
      'a 0-d cpu tensor that requires grad cannot join an op on the webgpu device opened with { thread: "main" }',
    );
  });

  it("refuses to record to() or copy_() of a CPU tensor that requires grad onto it, at the op", async () => {
    const x = tensor([1, 2, 3], { requiresGrad: true }), w = tensor([1, 1, 1], { device, requiresGrad: true });
    const onto = ' of a cpu tensor that requires grad onto the webgpu device opened with { thread: "main" } cannot be recorded';
    expect(() => x.to(device)).toThrow(`to()${onto}`);
    const dst = tensor([0, 0, 0], { device });
    expect(() => dst.copy_(x)).toThrow(`copy_()${onto}`);
    expect(Array.from(await dst.data())).toEqual([0, 0, 0]);
    expect(Array.from(await x.detach().to(device).mul(w).data())).toEqual([1, 2, 3]);
    expect(Array.from(await noGrad(() => x.to(device)).data())).toEqual([1, 2, 3]);
    expect([x.grad, w.grad]).toEqual([null, null]);
    // backward's own gradient is copied over unrecorded, as PyTorch takes it: one requiring grad too.
    w.sum().backward(tensor(2, { requiresGrad: true }));
    expect(Array.from(await (w.grad as unknown as { data(): Promise<Float32Array> }).data())).toEqual([2, 2, 2]);
  });

  it("throws on every sync read, naming data(); the tensor stays usable", async () => {
    const t = tensor([1, 2, 3], { device }).mul(2);
    expect(() => t.dataSync()).toThrow(NO_SYNC);
    expect(() => t.sum().item()).toThrow(NO_SYNC);
    expect(() => t.tolist()).toThrow(NO_SYNC);
    expect(() => String(t)).toThrow(NO_SYNC);
    expect(inspect(t)).toMatch(/^tensor\(<the webgpu device opened with \{ thread: "main" \} reads only asynchronously/);
    expect(() => t.to("cpu")).toThrow(NO_SYNC);
    expect(Array.from(await t.data())).toEqual([2, 4, 6]);
    expect(await t.format()).toBe("tensor([2., 4., 6.])");
  });

  it("reads past one staging piece (64 MiB) in order with the reads queued behind it", async () => {
    const n = 17 * 2 ** 20; // 68 MiB
    const x = tensor(Float32Array.from({ length: n }, (_, i) => i % 1000), { device });
    const [big, small] = await Promise.all([x.add(1).data(), x.mul(0).add(7).sum().data()]);
    expect(big.length).toBe(n);
    expect([big[0], big[999], big[1000], big[n - 1]]).toEqual([1, 1000, 1, ((n - 1) % 1000) + 1]);
    expect(small[0]).toBe(7 * n);
  }, 60_000);

  it("keeps a memory budget: the pool is trimmed on this thread, then it throws", async () => {
    const limit = 2 ** 20;
    const b = await createWebGpuBackend({}, { memoryLimitBytes: limit }, "main");
    const data = Float32Array.from({ length: 150_000 }, (_, i) => i);
    b.free(b.upload(data));
    await b.read(b.upload(Float32Array.of(1))); // brings the pool statistics
    expect(b.memory().pooledBytes).toBeGreaterThanOrEqual(600_000);
    const c = b.upload(data); // 600 KB live + 600 KB pooled would pass 1 MiB: trimmed, then fits
    expect(b.memory()).toEqual({ allocatedBytes: 600_004, inUseBytes: 600_004, pooledBytes: 0 });
    expect(() => b.upload(data)).toThrow(/^out of memory on webgpu: tried to allocate 600000 bytes; 600004 in use/);
    expect((await b.read(c))[12_345]).toBe(12_345);
    await b.shutdown();
  });

  it("shuts down: a pending read settles, later calls throw, a new device opens", async () => {
    const t = tensor([1, 2], { device }).add(1);
    const pending = t.data().then((d) => Array.from(d), (e: Error) => e.message);
    const old = device;
    await shutdown();
    expect(await pending).toSatisfy((v: unknown) => Array.isArray(v) || /shut down/.test(String(v)));
    expect(() => t.add(1)).toThrow(/^webgpu device was shut down/);
    // It holds no memory any more (its last count stayed), and "webgpu" is not open "yet" but shut down.
    expect(memory(old)).toMatchObject({ allocatedBytes: 0, inUseBytes: 0, pooledBytes: 0 });
    expect(() => memory("webgpu")).toThrow(`memory(): the webgpu device is not open (it was shut down); call 'await requestDevice("webgpu")' first`);
    device = await requestDevice("webgpu", { thread: "main" });
    expect(Array.from(await tensor([3], { device }).neg().data())).toEqual([-3]);
    // A tensor of the shut-down device meeting the new one says the old one is shut down.
    expect(() => t.add(tensor([1, 1], { device }))).toThrow(/^webgpu device was shut down/);
  });

  it("opens one device for requests in flight together: the same one, or the other thread's error", async () => {
    await shutdown();
    const [a, b] = await Promise.all([requestDevice("webgpu", { thread: "main" }), requestDevice("webgpu")]);
    expect(a).toBe(b); // before: two devices, and shutdown() closed only one
    await expect(Promise.all([requestDevice("webgpu"), requestDevice("webgpu", { thread: "worker" })])).rejects.toThrow(
      'requestDevice(): the webgpu device is open with { thread: "main" }',
    );
    device = a;
  });
});
