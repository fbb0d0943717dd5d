// scope(fn): every tensor created while fn runs (across awaits: the scope follows fn's async
// context, not the call stack) is disposed when fn ends, except what fn returns and what keep()
// marks. Also counts live tensors per device when asked to (trackTensors).
import { AsyncLocalStorage } from "node:async_hooks";
import type { Tensor } from "./tensor.js";

/** What a scope needs of a tensor (tensor.ts implements it; no import, so no cycle). */
export interface Scoped {
  readonly device: string;
  /** Set by keep(), by becoming another tensor's .grad, or by being saved for backward. */
  _kept: boolean;
  readonly isDisposed: boolean;
  /** Disposed, but views of it live: a view's grad_fn is made from its base's (viewGradFn). */
  readonly _viewsLive: boolean;
  dispose(): void;
  realize(): unknown;
  /** Its own grad_fn, and a view's base (whose grad_fn its own is made from after an in-place op). */
  readonly _gradFn: GraphNode | null;
  readonly _viewOf: { readonly base: { readonly _gradFn: GraphNode | null } } | null;
}
/** What a scope needs of a graph node (autograd/node.ts's Node). */
export interface GraphNode {
  /** The scope it was made in, while that scope runs. */
  frame: unknown;
  /** How many nodes have an edge to it. */
  users: number;
  readonly next: readonly (GraphNode | null)[];
  /** A node it holds outside `next` (CopySlices' in-place op). */
  readonly inner?: GraphNode;
  release(): void;
}

/** A scope's list of the tensors made in it; `ended` once the scope has ended; `outer`: the
 * enclosing scope's. */
type Frame = Scoped[] & { ended?: true; outer?: Frame };
const frames = new AsyncLocalStorage<Frame>();
let syncFrame: Frame | undefined; // scopeSync's list: AsyncLocalStorage, once run, hooks every promise
/** The running scope's list. Async work a scope started can outlive it: what it makes later is
 * left to the collector (an ended scope's list is emptied and takes nothing more). */
const current = (): Frame | undefined => {
  const f = syncFrame ?? frames.getStore();
  return f?.ended ? undefined : f;
};
// Live-tensor counting registers every tensor with a FinalizationRegistry, which keeps young
// tensors from dying in the collector's cheap pass: it costs ~70% of host time on small tensors,
// so it is on only when asked for.
let tracking = process.env.GRADWISE_TRACK_TENSORS === "1";
const live = new Map<string, number>();
const collected = new FinalizationRegistry<string>((device) => count(device, -1));
const count = (device: string, d: number): void => {
  live.set(device, (live.get(device) ?? 0) + d);
};
const counted = new WeakSet<Scoped>();

/** Starts (or stops) counting live tensors for memory(); GRADWISE_TRACK_TENSORS=1 starts it. */
export function trackTensors(on = true): void {
  if (typeof on !== "boolean") throw new TypeError(`trackTensors(): argument 'on' must be a boolean, not ${typeof on}`);
  tracking = on;
}

/** @internal Called by every new tensor. */
export function track(t: Scoped): void {
  current()?.push(t);
  if (!tracking) return;
  count(t.device, 1);
  counted.add(t);
  collected.register(t, t.device, t);
}

/** Per scope: the tensors that got a grad_fn while it ran (created there or not), and the grad_fns
 * made there that a tensor then dropped for another (a view's renewed one, an in-place op's). */
const graphedIn = new WeakMap<Scoped[], Scoped[]>(), droppedIn = new WeakMap<Scoped[], GraphNode[]>();

/** @internal Called when t gets a new grad_fn n in place of `old`; returns n. */
export function graphed<N extends GraphNode>(t: Scoped, n: N, old: GraphNode | null): N {
  const f = current();
  if (!f) return n;
  n.frame = f;
  const g = graphedIn.get(f);
  g ? g.push(t) : graphedIn.set(f, [t]);
  if (old?.frame === f) droppedIn.get(f)?.push(old) ?? droppedIn.set(f, [old]);
  return n;
}

/**
 * A scope's graph nodes that no tensor left alive reaches have their saved tensors freed, as PyTorch
 * frees a graph once its tensors are gone (else a loop that never awaits keeps every step's graph
 * until the collector runs); the others pass to the enclosing scope.
 */
function freeGraph(made: Scoped[], parent: Scoped[] | undefined): void {
  const g = graphedIn.get(made);
  if (!g) return;
  graphedIn.delete(made);
  const roots = (ts: Scoped[]): (GraphNode | null)[] => ts.flatMap((t) => [t._gradFn, t._viewOf?.base._gradFn ?? null]);
  const walk = (stack: (GraphNode | null)[], into: Set<GraphNode>, skip?: Set<GraphNode>): void => {
    for (let n = stack.pop(); n !== undefined; n = stack.pop())
      if (n && n.frame === made && !into.has(n) && !skip?.has(n)) into.add(n), stack.push(...n.next, n.inner ?? null);
  };
  const all = [...made, ...g], alive = all.filter((t) => !t.isDisposed || t._viewsLive), live = new Set<GraphNode>(), dead = new Set<GraphNode>();
  walk(roots(alive), live);
  walk([...roots(all.filter((t) => t.isDisposed && !t._viewsLive)), ...(droppedIn.get(made) ?? [])], dead, live);
  droppedIn.delete(made);
  // A node that a node outside `dead` points to stays: a graph built meanwhile outside the scope uses it.
  const inside = new Map<GraphNode, number>(); // edges to it from nodes in `dead`
  for (const n of dead) for (const m of n.next) if (m && dead.has(m)) inside.set(m, (inside.get(m) ?? 0) + 1); // `inner` is no user
  const stay = [...dead].filter((n) => n.users > (inside.get(n) ?? 0));
  for (let n = stay.pop(); n; n = stay.pop()) {
    if (!dead.delete(n)) continue;
    n.frame = parent; // kept: the enclosing scope may free it (and this scope's list is not held)
    if (n.inner && dead.has(n.inner)) stay.push(n.inner); // a kept CopySlices keeps its op
    for (const m of n.next) if (m && dead.has(m)) inside.set(m, (inside.get(m) ?? 1) - 1), m.users > (inside.get(m) ?? 0) && stay.push(m);
  }
  for (const n of dead) n.release(), n.next.forEach((m) => m && m.users--);
  for (const n of live) n.frame = parent;
  if (parent) graphedIn.set(parent, [...(graphedIn.get(parent) ?? []), ...alive.filter((t) => t._gradFn?.frame === parent)]);
}

/** @internal Called by dispose(). */
export function untrack(t: Scoped): void {
  if (!counted.delete(t)) return;
  count(t.device, -1);
  collected.unregister(t);
}

/** Tensors made on a device while tracking was on, neither disposed nor collected; null when off. */
export const liveTensors = (device: string): number | null => (tracking ? live.get(device) ?? 0 : null);

/** Keeps a tensor created inside scope() alive past the scope's end. @example keep(w.sub(1)) */
export function keep<T extends Tensor>(t: T): T { // Tensor, not Scoped: the published types strip Scoped's fields
  if (!isScoped(t)) throw new TypeError(`keep(): argument 't' must be a Tensor, not ${typeof t}`);
  (t as unknown as Scoped)._kept = true;
  return t;
}

const isScoped = (v: unknown): v is Scoped =>
  typeof v === "object" && v !== null && typeof (v as Scoped).dispose === "function" && "_kept" in v;

/**
 * Tensors inside what fn returned: a tensor, or arrays, Maps, Sets and plain objects of them, 8
 * levels deep. Level by level, each object once: a structure that refers back to itself (a model
 * whose layers point at it) took time exponential in its size.
 */
function collect(result: unknown, out: Set<Scoped>): void {
  const seen = new Set<object>();
  let level: unknown[] = [result];
  for (let depth = 0; depth <= 8 && level.length > 0; depth++) {
    const next: unknown[] = [], add = (x: unknown) => typeof x === "object" && x !== null && !seen.has(x) && next.push(x);
    for (const v of level) {
      if (seen.has(v as object)) continue;
      seen.add(v as object);
      if (isScoped(v)) out.add(v);
      else if (Array.isArray(v) || v instanceof Set) for (const x of v) add(x);
      else if (v instanceof Map) for (const x of v.values()) add(x);
      else if (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null) Object.values(v as object).forEach(add);
    }
    level = next;
  }
}

function end(made: Scoped[], outer: Frame | undefined, result: unknown): void {
  let parent = outer;
  while (parent?.ended) parent = parent.outer; // it ended first: what this returns goes to the nearest running one
  const returned = typeof result === "object" && result !== null ? new Set<Scoped>() : null;
  if (returned) collect(result, returned);
  const out: Scoped[] = [];
  for (const t of made) if (!t.isDisposed && !t._kept) returned?.has(t) ? out.push(t) : t.dispose();
  for (const t of out) parent?.push(t); // not push(...out): 125 000 returned tensors overflowed the stack
  freeGraph(made, parent);
  made.length = 0;
  (made as Frame).ended = true;
  // Returned results are computed (after the rest is freed, in case that throws): each then holds
  // its own buffer, not its inputs' (an unread loss would keep the parameter values a step overwrote).
  for (const t of out) t.realize();
}

/**
 * Runs fn and disposes the tensors it created, except those it returns (handed to an enclosing
 * scope) and those kept. fn may be async: tensors created after its awaits belong to it too.
 * @example const loss = await scope(async () => { ...; return loss; });
 */
export function scope<T>(fn: () => T): T {
  if (typeof fn !== "function") throw new TypeError(`scope(): argument 'fn' must be a function, not ${typeof fn}`);
  const parent = current(), made: Frame = Object.assign([], { outer: parent });
  let r: T | undefined;
  try {
    r = frames.run(made, fn);
  } finally {
    if (!(r instanceof Promise)) end(made, parent, r); // returned, or thrown (r undefined)
  }
  if (!(r instanceof Promise)) return r as T;
  const settle = (v: unknown): void => end(made, parent, v);
  return r.then((v: unknown) => (settle(v), v), (e: unknown) => Promise.reject((settle(undefined), e))) as T;
}

/** @internal scope() for a synchronous fn that calls no scope() (backward, an optimizer step). */
export function scopeSync<T>(fn: () => T): T {
  const parent = current(), outer = syncFrame, made: Scoped[] = (syncFrame = []);
  let r: T | undefined;
  try {
    return (r = fn());
  } finally {
    syncFrame = outer;
    end(made, parent, r);
  }
}
