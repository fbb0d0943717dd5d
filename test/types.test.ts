// The published types: declarations built as `npm run build` builds them (stripInternal drops the
// @internal fields), then a user's program written from the README compiled against them under
// --strict. The suite imports src/, so without this a public signature that needs an internal field
// (keep() did) passes every test and fails every TypeScript user.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";

const root = new URL("..", import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), "gradwise-types-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));
const tsc = (args: string[]) =>
  spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), ...args], { cwd: root, encoding: "utf8", timeout: 120_000 });

const USER = `
import { add, arange, keep, manualSeed, maximum, memory, mul, noGrad, type Operand, optim, pow, randn, requestDevice, rsub,
  scope, setDefaultDevice, tensor, type Tensor, type TensorOptions, type ValuesIndices, where, zeros } from "./dist/src/index.js";

setDefaultDevice(await requestDevice("cpu"));
manualSeed(0);
const x = randn(3, { requiresGrad: true });
const z = x.add(2).mul(x.add(2)).mul(2).mean();
z.backward();
const g: Tensor | null = x.grad;
const w = zeros([3], { requiresGrad: true });
const opt = new optim.SGD([w], { lr: 0.1, momentum: 0.9 });
opt.zeroGrad();
const kept: Tensor = await scope(async () => keep(w.sub(1)));
const [values, indices] = arange(6).reshape(2, 3).max(1);
const sel: Tensor = where(x.gt(0), x, 0).add(pow(2, x)).add(rsub(x, 1)).add(maximum(x, x));
const n: number = noGrad(() => tensor([1, 2]).sum().item());
const used: number = memory("cpu").inUseBytes;
console.log(g, kept, values, indices, sel, n, used, await x.data(), x.tolist());
// The README's forms and a wrapper forwarding its options; readonly data; refused at compile time.
const make = (s: readonly number[], o?: TensorOptions): Tensor => zeros(s, o);
const row = [1, 2] as const, grid: readonly (readonly number[])[] = [row, row];
const vi: ValuesIndices = tensor(grid).max(0);
console.log(make([2]), arange(1, 5, { requiresGrad: true }), tensor(row), vi.values, add(2, x));
// Operands typed as unions, the function forms stored as one type, sizes spread from an array.
const op: Operand = Math.random() > 2 ? 2 : x, fs: ((a: Operand, b: Operand) => Tensor)[] = [add, mul, pow];
console.log(add(op, x), fs.map((f) => f(x, op)), zeros(...x.shape), zeros(...x.size(), { requiresGrad: true }));
console.log(tensor(Float64Array.of(1, 2)), tensor(new Int32Array(2), { requiresGrad: true }), tensor(new Float32Array(1)));
// step(): a sync closure's loss or undefined, an async closure's promise, an untyped closure's any.
const s1: Tensor | undefined = opt.step(() => w.sum()), s2: Tensor = await opt.step(async () => w.sum()), s3: undefined = opt.step();
const untyped = JSON.parse("null") as () => any; // eslint-disable-line @typescript-eslint/no-explicit-any
console.log(s1, s2, s3, typeof untyped === "function" && opt.step(untyped).item());
// Refused at compile time (each line must fail, or tsc reports an unused directive): calls that
// always throw, and internals.
// @ts-expect-error: the constructor is private (create tensors with tensor(), zeros(), ...)
new (x.constructor as typeof Tensor)();
// @ts-expect-error: internal
console.log(x._buf);
// @ts-expect-error: internal
console.log(x._version);
// @ts-expect-error: internal
console.log(x.gradFn?.users);
// @ts-expect-error: internal
console.log(x.gradFn?.release());
// @ts-expect-error: internal
console.log((await requestDevice("cpu")).backend);
// A wrapper passing optional bounds through compiles (both absent throws at run time, as PyTorch's).
const clip = (t: Tensor, lo?: number, hi?: number | null): Tensor => t.clamp(lo, hi);
console.log(clip(x, 0), x.clamp(null, 1));
`;

test("a README program compiles under --strict against the built declarations", () => {
  const built = tsc(["-p", "tsconfig.json", "--emitDeclarationOnly", "--outDir", join(out, "dist")]);
  expect(built.stdout + built.stderr).toBe("");
  writeFileSync(join(out, "package.json"), '{ "type": "module" }');
  writeFileSync(join(out, "user.ts"), USER);
  const user = tsc(["--noEmit", "--strict", "--target", "ES2022", "--module", "NodeNext", "--moduleResolution", "NodeNext",
    "--types", "node,@webgpu/types", "--typeRoots", join(root, "node_modules/@types") + "," + join(root, "node_modules"),
    "--skipLibCheck", join(out, "user.ts")]);
  expect(user.stdout + user.stderr).toBe("");
}, 180_000);
