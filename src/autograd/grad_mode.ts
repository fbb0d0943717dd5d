// Grad mode: whether ops record a graph. noGrad/enableGrad return fn's value and also hold for
// the whole of an async fn (the mode is restored when its promise settles).
let enabled = true;

export const isGradEnabled = (): boolean => enabled;

function withMode<T>(mode: boolean, fn: () => T): T {
  const prev = enabled;
  enabled = mode;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    enabled = prev;
    throw e;
  }
  if (result instanceof Promise) {
    // NOTE: like a context manager around an await, the mode stays set until the promise settles.
    return result.finally(() => (enabled = prev)) as T;
  }
  enabled = prev;
  return result;
}

/** Runs fn without recording gradients. @example const y = noGrad(() => x.mul(2)); */
export const noGrad = <T>(fn: () => T): T => withMode(false, fn);
/** Runs fn with gradient recording on, even inside noGrad. @example enableGrad(() => x.mul(2)) */
export const enableGrad = <T>(fn: () => T): T => withMode(true, fn);
/** Sets grad mode globally, as torch.set_grad_enabled(mode). @example setGradEnabled(false) */
export const setGradEnabled = (mode: boolean): void => {
  enabled = mode;
};
