// Node (= grad_fn): a name, edges to the nodes of its inputs, saved tensors checked against their
// version at use, and a backward closure. AccumulateGrad is the node that writes a leaf's .grad.
import { errors } from "../errors.js";
import type { Tensor } from "../tensor.js";

/**
 * A tensor saved for backward: a handle of its own on the values, so disposing the tensor (or its
 * scope ending) leaves them to backward, which releases them. Unpacking checks it was neither
 * freed nor modified in place; the error names, as PyTorch's does, the saving node for its own
 * output, else the tensor's grad_fn at that moment.
 */
export class SavedTensor {
  private t: Tensor | null;
  private input: Tensor | null;
  private view: Tensor["_viewOf"];
  private readonly version: number;
  private readonly sourceVersion: number;
  private sourceStorage: Tensor["_storage"] | null;
  /** `output`: the saving node's name when t is its output; `version`: the one expected; `source`: the
   * 0-d CPU tensor t is a copy of on another device (PyTorch's CUDA ops save the CPU scalar itself). */
  constructor(t: Tensor, private readonly output: string | null, version = t._version, private source: Tensor | null = null) {
    this.input = output === null ? t : null;
    this.view = output === null ? t._viewOf : null;
    this.t = t.detach();
    this.t._kept = this.t._saved = true;
    this.version = version;
    this.sourceStorage = source?._storage ?? null; // a disposed source gets a new one: its writes went to this
    this.sourceVersion = this.sourceStorage?.version ?? 0;
  }
  unpack(): Tensor {
    const t = this.t, s = this.source, at = this.sourceStorage?.version;
    if (!t) throw errors.backwardTwice();
    if (s && at !== undefined && at !== this.sourceVersion)
      throw errors.versionMismatch(s.shape, s.dtype, s.gradFn?.name ?? null, at, this.sourceVersion);
    if (t._version === this.version) return t;
    const v = this.view; // a no-grad view's error, as its gradFn below would throw: kept, a disposed input has no version
    if (v?.noGrad && v.base.requiresGrad) throw errors.viewNoGrad(true);
    throw errors.versionMismatch(t.shape, t.dtype, this.output ?? this.input?.gradFn?.name ?? null, t._version, this.version);
  }
  release(): void {
    this.t?.dispose();
    this.t = this.input = this.source = this.view = this.sourceStorage = null;
  }
}

/** A number operand saved for backward (PyTorch saves it as a wrapped scalar): only freeable. */
export class SavedScalar {
  private freed = false;
  unpack(): null {
    if (this.freed) throw errors.backwardTwice();
    return null;
  }
  release(): void {
    this.freed = true;
  }
}

export type Saved = SavedTensor | SavedScalar;
/** The class name PyTorch prints: CopySlices for torch::autograd::CopySlices. */
export const shortName = (name: string): string => name.replace("torch::autograd::", "");
export type Edge = Node | null;
export type BackwardFn = (g: Tensor, saved: Tensor[]) => (Tensor | null)[];

let made = 0;
export class Node {
  /** PyTorch's sequence number: the engine runs the ready node made last first. */
  readonly seq: number = ++made;
  /** The shape of each input, to sum a broadcast gradient back to it. */
  readonly inputShapes: (readonly number[])[];
  /** @internal Set by retainGrad() on this node's output. */
  retained: WeakRef<Tensor> | null = null;
  /** @internal The scope() it was made in, while that runs, and how many nodes have an edge to it: scope.ts
   * frees its saved tensors when that scope ends and nothing left alive reaches it. */
  frame: unknown;
  /** @internal */ users = 0;
  constructor(
    readonly name: string,
    readonly next: readonly Edge[],
    inputShapes: (readonly number[])[],
    private saved: Saved[],
    private readonly fn: BackwardFn,
  ) {
    this.inputShapes = inputShapes;
    for (const n of next) if (n) n.users++;
  }
  /** @internal The inputs next_functions lists when not all of `next` (an op's number attributes left out). */
  shown: readonly Edge[] | null = null;
  /** PyTorch's next_functions: (node, output index) per input. */
  get nextFunctions(): [Edge, number][] {
    return (this.shown ?? this.next).map((n) => [n, 0]);
  }
  /** @internal */ apply(g: Tensor): (Tensor | null)[] {
    const ts: Tensor[] = [];
    for (const s of this.saved) {
      const t = s.unpack();
      if (t) ts.push(t);
    }
    return this.fn(g, ts);
  }
  /** @internal */ release(): void {
    for (const s of this.saved) s.release();
  }
  toString(): string {
    return `<${shortName(this.name)} object>`;
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/** The node that accumulates into a leaf's .grad. */
export class AccumulateGrad extends Node {
  override readonly seq = Infinity; // PyTorch's UINT64_MAX: run as soon as ready
  constructor(readonly variable: Tensor) {
    super("torch::autograd::AccumulateGrad", [], [], [], () => []);
  }
}
