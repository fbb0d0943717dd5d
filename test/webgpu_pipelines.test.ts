// The WebGPU executor's bind group cache (webgpu_pipelines.ts) against a fake device, so it runs
// without an adapter: what a group binds, when it is reused, layouts by binding count, and the
// collection every MAX_GROUPS groups created (a loop of fresh groups once ran lavapipe out of
// memory mappings: SIGSEGV after ~40 000 SGD steps, before V8 collected their wrappers), and the
// wait for an event loop turn it asks for when two collections come without one.
import { expect, test } from "vitest";
import { MAX_GROUPS, Pipelines } from "../src/backend/webgpu_pipelines.js";
import { NONE } from "../src/backend/webgpu_protocol.js";

(globalThis as { GPUShaderStage?: object }).GPUShaderStage ??= { COMPUTE: 4 };

type Made = { groups: GPUBindGroupDescriptor[]; layouts: GPUBindGroupLayoutDescriptor[] };
function setup(): { p: Pipelines; made: Made; collected: () => number; get: (id: number) => { buf: GPUBuffer; bytes: number }; add: (id: number, bytes: number) => GPUBuffer } {
  const made: Made = { groups: [], layouts: [] };
  const device = {
    createBindGroupLayout: (d: GPUBindGroupLayoutDescriptor) => (made.layouts.push(d), { layout: d }),
    createPipelineLayout: () => ({}),
    createBindGroup: (d: GPUBindGroupDescriptor) => (made.groups.push(d), { group: made.groups.length }),
  } as unknown as GPUDevice;
  const arena = { size: 1 << 19 } as GPUBuffer, dummy = { size: 16 } as GPUBuffer;
  let collections = 0;
  const p = new Pipelines(device, {}, arena, dummy, () => collections++);
  const bufs = new Map<number, { buf: GPUBuffer; bytes: number }>();
  const get = (id: number) => {
    const b = bufs.get(id);
    if (!b) throw new Error(`no buffer ${id}`);
    return b;
  };
  const add = (id: number, bytes: number) => {
    const buf = { size: bytes } as GPUBuffer;
    return bufs.set(id, { buf, bytes }), buf;
  };
  return { p, made, collected: () => collections, get, add };
}

test("a bind group binds the meta slot, each buffer's logical size or range, the dummy for none", () => {
  const { p, made, get, add } = setup();
  const [a, b] = [add(1, 4000), add(2, 8)];
  p.group("map", "k", 1024, [1, NONE, 2], [null, null, [0, 4]], get);
  const d = made.groups[0] as GPUBindGroupDescriptor;
  expect(d.label).toBe("k");
  expect([...d.entries].map((e) => [e.binding, (e.resource as GPUBufferBinding).buffer, (e.resource as GPUBufferBinding).offset, (e.resource as GPUBufferBinding).size]))
    .toEqual([[0, expect.objectContaining({ size: 1 << 19 }), 1024, 512], [1, a, 0, 4000], [2, expect.objectContaining({ size: 16 }), undefined, undefined], [3, b, 0, 4]]);
  // The layout has the meta's binding and the three the kernel binds, not all seven of "map".
  expect([...(made.layouts[0] as GPUBindGroupLayoutDescriptor).entries].map((e) => e.buffer?.type))
    .toEqual(["uniform", "storage", "read-only-storage", "read-only-storage"]);
});

test("the same kernel, slot and buffers reuse their group; anything else makes a new one", () => {
  const { p, made, get, add } = setup();
  add(1, 4000), add(2, 4000), add(3, 4000);
  const g = p.group("vmap", "k", 0, [1, 2], undefined, get);
  expect(p.group("vmap", "k", 0, [1, 2], undefined, get)).toBe(g);
  expect(made.groups).toHaveLength(1);
  const others = [
    p.group("vmap", "k", 512, [1, 2], undefined, get), // another slot
    p.group("vmap", "k", 0, [1, 3], undefined, get), // another buffer
    p.group("vmap", "k2", 0, [1, 2], undefined, get), // another kernel
    p.group("map", "k", 0, [1, 2], undefined, get), // another kind
    p.group("vmap", "k", 0, [1, 2], [null, [0, 16]], get), // another range
  ];
  expect(new Set([g, ...others]).size).toBe(6);
  expect(made.groups).toHaveLength(6);
});

test(`every ${MAX_GROUPS} groups created, the cache is dropped and the heap collected`, () => {
  const { p, made, collected, get, add } = setup();
  add(0, 64);
  const first = p.group("reduce", "r", 0, [0, 0], undefined, get);
  const fresh = (i: number) => (add(i, 64), p.group("reduce", "r", 0, [i, 0], undefined, get));
  for (let i = 1; i < MAX_GROUPS - 1; i++) fresh(i);
  expect(p.group("reduce", "r", 0, [0, 0], undefined, get)).toBe(first); // still cached
  fresh(MAX_GROUPS - 1);
  expect(collected()).toBe(0);
  expect(made.groups).toHaveLength(MAX_GROUPS);
  // The next call finds MAX_GROUPS made: the cache goes, so `first` is made again.
  expect(p.group("reduce", "r", 0, [0, 0], undefined, get)).not.toBe(first);
  expect(collected()).toBe(1);
  for (let i = 0; i < MAX_GROUPS; i++) fresh(MAX_GROUPS + i);
  expect(collected()).toBe(2);
});

test("a second collection before the event loop turns asks the executor to wait for a turn (rest)", async () => {
  const { p, collected, get, add } = setup();
  let id = 0;
  const collection = () => {
    const had = collected();
    while (collected() === had) add(++id, 64), p.group("reduce", "r", 0, [id, id], undefined, get);
  };
  collection();
  expect(p.rest).toBe(false); // the first since a turn: dropped groups are freed at the next
  collection();
  expect(p.rest).toBe(true); // no turn between the two: the executor must wait for one
  p.rest = false; // as the executor does
  await new Promise((r) => setImmediate(r));
  collection();
  expect(p.rest).toBe(false);
  await new Promise((r) => setImmediate(r));
  collection();
  expect(p.rest).toBe(false);
});
