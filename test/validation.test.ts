// Bad input on every device: each public function names itself, the argument and the offending
// value or shape, in PyTorch 1.13's words (test/fixtures/errors.json) where PyTorch has them.
import { totalmem } from "node:os";
import { inspect } from "node:util";
import { describe, expect, test } from "vitest";
import {
  type Device, Tensor, arange, formatTensor, full, fullLike, isFusionEnabled, manualSeed, maximum, mul, ones, optim, pow, rand, randn, rsub, setDefaultDevice, setFusion, tensor, where,
  zeros, zerosLike,
} from "../src/index.js";
import { availableDevices, loadFixture } from "./setup.js";

const msg = loadFixture<Record<string, string>>("errors.json");
const devices = await availableDevices();
const bad = <T>(v: unknown): T => v as T; // a value of the wrong type, past the type checker

type Case = [name: string, fn: () => unknown, cls: ErrorConstructor, message: string];

/** The error's class is exactly `cls` (not a subclass) and its message is exactly `message`. */
function expectThrow(fn: () => unknown, cls: ErrorConstructor, message: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, "no error thrown").toBeInstanceOf(Error);
  expect((err as Error).message).toBe(message);
  expect((err as Error).constructor).toBe(cls);
}

describe.each(devices.map((d) => [d.type, d] as [string, Device]))("%s", (_, device) => {
  const T = (d: number | number[] | number[][], requiresGrad = false) => tensor(d, { device, requiresGrad });

  test("size() and dim() as PyTorch's: the shape (a copy), one dim's size, the number of dims", () => {
    const x = zeros([2, 3], { device }), s = tensor(1, { device });
    const shape = x.size();
    shape[0] = 9; // a copy
    expect([x.size(), x.size(0), x.size(-1), x.dim(), s.size(), s.dim()]).toEqual([[2, 3], 2, 3, 2, [], 0]);
    expect(() => x.size(2)).toThrow(msg.sizeDim);
    expect(() => x.size(-3)).toThrow(msg.sizeNeg);
    expect(() => s.size(0)).toThrow(msg.size0d);
  });

  test("arange takes its options after any number of its arguments (arange(3, opts) refused them)", () => {
    const r = [arange(3, { device }), arange(1, 3, { device }), arange(0, 1, 0.5, { device }), arange(0, 2, undefined, { device })];
    expect(r.map((t) => [t.device, t.tolist()])).toEqual([[device.type, [0, 1, 2]], [device.type, [1, 2]], [device.type, [0, 0.5]], [device.type, [0, 1]]]);
    // An options argument a wrapper forwards unset is no fourth number; undefined past arguments neither.
    expect([arange(0, 1, 0.5, undefined), arange(2, undefined, undefined, undefined), arange(0, 2, undefined, { device }, undefined)]
      .map((t) => t.tolist())).toEqual([[0, 0.5], [0, 1], [0, 1]]);
    expect(O(2).mul(2, ...bad<[]>([undefined])).tolist()).toEqual([2, 2]);
  });

  test("tensor() takes any typed array of numbers as float32 values, copied (a Float64Array was refused)", () => {
    const f = Float64Array.of(0.1, 2 ** 40 + 1, 1e39, -0), i = Int32Array.of(-3, 2 ** 31 - 1), u = Uint8ClampedArray.of(255);
    const ts = [tensor(f, { device }), tensor(i, { device, requiresGrad: true }), tensor(u, { device })];
    (f[0] = 5), (i[0] = 5);
    expect(ts.map((t) => [t.shape, t.dtype, [...t.dataSync()]])).toEqual([
      [[4], "float32", [Math.fround(0.1), 2 ** 40, Infinity, -0]], [[2], "float32", [-3, 2 ** 31]], [[1], "float32", [255]]]);
    expect(ts[1]?.requiresGrad).toBe(true);
    expectThrow(() => tensor(bad(BigInt64Array.of(1n)), { device }), TypeError,
      "tensor(): argument 'data' must be a number, an array or a typed array of numbers, but got BigInt64Array");
    const d = new Float64Array(2);
    structuredClone(d.buffer, { transfer: [d.buffer] });
    expectThrow(() => tensor(d, { device }), TypeError, "tensor(): argument 'data' must be a Float64Array with a buffer (not detached), but got Float64Array");
  });

  test("full() of a boolean gives a bool tensor, as PyTorch's (it was refused); an explicit float32 wins", () => {
    const b = full([2, 1], true, { device });
    expect([b.dtype, String(b), b.sum().item(), full([2], false, { device, dtype: "float32" }).tolist()])
      .toEqual(["bool", "tensor([[True],\n        [True]])", 2, [0, 0]]);
    expectThrow(() => full([2], true, { device, requiresGrad: true }), Error, "Only Tensors of floating point and complex dtype can require gradients");
    expect([fullLike(b, false).dtype, fullLike(b, false).tolist(), fullLike(T([2, 3]), true).tolist()]).toEqual(["bool", [[0], [0]], [1, 1]]); // as full_like's
  });

  test("a result past one buffer throws at the op on WebGPU (it threw at the read); a CPU reduction fuses it", () => {
    const max = device.type === "cpu" ? 2 ** 32 : bad<{ limits: GPUSupportedLimits }>(device.backend).limits.maxBufferSize;
    const one = T([1]), n = Math.floor(max / 4) + 1, bytes = BigInt(n) * 4n;
    if (device.type === "cpu") { // a typed array holds 2^30 floats; a kernel fused into a sum needs none
      expect(() => one.expand(n).add(one).dataSync()).toThrow(`DefaultCPUAllocator: can't allocate memory: you tried to allocate ${bytes} bytes`);
      // Past the machine's memory PyTorch cannot allocate it either: at the op (fused into a sum, 2^40 ran for minutes).
      expect(() => one.expand(2 ** 40).mul(2)).toThrow(/^DefaultCPUAllocator: can't allocate memory: you tried to allocate 4398046511104 bytes \(this machine has \d+ bytes of memory\)$/);
      if (isFusionEnabled() && n * 4 < totalmem()) { // past the machine's memory it throws at the op, as 2^40 above
        const w = T([1], true);
        w.expand(n).sum().backward(); // its gradient expanded, then summed back: fused too
        expect([one.expand(n).sum().item(), one.expand(n).mul(2).mean().item(), w.grad?.item()]).toEqual([Math.fround(n), 2, Math.fround(n)]);
      }
    } else {
      for (const f of [() => one.expand(n).mul(2), () => one.expand(n).mul(2).sum(), () => one.expand(n).sum(), () => one.expand(n).add(one)])
        expect(f).toThrow(`out of memory on webgpu: tried to allocate ${bytes} bytes;`);
    }
    const sizes = "Storage size calculation overflowed with sizes=[1099511627776, 1099511627776]"; // PyTorch's, from int64 bytes on
    expectThrow(() => zeros([2 ** 40, 2 ** 40], { device }), RangeError, sizes);
    expectThrow(() => one.expand(2 ** 40, 2 ** 40).neg(), RangeError, "numel: integer multiplication overflow"); // at expand, as PyTorch's
    expectThrow(() => zeros(2 ** 61, { device }), RangeError, "Storage size calculation overflowed with sizes=[2305843009213693952]");
    // A reduction over an empty dim is as big as the other dims: checked at the call (its read threw).
    const empty = zeros([0, 2 ** 40], { device }), big = 4398046511104n;
    for (const f of [() => empty.sum(0), () => empty.mean(0, true)])
      expect(f).toThrow(device.type === "cpu" ? `you tried to allocate ${big} bytes` : `out of memory on webgpu: tried to allocate ${big} bytes;`);
    // Always allocated (with a float64 sum on the CPU): past one buffer at the call, not at its read.
    expect(() => zeros([0, 2 ** 31], { device }).sum(0)).toThrow(device.type === "cpu"
      ? "you tried to allocate 8589934592 bytes (a JavaScript typed array holds at most 4 GiB)" : "out of memory on webgpu: tried to allocate 8589934592 bytes;");
    expectThrow(() => zeros([0, 2 ** 62], { device }).sum(0), RangeError, "Storage size calculation overflowed with sizes=[4611686018427387904]");
  });

  test("shape and creation methods refuse arguments they do not take (squeeze(0, 3) dropped the 3)", () => {
    const t = zeros([1, 2, 2, 1], { device }), x = bad<(...a: unknown[]) => unknown>;
    const cases: [() => unknown, string][] = [
      [() => x(t.squeeze.bind(t))(0, 3), "squeeze() takes 1 positional argument but 2 were given"],
      [() => x(t.unsqueeze.bind(t))(0, 1), "unsqueeze() takes 1 positional argument but 2 were given"],
      [() => x(t.expand.bind(t))([1, 2, 2, 1], 3), "expand() takes 1 positional argument but 2 were given"],
      [() => x(t.view.bind(t))([4], 1), "view() takes 1 positional argument but 2 were given"],
      [() => x(t.size.bind(t))(0, 1), "size() takes 1 positional argument but 2 were given"],
      [() => x(t.to.bind(t))("cpu", "x"), "to() takes 1 positional argument but 2 were given"],
      [() => x(t.sum().item.bind(t.sum()))(1), "item() takes no arguments (1 given)"],
      [() => x(t.clone.bind(t))(1), "clone() takes no arguments (1 given)"],
      [() => x(t.detach.bind(t))(1), "detach() takes no arguments (1 given)"],
      [() => x(t.copy_.bind(t))(t, false, 1), "copy_() takes 2 positional arguments but 3 were given"],
      [() => x(t.copy_.bind(t))(t, "yes"), "copy_(): argument 'nonBlocking' must be a boolean, but got 'yes'"],
      [() => x(zerosLike)(t, {}, 1), "zerosLike() takes 2 positional arguments but 3 were given"],
      [() => x(full)([2], 1, { device }, 3), "full() takes 3 positional arguments but 4 were given"],
      [() => x(manualSeed)(1, 2), "manualSeed() takes 1 positional argument but 2 were given"],
      ...(["float", "long", "bool", "retainGrad", "detach_", "tolist", "dataSync", "realize"] as const)
        .map((m): [() => unknown, string] => [() => x(t[m].bind(t))(1), `${m}() takes no arguments (1 given)`]), // these took any
      [() => x(t.requiresGrad_.bind(t))(true, 1), "requiresGrad_() takes 1 positional argument but 2 were given"],
      [() => x(P().sum().backward.bind(P().sum()))(null, {}, 3), "backward() takes 2 positional arguments but 3 were given"],
      [() => t.max(bad(undefined), true), "max(): keepdim=true needs a dim, as max(dim, keepdim)"], // keepdim was dropped
      [() => t.min(bad(undefined), true), "min(): keepdim=true needs a dim, as min(dim, keepdim)"],
    ];
    for (const [f, m] of cases) expectThrow(f, TypeError, m);
    expect([t.copy_(t.add(1), true).sum().item(), t.squeeze(0).shape, t.size(-1)]).toEqual([4, [2, 2, 1], 1]);
  });

  test("sizes as PyTorch's: within int64, overflow from the first dims on; arange's step sign with tiny bounds", () => {
    expectThrow(() => zeros([2 ** 64, 0], { device }), TypeError,
      "zeros(): argument 'size' must be an array of integers within int64, but got [18446744073709552000, 0]");
    expectThrow(() => zeros([1e200, 1e200, 0], { device }), TypeError, // its numel was NaN, then printing crashed
      "zeros(): argument 'size' must be an array of integers within int64, but got [1e+200, 1e+200, 0]");
    expectThrow(() => zeros([2 ** 53, 2 ** 53, 0], { device }), RangeError,
      "Storage size calculation overflowed with sizes=[9007199254740992, 9007199254740992, 0]");
    expect([zeros([0, 2 ** 53, 2 ** 53], { device }).numel, zeros([2 ** 62, 2, 0], { device }).shape]).toEqual([0, [2 ** 62, 2, 0]]);
    expect(zeros([2 ** 32 - 1, 2 ** 32 + 1, 0], { device }).numel).toBe(0); // 2^64 - 1: no uint64 overflow (a double rounds it up)
    const one = ones([1, 1, 1], { device }), numel = "numel: integer multiplication overflow"; // at expand (it passed, then later ops threw)
    for (const s of [[2 ** 40, 2 ** 40, 0], [1, 2 ** 32, 2 ** 31]]) expectThrow(() => one.expand(s), RangeError, numel);
    expect([one.expand(0, 2 ** 40, 2 ** 40).shape, one.expand(1, 2 ** 31, 2 ** 31).numel]).toEqual([[0, 2 ** 40, 2 ** 40], 2 ** 62]);
    expect(() => zeros([2 ** 31, 0], { device }).tolist()).toThrow( // it aborted Node (heap out of memory) after 45 s
      /^tolist\(\): 2147483649 arrays of 0 numbers need about 103079215152 bytes; the JavaScript heap holds at most \d+ /);
    const e60 = "1152921504606846976", three = zeros([3], { device }); // 2^60 exactly, as Python prints it (String() gave ...847000)
    expectThrow(() => three.expand(2 ** 60), Error, `The expanded size of the tensor (${e60}) must match the existing size (3) at non-singleton dimension 0.  Target sizes: [${e60}].  Tensor sizes: [3]`);
    expectThrow(() => three.view(2 ** 60), Error, `shape '[${e60}]' is invalid for input of size 3`);
    expectThrow(() => zeros([-(2 ** 60)], { device }), RangeError, `Trying to create tensor with negative dimension -${e60}: [-${e60}]`);
    expect(String(zeros([2 ** 60, 0], { device }))).toBe(`tensor([], size=(${e60}, 0))`);
    if (device.type === "webgpu") expect(() => zeros([2 ** 53], { device })).toThrow("tried to allocate 36028797018963968 bytes");
    expectThrow(() => three.add(ones([1], { device }).expand(2 ** 60 + 2 ** 9)), Error,
      "The size of tensor a (3) must match the size of tensor b (1152921504606847488) at non-singleton dimension 0");
    expectThrow(() => zeros([], { device }).size(2 ** 60), RangeError, `Dimension specified as ${e60} but tensor has no dimensions`);
    expectThrow(() => zeros([], { device }).size(2 ** 63), RangeError, "Overflow when unpacking long");
    for (const f of [() => three.sum(1e21), () => three.max(2 ** 63)]) expectThrow(f, RangeError, "Overflow when unpacking long"); // PyTorch's, not "out of range"
    expectThrow(() => three.max(-(2 ** 63)), RangeError, "Dimension out of range (expected to be in range of [-1, 0], but got -9223372036854775808)");
    const far = arange(0, 3e39, 3e37, { device }); // past float32's range: inf as PyTorch's (80 of 100 were NaN)
    expect([far.isnan().sum().item(), far.tolist().slice(10, 18)]).toEqual([0, [3.0000000054977558e+38, 3.300000168306808e+38, ...Array(6).fill(Infinity)]]);
    for (const [a, b, s] of [[-1e308, 1e308, 1e308], [0, 1e308, 1e-300], [0, 1e19, 1]]) // its count past int64 (Infinity leaked a BigInt error)
      expectThrow(() => arange(a as number, b as number, s as number, { device }), RangeError, "invalid size, possible overflow?");
    // An in-place op's shape error comes before its broadcast result's size (it said out of memory).
    expectThrow(() => zeros([2 ** 16, 1], { device }).add_(zeros([1, 2 ** 15], { device })), Error,
      "output with shape [65536, 1] doesn't match the broadcast shape [65536, 32768]");
    expectThrow(() => arange(1e-200, 0, 1e-200, { device }), RangeError, "upper bound and larger bound inconsistent with step sign");
    expectThrow(() => arange(1e-300, -1e-300, 1e-30, { device }), RangeError, "upper bound and larger bound inconsistent with step sign");
    expect(arange(0, 3e-300, 1e-300, { device }).numel).toBe(3);
    // A wrapper forwarding unset options: zeros(shape, undefined) threw "must be a shape".
    expect([zeros([2], undefined).shape, ones([2, 1], undefined, undefined).shape]).toEqual([[2], [2, 1]]);
  });

  test("the requiresGrad setter as PyTorch's: non-leaf refused either way, its own wording for integers", () => {
    const y = T([1, 2], true).mul(2), i = T([1, 2]).long();
    expectThrow(() => { y.requiresGrad = true; }, Error, "you can only change requires_grad flags of leaf variables.");
    expectThrow(() => { y.requiresGrad = false; }, Error, "you can only change requires_grad flags of leaf variables. If you want to use a computed variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach().");
    expectThrow(() => { i.requiresGrad = true; }, Error, "only Tensors of floating point and complex dtype can require gradients");
    expectThrow(() => i.requiresGrad_(true), Error, "only Tensors of floating point dtype can require gradients");
    i.requiresGrad = false;
    expect([y.requiresGrad_(true) === y, y.requiresGrad, i.requiresGrad]).toEqual([true, true, false]);
  });

  test("console.log of a disposed tensor prints, not throws (logging an object holding one threw)", () => {
    const t = T([1, 2]);
    t.dispose();
    expect(inspect({ t })).toBe("{ t: tensor(<tensor has been disposed>) }");
    expect(() => String(t)).toThrow("tensor has been disposed");
  });

  test("JSON.stringify of a tensor gives its values (it gave its internals, the WebGPU queue included)", () => {
    expect(JSON.stringify({ w: T([[1, 2.5]]), s: T([1]).sum(), b: T([1, 0]).gt(0) })).toBe('{"w":[[1,2.5]],"s":1,"b":[1,0]}');
  });

  test("a device prints as PyTorch's, not its backend's internals", () => {
    const text = `device(type='${device.type}')`; // repr; str() is the type
    expect([String(device), inspect(device), inspect({ device })]).toEqual([device.type, text, `{ device: ${text} }`]);
    expect(Object.keys(device)).toEqual(["type", "backend"]);
  });

  const O = (...s: number[]): Tensor => ones(s, { device });
  const P = (): Tensor => T([1], true);

  const creation: Case[] = [
    ["tensor ragged", () => tensor([[1, 2], [3]], { device }), RangeError, msg.ragged!],
    ["tensor ragged deep", () => tensor([[[1], [2]], [[1], [2, 3]]], { device }), RangeError, msg.raggedDeep!],
    ["tensor of a detached Float32Array", () => { const a = new Float32Array(4); structuredClone(a.buffer, { transfer: [a.buffer] }); return tensor(a, { device }); },
      TypeError, "tensor(): argument 'data' must be a Float32Array with a buffer (not detached), but got Float32Array"],
    ["new Tensor()", () => new (Tensor as unknown as new () => Tensor)(), TypeError,
      "new Tensor() is internal: create tensors with tensor(), zeros(), ones(), ..."],
    ["tensor of a BigInt", () => tensor([bad<number>(1n)], { device }), TypeError, "tensor(): could not convert 1n to a number (at dim 1)"],
    ["zeros of an Int32Array", () => zeros(bad<number[]>(new Int32Array([2, 3]))), TypeError,
      "zeros(): argument 'size' must be an array of integers, but got [Int32Array]"],
    ["tensor of an array containing itself", () => { const a: unknown[] = [1]; a[0] = a; return tensor(a as number[], { device }); },
      RangeError, "tensor(): too many dimensions 'Array' (at most 128; an array containing itself?)"],
    ["tensor of an array containing itself past its first element", () => { const a: unknown[] = [1]; a.push(a); return tensor(a as number[], { device }); },
      TypeError, "tensor(): could not convert [1, [...]] to a number (at dim 1)"], // describing it overflowed the stack
    ["tensor number where a sequence is needed", () => tensor(bad([[1, 2], 3]), { device }), TypeError,
      "tensor(): expected a sequence at dim 1, but got 3"],
    ["tensor sequence where a number is needed", () => tensor(bad([1, [2]]), { device }), TypeError,
      "tensor(): could not convert [2] to a number (at dim 1)"],
    ["tensor string element", () => tensor(bad(["a"]), { device }), TypeError,
      "tensor(): could not convert 'a' to a number (at dim 1)"],
    ["tensor data", () => tensor(bad({}), { device }), TypeError,
      "tensor(): argument 'data' must be a number, an array or a typed array of numbers, but got Object"],
    ["zeros of a Set", () => zeros(bad(new Set([2]))), TypeError, "zeros(): argument 'size' must be an array of integers, but got Set"],
    ["ones of an array-like", () => ones(bad({ length: 1, 0: 2 })), TypeError, "ones(): argument 'size' must be an array of integers, but got Object"],
    ["zeros negative", () => zeros([2, -1], { device }), RangeError, msg.negativeDim!],
    ["randn negative", () => randn(-3, { device }), RangeError, msg.negativeDim1!],
    ["ones negative", () => ones(2, -2, { device }), RangeError, "Trying to create tensor with negative dimension -2: [2, -2]"],
    ["full negative", () => full([-1], 2, { device }), RangeError, "Trying to create tensor with negative dimension -1: [-1]"],
    ["rand negative", () => rand([3, -1], { device }), RangeError, "Trying to create tensor with negative dimension -1: [3, -1]"],
    ["zeros fractional", () => zeros(2, 1.5, { device }), TypeError,
      "zeros(): argument 'size' must be an array of integers, but got [2, 1.5]"],
    ["ones infinite", () => ones([Infinity], { device }), TypeError,
      "ones(): argument 'size' must be an array of integers, but got [Infinity]"],
    ["rand NaN", () => rand(NaN, { device }), TypeError, "rand(): argument 'size' must be an array of integers, but got [NaN]"],
    ["randn string", () => randn(bad("3"), { device }), TypeError,
      "randn(): argument 'size' must be an array of integers, but got ['3']"],
    ["full fill_value", () => full([2], bad("1"), { device }), TypeError,
      "full(): argument 'fill_value' must be a number or a boolean, but got '1'"],
    ["full number size", () => full(bad(2), 2, bad(3)), TypeError, "full(): argument 'size' must be an array of integers, but got 2"],
    ["fullLike fill_value", () => fullLike(O(2), bad(null)), TypeError,
      "fullLike(): argument 'fill_value' must be a number or a boolean, but got null"],
    ["zerosLike input", () => zerosLike(bad([1, 2])), TypeError, "zerosLike(): argument 'input' must be a Tensor, but got [1, 2]"],
    ["arange four numbers", () => arange(0, 5, 1, bad(7)), TypeError,
      "arange() takes at most start, end, step and then its options, but got 4 arguments"],
    ["arange after its options", () => arange(0, 5, { device }, ...bad<[]>([2])), TypeError,
      "arange() takes at most start, end, step and then its options, but got 4 arguments"],
    ["arange dtype before its size", () => arange(0, 3e9, 1, { device, dtype: bad("int64") }), TypeError,
      "arange(): unsupported dtype 'int64'; only 'float32' is supported"],
    ["arange infinite end", () => arange(Infinity, undefined, 1, { device }), RangeError, msg.arangeRange!],
    ["arange NaN end", () => arange(0.5, NaN, 1, { device }), RangeError, msg.arangeRangeNan!],
    ["arange infinite start", () => arange(-Infinity, 0, 1, { device }), RangeError, msg.arangeRangeStart!],
    ["arange zero step", () => arange(0, 5, 0, { device }), RangeError, msg.arangeStep!],
    ["arange NaN step", () => arange(0, 5, NaN, { device }), RangeError, msg.arangeStep!],
    ["arange step sign", () => arange(-1, undefined, 1, { device }), RangeError, msg.arangeSign!],
    ["arange end type", () => arange(bad("5")), TypeError, "arange(): argument 'end' must be a number, but got '5'"],
    ["dtype zeros", () => zeros(2, { device, dtype: bad("float64") }), TypeError,
      "zeros(): unsupported dtype 'float64'; only 'float32' is supported"],
    ["dtype tensor", () => tensor([1], { device, dtype: bad("int32") }), TypeError,
      "tensor(): unsupported dtype 'int32'; only 'float32' is supported"],
    ["dtype arange", () => arange(3, undefined, 1, { device, dtype: bad("int64") }), TypeError,
      "arange(): unsupported dtype 'int64'; only 'float32' is supported"],
    ["requiresGrad type", () => ones(2, { device, requiresGrad: bad("yes") }), TypeError,
      "ones(): argument 'requiresGrad' must be a boolean, but got 'yes'"],
    ["unknown option", () => randn(2, bad({ device, requires_grad: true })), TypeError,
      "randn(): got an unexpected option 'requires_grad'"],
    ["device", () => zeros(2, { device: bad("cuda") }), TypeError,
      "zeros(): argument 'device' must be 'cpu', 'webgpu' or a Device, but got 'cuda'"],
    ["cpu allocation past 4 GiB", () => zeros(1e10, { device: "cpu" }), RangeError, "DefaultCPUAllocator: can't allocate " +
      "memory: you tried to allocate 40000000000 bytes (a JavaScript typed array holds at most 4 GiB)"],
    ["arange past 4 GiB", () => arange(0, 1e10, 1, { device: "cpu" }), RangeError, "DefaultCPUAllocator: can't allocate " +
      "memory: you tried to allocate 40000000000 bytes (a JavaScript typed array holds at most 4 GiB)"],
    ["no size", () => (zeros as (...a: unknown[]) => unknown)({ device }), TypeError,
      "zeros() received an invalid combination of arguments - got (), but expected a size: zeros([2, 3]) or zeros(2, 3)"],
    ["tensor as a size", () => zeros(2, bad(ones(1, { device }))), TypeError,
      "zeros(): argument 'size' must be an array of integers, but got [2, Tensor]"],
    ["device look-alike", () => zeros(2, { device: bad({ type: "cpu" }) }), TypeError,
      "zeros(): argument 'device' must be 'cpu', 'webgpu' or a Device, but got Object"],
  ];

  const shapes: Case[] = [
    ["reshape invalid dim", () => O(6).reshape(-2, -3), RangeError, msg.shapeDim!],
    ["view two inferred", () => O(6).view(-1, -1), RangeError, msg.inferTwice!],
    ["reshape ambiguous -1", () => zeros([0], { device }).reshape(0, -1), RangeError, msg.inferZero!],
    ["view size mismatch", () => O(6).view(0, -1), Error, msg.viewShapeZero!],
    ["view shape", () => O(6).view(4, -1), Error, msg.viewShape!],
    ["reshape fractional", () => O(6).reshape(2, 1.5), TypeError,
      "reshape(): argument 'shape' must be an array of integers, but got [2, 1.5]"],
    ["view NaN", () => O(6).view([NaN]), TypeError, "view(): argument 'shape' must be an array of integers, but got [NaN]"],
    ["reshape string", () => O(6).reshape(bad("6")), TypeError,
      "reshape(): argument 'shape' must be an array of integers, but got ['6']"],
    ["expand -1 leading", () => O(3).expand(-1, 3), RangeError, msg.expandLeading!],
    ["expand negative existing", () => O(3).expand(-2), Error, msg.expandNegative!],
    ["expand negative new", () => O(3).expand(-2, 3), RangeError, "Trying to create tensor with negative dimension -2: [-2, 3]"],
    ["expand fewer sizes", () => O(2, 3).expand(3), Error, msg.expandFewer!],
    ["expand mismatch", () => T([1, 2, 3]).expand(2, 4), Error, msg.expand!],
    ["expand fractional", () => O(3).expand(1.5, 3), TypeError,
      "expand(): argument 'size' must be an array of integers, but got [1.5, 3]"],
  ];

  const dims: Case[] = [
    ["sum dim", () => T([1, 2, 3]).sum(1), RangeError, msg.dimRange!],
    ["sum dim negative", () => T([[1, 2, 3]]).sum(-3), RangeError, msg.dimRange2!],
    ["sum dim in a list", () => O(3, 2).sum([0, 2]), RangeError, "Dimension out of range (expected to be in range of [-2, 1], but got 2)"],
    ["mean dim", () => O(3, 2).mean(2), RangeError, msg.dimRangeMean!],
    ["max dim", () => O(3).max(-2), RangeError, msg.dimRangeMax!],
    ["min dim", () => O(3).min(1), RangeError, msg.dimRange!],
    ["squeeze dim", () => O(3).squeeze(1), RangeError, msg.dimRangeSqueeze!],
    ["unsqueeze dim", () => O(3).unsqueeze(2), RangeError, msg.dimRangeUnsqueeze!],
    ["unsqueeze 0-d", () => T(1).unsqueeze(2), RangeError, msg.dimRange0d!],
    ["sum repeated dim", () => O(3, 3).sum([0, 0]), Error, msg.dimTwice!],
    ["sum fractional dim", () => O(3).sum(0.5), TypeError, "sum(): argument 'dim' must be an integer, but got 0.5"],
    ["sum dim type", () => O(3).sum(bad("0")), TypeError,
      "sum(): argument 'dim' must be an integer or an array of integers, but got '0'"],
    ["mean dim list element", () => O(3).mean([bad<number>("0")]), TypeError, "mean(): argument 'dim' must be an integer, but got '0'"],
    ["max dim type", () => O(3).max(bad<number>("0")), TypeError, "max(): argument 'dim' must be an integer, but got '0'"],
    ["squeeze dim type", () => O(3).squeeze(0.5), TypeError, "squeeze(): argument 'dim' must be an integer, but got 0.5"],
    ["unsqueeze missing dim", () => O(3).unsqueeze(bad(undefined)), TypeError,
      "unsqueeze(): argument 'dim' must be an integer, but got undefined"],
    ["sum keepdim", () => O(3).sum(0, bad("yes")), TypeError, "sum(): argument 'keepdim' must be a boolean, but got 'yes'"],
    ["mean keepdim", () => O(3).mean(null, bad(1)), TypeError, "mean(): argument 'keepdim' must be a boolean, but got 1"],
    ["max keepdim", () => O(3).max(0, bad("yes")), TypeError, "max(): argument 'keepdim' must be a boolean, but got 'yes'"],
    ["min keepdim", () => O(3).min(0, bad(null)), TypeError, "min(): argument 'keepdim' must be a boolean, but got null"],
    ["max keepdim, no dim", () => O(3).max(undefined, bad("yes")), TypeError, "max(): argument 'keepdim' must be a boolean, but got 'yes'"],
    ["add alpha", () => O(3).add(O(3), bad({ alpha: 2 })), TypeError, "add(): argument 'alpha' is not supported (got Object)"],
    ["sub_ alpha", () => O(3).clone().sub_(O(3), bad(2)), TypeError, "sub_(): argument 'alpha' is not supported (got 2)"],
    ["div rounding mode", () => O(3).div(O(3), bad({ roundingMode: "floor" })), TypeError,
      "div(): argument 'roundingMode' is not supported (got Object)"],
    ["functional mul third argument", () => mul(O(3), O(3), bad(3)), TypeError, "mul(): a third argument is not supported (got 3)"],
    ["max of empty", () => zeros([0], { device }).max(), Error, msg.emptyReduce!],
    ["min of empty dim", () => zeros([0, 3], { device }).min(0), RangeError, msg.emptyReduceDim!],
  ];

  const operands: Case[] = [
    ["maximum number", () => O(2).maximum(bad(2)), TypeError, "maximum(): argument 'other' must be a Tensor, but got 2"],
    ["minimum number", () => O(2).minimum(bad(2.5)), TypeError, "minimum(): argument 'other' must be a Tensor, but got 2.5"],
    ["maximum() number", () => maximum(O(2), 2), TypeError, "maximum(): argument 'other' must be a Tensor, but got 2"],
    ["maximum() input", () => maximum(2, O(2)), TypeError, "maximum(): argument 'input' must be a Tensor, but got 2"],
    ["add string", () => O(2).add(bad("2")), TypeError, "add(): argument 'other' must be a Tensor or a number, but got '2'"],
    ["mul undefined", () => O(2).mul(bad(undefined)), TypeError,
      "mul(): argument 'other' must be a Tensor or a number, but got undefined"],
    ["setDefaultDevice nothing", () => setDefaultDevice(bad(undefined)), TypeError,
      "setDefaultDevice(): argument 'device' must be 'cpu', 'webgpu' or a Device, but got undefined"],
    ["setDefaultDevice junk", () => setDefaultDevice(bad(7)), TypeError,
      "setDefaultDevice(): argument 'device' must be 'cpu', 'webgpu' or a Device, but got 7"],
    // formatTensor is exported: it checks what a caller passes (a raw TypeError, or a wrong repr, came out).
    ["formatTensor values", () => formatTensor(bad(null), []), TypeError, "formatTensor(): argument 'values' must be a Float32Array, but got null"],
    ["formatTensor shape", () => formatTensor(new Float32Array(2), [-1, -2]), TypeError,
      "formatTensor(): argument 'shape' must be an array of sizes (integers >= 0), but got [-1, -2]"],
    ["formatTensor fractional", () => formatTensor(new Float32Array(3), [1.5, 2]), TypeError,
      "formatTensor(): argument 'shape' must be an array of sizes (integers >= 0), but got [1.5, 2]"],
    ["formatTensor suffixes", () => formatTensor(new Float32Array(2), [2], bad("abc")), TypeError,
      "formatTensor(): argument 'suffixes' must be an array of strings, but got 'abc'"],
    ["formatTensor dtype", () => formatTensor(new Float32Array(2), [2], [], bad("int32")), TypeError,
      "formatTensor(): argument 'dtype' must be 'float32', 'int64' or 'bool', but got 'int32'"],
    // Arguments past a method's own are refused, never dropped (rsub(x, 2, 3) gave 2 - x, not 2 - 3x).
    ["rsub alpha", () => rsub(O(2), 2, bad(3)), TypeError, "rsub(): argument 'alpha' is not supported (got 3)"],
    ["rsub() alpha", () => O(2).rsub(2, bad(3)), TypeError, "rsub(): argument 'alpha' is not supported (got 3)"],
    ["pow() third", () => pow(O(2), 2, bad(3)), TypeError, "pow(): a third argument is not supported (got 3)"],
    ["mul two", () => O(2).mul(2, ...bad([3])), TypeError, "mul() takes 1 positional argument but 2 were given"],
    ["pow two", () => O(2).pow(2, ...bad([3])), TypeError, "pow() takes 1 positional argument but 2 were given"],
    ["exp one", () => O(2).exp(...bad([1])), TypeError, "exp() takes no arguments (1 given)"],
    ["isnan one", () => O(2).isnan(...bad([1])), TypeError, "isnan() takes no arguments (1 given)"],
    ["zero_ one", () => O(2).zero_(...bad([0])), TypeError, "zero_() takes no arguments (1 given)"],
    ["mul_ two", () => O(2).mul_(2, ...bad([3])), TypeError, "mul_() takes 1 positional argument but 2 were given"],
    ["sum three", () => O(2).sum(0, true, ...bad([2])), TypeError, "sum() takes 2 positional arguments but 3 were given"],
    ["max three", () => O(2).max(0, true, ...bad([2])), TypeError, "max() takes 2 positional arguments but 3 were given"],
    ["where four", () => where(O(2).gt(0), O(2), 0, ...bad([5])), TypeError, "where() takes 3 positional arguments but 4 were given"],
    ["tensor three", () => tensor([1], { device }, ...bad([5])), TypeError, "tensor() takes 2 positional arguments but 3 were given"],
    ["gt two", () => O(2).gt(1, ...bad([2])), TypeError, "gt() takes 1 positional argument but 2 were given"],
    ["clamp three", () => O(2).clamp(0, 1, ...bad([2])), TypeError, "clamp() takes 2 positional arguments but 3 were given"],
    ["fill_ two", () => O(2).fill_(1, ...bad([2])), TypeError, "fill_() takes 1 positional argument but 2 were given"],
    ["gt nothing", () => O(2).gt(bad(undefined)), TypeError, "gt(): argument 'other' must be a Tensor or a number, but got undefined"],
    ["add_ undefined", () => O(2).add_(bad(undefined)), TypeError,
      "add_(): argument 'other' must be a Tensor or a number, but got undefined"],
    ["div_ undefined", () => O(2).div_(bad(undefined)), TypeError,
      "div_(): argument 'other' must be a Tensor or a number, but got undefined"],
    ["where condition type", () => where(bad(1), O(2), 0), TypeError, "where(): argument 'condition' must be a Tensor, but got 1"],
    ["where condition dtype", () => where(O(2), O(2), O(2)), TypeError, msg.whereCond!],
    ["where input", () => where(O(2).gt(0), bad("a"), 0), TypeError,
      "where(): argument 'input' must be a Tensor or a number, but got 'a'"],
    ["where other", () => where(O(2).gt(0), O(2), bad(null)), TypeError,
      "where(): argument 'other' must be a Tensor or a number, but got null"],
    ["clamp none", () => O(2).clamp(), Error, msg.clampNone!],
    ["clamp min", () => O(2).clamp(bad("0")), TypeError, "clamp(): argument 'min' must be a number or null, but got '0'"],
    ["copy_ src", () => O(2).copy_(bad(2)), TypeError, "copy_(): argument 'src' must be a Tensor, but got 2"],
    ["copy_ shape", () => O(2).copy_(O(3)), Error, msg.copyShape!],
    ["copy_ broadcast", () => O(3).copy_(O(2, 3)), Error, msg.copyBroadcast!],
    ["add_ string", () => O(2).add_(bad("1")), TypeError, "add_(): argument 'other' must be a Tensor or a number, but got '1'"],
    ["div_ null", () => O(2).div_(bad(null)), TypeError, "div_(): argument 'other' must be a Tensor or a number, but got null"],
    ["fill_ value", () => O(2).fill_(bad("1")), TypeError, "fill_(): argument 'value' must be a number, but got '1'"],
    ["backward createGraph", () => T([1, 2], true).sum().backward(null, bad({ createGraph: true })), Error,
      "backward(): createGraph (higher-order gradients) is not supported"],
    ["backward option typo", () => T([1, 2], true).sum().backward(null, bad({ retain_graph: true })), TypeError,
      "backward(): got an unexpected option 'retain_graph'"],
    ["setFusion non-boolean", () => setFusion(bad("no")), TypeError, "setFusion(): argument 'on' must be a boolean, but got 'no'"],
    ["manualSeed string", () => manualSeed(bad("a")), TypeError, "manualSeed(): argument 'seed' must be an integer, not string"],
    ["fill_ no value", () => O(2).fill_(bad(undefined)), TypeError, "fill_(): argument 'value' must be a number, but got undefined"],
    ["fill_ null", () => O(2).fill_(bad(null)), TypeError, "fill_(): argument 'value' must be a number, but got null"],
    ["to device", () => O(2).to(bad("cuda")), TypeError,
      "to(): argument 'device' must be 'cpu', 'webgpu' or a Device, but got 'cuda'"],
  ];

  const backward: Case[] = [
    ["backward gradient shape", () => T([1, 2, 3], true).mul(2).backward(T([1, 1])), Error, msg.gradShape!],
    ["backward gradient type", () => T([1, 2, 3], true).mul(2).backward(bad(2)), TypeError,
      "backward(): argument 'gradient' must be a Tensor, but got 2"],
    ["backward implicit", () => T([1, 2, 3], true).mul(2).backward(), Error, msg.implicitGrad!],
    ["backward without grad", () => T([1, 2, 3]).sum().backward(), Error, msg.noGrad!],
  ];

  const sgd: Case[] = [
    ["lr", () => new optim.SGD([P()], { lr: -0.1 }), RangeError, msg.lr!],
    ["lr integer", () => new optim.SGD([P()], { lr: -1 }), RangeError, msg.lrInt!],
    ["momentum", () => new optim.SGD([P()], { lr: 0.1, momentum: -0.5 }), RangeError, msg.momentumFrac!],
    ["weight_decay", () => new optim.SGD([P()], { lr: 0.1, weightDecay: -0.5 }), RangeError, msg.weightDecay!],
    ["nesterov", () => new optim.SGD([P()], { lr: 0.1, nesterov: true }), Error, msg.nesterov!],
    ["empty", () => new optim.SGD([], { lr: 0.1 }), Error, msg.emptyParams!],
    ["non-leaf", () => new optim.SGD([P().mul(2)], { lr: 0.1 }), Error, msg.optimLeaf!],
    // PyTorch names Python's type (str); gradwise names JavaScript's (string).
    ["non-tensor param", () => new optim.SGD(bad(["a"]), { lr: 0.1 }), TypeError,
      msg.optimType!.replace(/str$/, "string")],
    ["number param", () => new optim.SGD(bad([P(), 2])), TypeError,
      "optimizer can only optimize Tensors, but one of the params is number"],
    ["tensor as params", () => new optim.SGD(bad(P()), { lr: 0.1 }), TypeError, msg.optimParams!],
    ["params null", () => new optim.SGD(bad(null)), TypeError,
      "params argument given to the optimizer should be an iterable of Tensors or dicts, but got null"],
    ["group then tensor", () => new optim.SGD([{ params: [P()] }, bad(P())], { lr: 0.1 }), TypeError, msg.groupType!],
    ["group of a Set", () => new optim.SGD([{ params: bad(new Set([P()])) }], { lr: 0.1 }), TypeError, msg.groupSet!],
    ["tensor in two groups", () => ((p) => new optim.SGD([{ params: [p] }, { params: p }], { lr: 0.1 }))(P()), Error,
      msg.groupOverlap!],
    ["group lr type", () => new optim.SGD([{ params: [P()], lr: bad("0.1") }]), TypeError,
      "addParamGroup(): argument 'lr' must be a number, but got '0.1'"],
    ["group option in PyTorch's spelling", () => new optim.SGD([{ params: [P()], weight_decay: 1 }]), TypeError,
      "addParamGroup(): got an unexpected option 'weight_decay'"],
    ["rsub of a bool", () => rsub(bad(true), P()), TypeError,
      "rsub() received an invalid combination of arguments - got (bool, Tensor), but expected one of:\n * (Tensor input, Tensor other, *, Number alpha)\n * (Tensor input, Number other, Number alpha)\n"],
    ["a list in the list", () => new optim.SGD(bad([[P()]])), TypeError, "optimizer can only optimize Tensors, but one of the params is Array"],
    ["lr as Python prints it", () => new optim.SGD([P()], { lr: -1e-5 }), RangeError, msg.lrSmall!],
    ["momentum as Python prints it", () => new optim.SGD([P()], { momentum: -1e-7 }), RangeError, msg.momentumSmall!],
    ["weight_decay as Python prints it", () => new optim.SGD([P()], { weightDecay: -1e20 }), RangeError, msg.weightDecayBig!],
    ["lr type", () => new optim.SGD([P()], { lr: bad("0.1") }), TypeError, "SGD(): argument 'lr' must be a number, but got '0.1'"],
    ["momentum NaN", () => new optim.SGD([P()], { momentum: NaN }), TypeError,
      "SGD(): argument 'momentum' must be a number, but got NaN"],
    ["nesterov type", () => new optim.SGD([P()], { momentum: 0.9, nesterov: bad(1) }), TypeError,
      "SGD(): argument 'nesterov' must be a boolean, but got 1"],
    ["maximize type", () => new optim.SGD([P()], { maximize: bad("no") }), TypeError,
      "SGD(): argument 'maximize' must be a boolean, but got 'no'"],
    ["options type", () => new optim.SGD([P()], bad(0.1)), TypeError, "SGD(): argument 'options' must be an object, but got 0.1"],
    ["unknown option", () => new optim.SGD([P()], bad({ lr: 0.1, weight_decay: 0.1 })), TypeError,
      "SGD(): got an unexpected option 'weight_decay'"],
    ["zeroGrad setToNone", () => new optim.SGD([P()]).zeroGrad({ setToNone: bad("no") }), TypeError,
      "zeroGrad(): argument 'setToNone' must be a boolean, but got 'no'"],
  ];

  describe.each([
    ["creation", creation], ["shapes", shapes], ["dims", dims], ["operands", operands],
    ["backward", backward], ["SGD", sgd],
  ] as [string, Case[]][])("%s", (_g, cases) => {
    test.each(cases.map((c) => [c[0], c] as const))("%s", (_n, [, fn, cls, message]) => {
      expect(message, "fixture text").toBeTruthy();
      expectThrow(fn, cls, message);
    });
  });

  test("valid edge cases still pass", () => {
    expect(zeros([0, 3], { device }).shape).toEqual([0, 3]);
    expect(O(6).view(-1, 3).shape).toEqual([2, 3]);
    expect(zeros([0, 3], { device }).reshape(0, 3, 1).shape).toEqual([0, 3, 1]);
    expect(O(2, 1).expand(-1, 3).shape).toEqual([2, 3]);
    expect(arange(5, 0, -1, { device }).tolist()).toEqual([5, 4, 3, 2, 1]);
    expect(O(2).maximum(T([0, 3])).tolist()).toEqual([1, 3]);
    expect(new optim.SGD(new Set([P()]), { lr: 0.1 }).params).toHaveLength(1);
  });
});

if (devices.length > 1) {
  test("a backward gradient on another device", () => {
    const [a, b] = devices as [Device, Device];
    const y = tensor([1, 2], { device: a, requiresGrad: true }).mul(2);
    expectThrow(() => y.backward(tensor([1, 1], { device: b })), Error,
      `invalid gradient at index 0 - expected device ${a.type} but got ${b.type}`);
    // A 0-d seed is copied over, as PyTorch's engine does; an output needing no grad says so first.
    const x = tensor([1, 2], { device: a, requiresGrad: true });
    x.sum().backward(tensor(3, { device: b }));
    expect(x.grad?.tolist()).toEqual([3, 3]);
    expectThrow(() => tensor([1, 2], { device: a }).backward(tensor([1, 1], { device: b })), Error,
      "element 0 of tensors does not require grad and does not have a grad_fn");
    expectThrow(() => y.backward(null, { retainGraph: "y" as unknown as boolean }), TypeError,
      `backward(): argument 'retainGraph' must be a boolean, but got 'y'`);
    expectThrow(() => tensor([1]).requiresGrad_("y" as unknown as boolean), TypeError,
      `requiresGrad_(): argument 'requiresGrad' must be a boolean, but got 'y'`);
  });
}
