// Layout rules: the autograd engine, Tensor and ops/ import no backend implementation (only the
// Backend interface); files stay under 300 lines; prints the src/ line total against a budget.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { expect, test } from "vitest";

const root = new URL("..", import.meta.url).pathname;
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
const src = files(join(root, "src")).filter((f) => f.endsWith(".ts"));
const imports = (f: string): string[] =>
  [...readFileSync(f, "utf8").matchAll(/^\s*(?:import|export)[^'"]*from\s+["']([^"']+)["']/gm)].map((m) => m[1] as string);
const BACKEND_IMPL = /backend\/(?!backend\.js$)|^webgpu$/;

test.each(src.filter((f) => /src\/(autograd\/|ops\/|tensor\.ts)/.test(f)).map((f) => relative(root, f)))(
  "%s imports no backend implementation",
  (f) => {
    const bad = imports(join(root, f)).filter((i) => BACKEND_IMPL.test(i));
    expect(bad).toEqual([]);
  },
);

// 5000 lines until 2026-12-02: + the CPU's WebAssembly SIMD renderer (a third target for the IR,
// ~230 lines) and the WebGPU worker's bind group cache (~25); 5320 from then: the worker's linger
// (dawn.ts, ~20 lines: W2 at 1e3 on lavapipe 511 -> 444 µs); 5330 from then: reads fault their
// host array in while the GPU works (webgpu_pool.ts prefaulted, ~12 lines: W2 at 1.6e7 174 -> 136 ms);
// 5460 from then: requestDevice("webgpu", { thread: "main" }) (the executor split out of the worker
// to run on either thread, InThread, ~120 lines: W2 at 1e3 on lavapipe, see bench/results/*thread*);
// 5470 from then: interned IR nodes and a kernel cache per expression (~20 lines: CPU host overhead,
// W1/W2/W4 at 1e3 0.87-0.94x of before, two builds alternated in one process: bench/ab.ts,
// bench/results/lavapipe-2cpu-ab-intern-2026-12-02.md); 5510 from then: the WebGPU executor's bind
// groups by binding count and a hashed cache, its meta writes skipped when unchanged (~40 lines:
// W3/W4 at 1e3 on lavapipe 0.83-0.89x of before, bench/results/lavapipe-2cpu-ab-executor-2026-12-02.md);
// 5515 from then: a collection every 4 096 bind groups (~5 lines: long W3 runs died of SIGSEGV);
// 5530 from then: the executor waits for a turn of its event loop when two come without one
// (~12 lines: loops that never await died of SIGSEGV, test/soak.test.ts); 5565 from then: what
// reference counting frees in PyTorch is let go explicitly (saved recipes computed for backward's
// kernels alone, a .grad replaced unread, a scope's returned result computed; ~35 lines: SGD loops
// that never await kept a copy of each parameter per step, test/sync_memory.test.ts); 5580 from
// then: a GradwiseMemoryWarning when GPU memory doubles with no await (~15 lines, same test file);
// 5585 from then: saved handles marked, so that only saved recipes get backward's own buffers;
// 5695 from then: views and in-place ops as PyTorch's autograd has them (autograd/views.ts: CopySlices,
// AsStridedBackward0, the view errors; aliased operands saved before the write; ~110 lines: in-place
// ops through views and on tensors read by themselves gave silently wrong gradients, test/views.test.ts);
// 5700 from then: x ** number as PyTorch's pow_tensor_scalar (sqrt for 0.5: -0 and -inf differed);
// 5705 from then: its cube, 1/x and 1/(x*x) too, and fill_/zero_/copy_ recorded as in-place ops (views too);
// 5710 from then: mean() of bool/int64 refused as PyTorch's, reductions' overload names; 5715 from
// then: copy_'s shape rule one function (checkCopyShape) for both of its paths; 5717 from then: an
// empty bool/int64 tensor's repr names its dtype; 5730 from then: a 0-d CPU tensor joins an op of
// another device as PyTorch's CPU scalars join CUDA ops (it threw); 5768 from then: PyTorch's dtype
// rules for in-place writes into bool/int64 tensors (they stored floats the repr hid), its float
// overflow error for fill/clamp/where numbers, and its .grad assignment checks (~30 lines); 5842 from
// then: scope() frees the saved tensors of graphs it leaves unreachable (scope.ts freeGraph, ~55 lines:
// a forward-only scoped loop that never awaited grew by its graph each step on WebGPU), a memory limit
// under 64 MiB collects, and process exit waits for the worker to leave Dawn (it aborted, ~15 lines);
// 5852 from then: requestDevice() calls in flight together open one device (they opened two); 5853
// from then: rsub's broadcast error names its operands as PyTorch's; 5862 from then: zerosLike/onesLike/
// fullLike keep a bool or int64 dtype (scalarAs: the number cast and range-checked as PyTorch); 5864
// from then: arange with a fractional step rounds as PyTorch's vectorized CPU kernel (1 ulp off before);
// 5871 from then: a CPU tensor past 4 GiB says so in PyTorch's allocator words (Node's internals leaked);
// 5872 from then: creation with no size raises (it made a 0-d tensor), a tensor as a size is refused;
// 5879 from then: a read's staging buffer is not pooled past the WebGPU memory limit; 5891 from then:
// float()/long()/bool() casts, and sums of bool/int64 counted as int64, as PyTorch's; 5910 from then:
// results of ops on bool/int64 tensors take PyTorch's result type (resultType: int64 for i.add(1)); 5922
// from then: scope()'s graph freeing keeps a disposed base's graph for its live views and frees grad_fns
// a tensor dropped (a review found both), a memory limit collects once per crossing of its 3/4, and a
// device mix reports shapes first; 5924 from then: nodes a scope keeps pass to the enclosing one; 5933
// from then: integer pow as PyTorch's (rounded, negative exponents refused or truncated), a kept
// CopySlices keeps its op, copy_ into bool/int64 records no graph (a third review); 5934 from then:
// long() of NaN, inf and out-of-range values gives int64's minimum, as PyTorch on x86; 5932 from then:
// checkCast reuses resultType; 5938 from then: a device prints as PyTorch's (it dumped its worker); 5951
// from then: an async noGrad/enableGrad holds in its async context only (its caller lost its grad
// mode while it waited, and two ending out of order left grad mode off for good); 5959 from then:
// backward() refuses createGraph and unknown options (they were ignored), casts an int64/bool
// gradient, and max()/min()'s gradient is 0 off the extremes for any upstream value (NaN for inf);
// 5963 from then: copy_ refuses a partial overlap without a graph too, and names an int64 tensor in
// the version error as PyTorch's LongTensor; 5964 from then: a read rejected by shutdown() is handled
// until its caller awaits it (Node ended the process); 5971 from then: tensor() of booleans is a bool
// tensor, as PyTorch's (it was float32); 5979 from then: SGD step(closure) and zeroGrad(false) as
// PyTorch's (the closure was ignored, false set grads to null), zeroGrad refuses unknown options; 5987
// from then: setFusion, manualSeed and the GRADWISE_* size variables refuse what is not a number/boolean;
// 5994 from then: a WebGPU kernel reading a constant twice reads it opaquely (lavapipe folded c - c to 0);
// 6005 from then: a fused kernel's expression is bounded as a tree (relu chains doubled it per op);
// 6014 from then: next_functions leave out number attributes and where's condition, as PyTorch's; 6016
// from then: clamp ignores a lone NaN bound, as PyTorch's clamp_min/clamp_max; 6020 from then: arange
// takes its options after any number of arguments; 6023 from then: a second review of the day's fixes
// (tensor(bools, { dtype }) keeps float32, copy_ checks views before shapes, a device's str() is its type);
// 6023 from then: copy_ and the other in-place ops share one check of their target (checkInplace);
// 6020 from then: one gw_fresh for inputs and constants read twice; 6087 from then: SGD parameter
// groups, one momentum buffer per tensor (a duplicate got its own, unlike PyTorch), zeroGrad(false)
// detaches a grad with history, a non-leaf that retains grad is a parameter, Python's float text;
// 6100 from then: arange's start + step * i as a double FMA, as PyTorch's kernel (1 in 70 ranges differed);
// 6112 from then: max(dim)/min(dim) print as PyTorch's torch.return_types (a JS array's text before);
// 6182 from then: expand as PyTorch's: a view when no dim grows, else a copy that keeps PyTorch's
// strides (in-place writes raise its overlap error, view() its stride error, reshape() copies);
// 6191 from then: creation functions check a device's allocation limits before making host values;
// 6207 from then: backward closures are made outside the functions that record them (one made inside
// shared their scope, which held the op's operands: a kept loss kept its graph's activations);
// 6216 from then: an ended scope's list is emptied and takes no tensors from async work it left running;
// 6230 from then: a WebGPU reduction pass that throws (out of memory) frees its temporaries; 6233
// from then: a recipe marks the kernel that inlined it by id (the builder held that kernel's inputs);
// 6243 from then: a timed-out sync read tells the worker to end after its work (Dawn aborted at exit);
// 6263 from then: in-place writes to a grown expand run PyTorch's view checks first, and fills raise;
// 6267 from then: SGD checks a group's option types only, as PyTorch, and keeps its other keys; 6275
// from then: rsub refuses a number first, and CopySlices lists next functions as its op (fill_'s value not);
// 6286 from then: SGD refuses a group key in PyTorch's spelling (weight_decay was kept and ignored) and
// takes undefined as not set; a scope outliving its enclosing one hands its results to the nearest running one;
// 6295 from then: size() and dim() as PyTorch's; 6292 from then: the overlap check is part of
// checkInplace, and reshapeTo is written once (autograd/views.ts); 6314 from then: a grown expand is
// a view, as PyTorch's (it was a copy: writes to its input did not reach it), read through its strides,
// its fills writing through to its input; 6321 from then: int64 pow by squaring (WebGPU's float pow
// was off by one from 7 ** 7); 6326 from then: pow's gradient takes the exponent - 1 in double (x.pow(1.3):
// up to 42 ulp off), a lone NaN clamp bound gives no gradient (it gave 1), unused operands are not bound.
// 6328 from then: full() refuses a size that is not an array (full(2, 2, 3) was 2 x 3).
// 6333 from then: a kernel being composed holds the buffers it reads (computing another operand's
// recipe freed an inlined one's inputs: WebGPU "buffer was freed"); an empty expand writes nothing.
// 6337 from then: an in-place op takes its operands' edges before the write (a view of its target,
// renewed after it, described the old values: a wrong gradient). 6338 from then: copy_ of itself
// returns early after the checks, as PyTorch's (a grown expand raised the overlap error). 6341 from
// then: a view requires grad while its base does (made under noGrad, or before the base required grad),
// and ops on it record nodes with no edge to it, as PyTorch's (they recorded nothing: backward threw).
// 6344 from then: WGSL literals times an opaque 1 (lavapipe regrouped fused products around them: a
// gradient overflowed at another step than PyTorch's, inf where it gives NaN). 6350 from then: backward
// runs nodes in PyTorch's engine order (the ready node made last first), so multi-path gradients sum
// in its order (inf - inf was NaN where PyTorch's is -inf, and the other way round). 6357 from then:
// tensor() refuses more than 128 dims (an array containing itself aborted the process), max/min
// check keepdim without a dim, and add/sub/div refuse PyTorch's alpha and rounding mode (ignored).
// 6361 from then: tensor() of a detached Float32Array names its argument (a raw TypeError escaped).
// 6365 from then: WGSL literals from their bits through gw_lit (a compiler took 0 * x as 0: a zero
// gradient times inf was 0, not NaN), and pow(x, y) saves its result whichever input needs grad.
// 6367 from then: the refusal of PyTorch's alpha / rounding mode is written once (errors.refuseExtra),
// for the methods and the function forms alike. 6396 from then: a kernel's output may take a buffer
// freed since the open command encoder began (webgpu_pool.ts Freed): a loop that drops each result
// created a new buffer per step until the submit (64 MB results: ~0.5 ms a step on an H200). 6434
// from then: dawn.ts probes whether the device's division rounds once, so that gw_div corrects it
// only where it does not (NVIDIA); the correction everywhere doubled W1's time on lavapipe. 6451
// from then: the link posts a batch once its dispatches bind GRADWISE_WEBGPU_FLUSH_MB (a loop of big
// kernels was recorded whole before the GPU began: W2 on an H200 at 0.57 of the copy ceiling). 6454
// from then: to()/copy_() of a CPU tensor that requires grad onto a { thread: "main" } device throws
// at the op (backward threw halfway, after writing some gradients). 6476 from then: WebGPU maps and
// reductions past 8 merged dims (a map dispatches per block of its innermost 8, a reduction fixes
// leading dims slab by slab); they threw a RangeError, with fusion at a later read. 6496 from then:
// arguments a function does not take are refused (rsub(x, 2, 3) dropped alpha: 2 - x), as are junk
// WebGPU settings and formatTensor's bad input; a disposed tensor throws in *Like/float()/requiresGrad_.
// 6508 from then: scope() scans what fn returns level by level, each object once (a structure that
// refers back to itself took exponential time), and a disposed .grad reads as null. 6510 from then:
// arange counts trailing undefineds as unset (a forwarded options argument threw). 6512 from then:
// where() and tensor() refuse arguments past theirs too. 6511 from then: a reduction's runs computed
// once where they are checked (splitDims called runs() twice). 6519 from then: an op checks its
// result's size at the call (one past a buffer threw at the read, fused away on the CPU it ran for
// hours); a read past 1 MiB goes in pieces in flight. 6535 from then: squeeze/unsqueeze/expand/view/
// size/to/item/clone/detach/copy_/*Like/full/manualSeed refuse arguments past theirs (squeeze(0, 3)
// dropped the 3), sizes stay within int64 (a NaN numel crashed printing), the requiresGrad setter
// refuses a non-leaf either way, and the types take readonly data and name every public type. 6536
// from then: an in-place op or copy_ that throws lets go of its result or upload (they leaked). 6537
// from then: the read split is GRADWISE_WEBGPU_READ_SPLIT_MB, 64 by default (1 cost 10% on lavapipe).
// 6539 from then: checkSize says why a CPU result past a typed array is not refused at the op. 6541
// from then: sizes multiply exactly (BigInt) past the common case, and arange's count is checked
// against int64 (Infinity leaked a BigInt error). 6543 from then: a CPU result past the machine's
// memory throws at the op (fused into a sum, 2^40 elements ran for minutes). 6546 from then:
// tensor() takes every typed array of numbers (NumberArray; a Float64Array was refused). 6549 from
// then: full(size, true) makes a bool tensor (it was refused), as PyTorch's. 6555 from then: SGD
// step() awaits an async closure before its update (it updated first, with no gradients: a no-op).
// 6558 from then: setDefaultDevice() refuses a shut-down device; SGD a disposed parameter. 6565
// from then: expand() refuses a numel past int64 with PyTorch's text (sizeOverflows, from checkSize).
// 6567 from then: zeros(a Set) names its size argument (it said "got ()"). 6577 from then: tolist()
// checks its arrays fit in the JS heap (2^31 empty rows aborted Node). 6579 from then: sizes past
// 2^53 print exactly in messages and reprs (errors.int; String(2 ** 60) ends in 000). 6582 from
// then: a function call (exp, sin, pow) weighs 16 in a kernel's tree bound (6 of sin().square(),
// one kernel, took 102 s to compile on lavapipe). 6589 from then: WebGPU keeps 256 pipelines, least
// recently used dropped, and every map expression to compile a dropped one again (600 kernels: 2.4 GB).
// 6592 from then: the new dim and numel overflow messages live in errors.ts, once each. 6593 from
// then: SGD step() refuses a disposed parameter before updating any (it threw halfway through).
// 6658 from then: WebGPU work in flight is bounded (the main thread waits 32 batches ahead of the
// worker, the worker on a fence every 8 unread batches: webgpu_fences.ts; an unread loop grew without
// bound), an exit waits for the worker's pending Dawn promises (process.exit during a read aborted),
// its collections weigh buffers and re-arm near a cap, and the fusion caches are bounded. 6662 from
// then: an exit or shutdown() waits for fences over queued GPU work (5 s, then Dawn aborted). 6670
// from then: WebGPU kernels compute shared subexpressions once, as lets (8 relus compiled in 74 s on
// lavapipe as a tree; ACT at 1e5 there, bench/ab.ts). 6674 from then: an in-place op nothing else
// reads writes into the tensor's own buffer (one over half a WebGPU memory cap failed), and a 0-d CPU
// tensor a webgpu op saved is version-checked (writes to it went unseen by backward). 6677 from then:
// a saved no-grad view keeps its view record (disposing it changed backward's error). 6679 from
// then: the saved copy of a 0-d CPU operand checks its storage's version (disposing it faked a write);
// 6673 from then: the in-place write goes through realize(), not a copy of its backend call. 6687
// from then: a saved value making a heavy call is computed once where calls cost more than memory
// (Backend.computeOnce; ACT on the CPU 0.24-0.29x of before: 19 calls per element, now 6), operands
// marked before the op's kernel inlines them (not WebGPU's: held until the event loop turned). 6763 from then: SIMD rows for exp, expm1 and tanh
// (ops/wasm_math.ts, float64 polynomials rounded once, ~75 lines: tanh 19 -> 6 ns per element, ab.ts
// ACT on the CPU 0.33-0.59x). 6787 from then: a SIMD row for log (~20 lines: 11 -> 5 ns per element);
// 6797 from then: and for log1p (~10 lines: ~21 -> ~7 ns per element). 6798 from then: a reduced heavy
// value another kernel reads is computed once on the CPU (softmax under noGrad: exp twice per element before).
// 6840 from then: selects on numbers alone decided at the op (expr.ts decide, ~40 lines: x ** 3's select chain
// ended in pow, which has no SIMD row, so GELU's fused kernels ran as JS: 3.9x slower fused on the CPU).
// 6868 from then: SIMD rows for sin and cos (~28 lines: 18 -> 12 ns per element; all 2^32 inputs as Math's).
// 6894 from then: a CPU SIMD kernel's heavy calls in stages, a loop each (~26 lines: chained in one loop they ran at
// their latency, so 2-4 tanh/sigmoid links under noGrad ran 1.06-1.20x slower fused than unfused; now 0.77-0.82x).
// 6912 from then: only calls another call reads, and sin/cos, in stages (~18 lines: two exps summed as stages 1.15x slower).
// 6956 from then: pow as a SIMD row (~44 lines: exp(y log |x|) in float64, Math.pow for lanes near a float32 rounding
// tie; every kernel with a pow ran as JS, x.pow(y) forward and backward 4x slower).
// 6968 from then: columns (an element repeated along the last dims, x - x.mean(1, true)) read as SIMD (~12 lines: such
// kernels ran as JS, x - x.mean(1, true) 3.7x and a softmax by its definition 2x slower).
// 6970 from then: rows of 256+ summed by the SIMD full sum, one JS loop per reduction op (~3 lines: x.sum(1) 2.1x and
// x.sum(0) 1.3x faster at [1000, 1000]).
// 7028 from then: sums over dims before the last as SIMD (~57 lines: a fixed wasm loop adding rows into float64
// columns, and its driver; x.sum(0) and x.mean(0) at 1e6 elements 9x faster, the JS loop's bits).
// 7030 from then: max/min along a dim read rows in memory order (~2 lines: 1.2-1.6x faster).
// 7041 from then: a lazy operand inlined twice with the same expression, inputs and constants is one expression (~11
// lines: since constants took a slot per use, W1's gradient g * y + g * y computed both halves).
const BUDGET = 7223;
test("no source file over 300 lines; the src/ total stays within budget", () => {
  const lines = src.map((f) => [relative(root, f), readFileSync(f, "utf8").split("\n").length] as const);
  const total = lines.reduce((a, [, n]) => a + n, 0);
  console.log(`src/: ${total} lines in ${src.length} files (budget ${BUDGET})`);
  expect(lines.filter(([, n]) => n > 300)).toEqual([]);
  expect(total).toBeLessThanOrEqual(BUDGET);
});

test("WGSL lives only in shaders/", () => {
  const wgslish = src.filter((f) => /@compute|@group\(|var<storage/.test(readFileSync(f, "utf8")));
  expect(wgslish.map((f) => relative(root, f))).toEqual([]);
});
