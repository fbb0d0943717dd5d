// Grad mode: whether ops record a graph. noGrad/enableGrad return fn's value and hold for the
// whole of an async fn, in its async context only (as PyTorch's mode is per thread): code that runs
// between its awaits keeps its own mode, and fns that end in any order leave the mode as it was.
import { AsyncLocalStorage } from "node:async_hooks";

interface Mode { on: boolean }
const root: Mode = { on: true };
const modes = new AsyncLocalStorage<Mode>();
let inner: Mode | undefined; // the running withoutGrad's (internal, synchronous: no async context)
const mode = (): Mode => inner ?? modes.getStore() ?? root;

export const isGradEnabled = (): boolean => mode().on;

const withMode = <T>(on: boolean, fn: () => T, name: string): T => {
  if (typeof fn !== "function") throw new TypeError(`${name}(): argument 'fn' must be a function, not ${typeof fn}`);
  const outer = inner;
  inner = undefined;
  try {
    return modes.run({ on }, fn);
  } finally {
    inner = outer;
  }
};

/** Runs fn without recording gradients. @example const y = noGrad(() => x.mul(2)); */
export const noGrad = <T>(fn: () => T): T => withMode(false, fn, "noGrad");
/** Runs fn with gradient recording on, even inside noGrad. @example enableGrad(() => x.mul(2)) */
export const enableGrad = <T>(fn: () => T): T => withMode(true, fn, "enableGrad");
/** Sets grad mode for the current context (until the enclosing noGrad/enableGrad ends), as
 * torch.set_grad_enabled(mode). @example setGradEnabled(false) */
export const setGradEnabled = (on: boolean): void => {
  if (typeof on !== "boolean") throw new TypeError(`setGradEnabled(): argument 'mode' must be a boolean, not ${typeof on}`);
  mode().on = on;
};

/** @internal noGrad for synchronous library code (backward, optimizer steps): no async context. */
export function withoutGrad<T>(fn: () => T): T {
  const outer = inner;
  inner = { on: false };
  try {
    return fn();
  } finally {
    inner = outer;
  }
}
