// SGD as torch.optim.SGD (PyTorch 2.x defaults): momentum, dampening, weight decay, Nesterov,
// maximize, parameter groups; step() updates parameters in place without recording a graph.
import { enableGrad, withoutGrad } from "../autograd/grad_mode.js";
import { DUPLICATE_PARAMS_WARNING, errors, warnOnce } from "../errors.js";
import { keep, scopeSync } from "../scope.js";
import { Tensor } from "../tensor.js";

export interface SGDOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  maximize?: boolean;
}

/** A parameter group as given: its tensors, options that override the optimizer's, and any other
 * keys (a name, as PyTorch keeps them). */
export interface ParamGroup extends SGDOptions {
  params: Iterable<Tensor> | Tensor;
  [key: string]: unknown;
}

/** A parameter group as the optimizer holds it (`paramGroups`): set `lr` there to change it. */
export interface SGDParamGroup extends Required<SGDOptions> {
  params: Tensor[];
  [key: string]: unknown;
}

const DEFAULTS: Required<SGDOptions> = {
  lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false,
};

/** Options' types checked; `ranges`: their values too, as PyTorch's constructor checks its own
 * (not a group's: PyTorch takes a group's lr of -1, or its nesterov without momentum). */
function checked<T extends SGDOptions>(opts: T, fn: string, ranges = false): T {
  for (const k of ["lr", "momentum", "dampening", "weightDecay"] as const)
    if (typeof opts[k] !== "number" || Number.isNaN(opts[k])) throw errors.badArg(fn, k, "a number", opts[k]);
  for (const k of ["nesterov", "maximize"] as const)
    if (typeof opts[k] !== "boolean") throw errors.badArg(fn, k, "a boolean", opts[k]);
  const o = opts as Required<SGDOptions>;
  if (!ranges) return opts;
  if (o.lr < 0) throw errors.lr(o.lr);
  if (o.momentum < 0) throw errors.momentum(o.momentum);
  if (o.weightDecay < 0) throw errors.weightDecay(o.weightDecay);
  if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) throw errors.nesterov();
  return opts;
}

/** The options given a value (undefined means not set, as a JS caller means it). */
const defined = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

const iterable = (v: unknown): v is Iterable<unknown> =>
  typeof (v as Partial<Iterable<unknown>> | null)?.[Symbol.iterator] === "function";

/** Stochastic gradient descent. @example const opt = new SGD([w], { lr: 0.1 }); opt.step() */
export class SGD {
  /** The defaults of every group (PyTorch's `defaults`). */
  readonly options: Required<SGDOptions>;
  readonly paramGroups: SGDParamGroup[] = [];
  /** Momentum buffers, one per tensor (a tensor listed twice shares one, as in PyTorch). */
  private buffers = new Map<Tensor, Tensor>();

  /** `params`: tensors, or parameter groups (`{ params, ...options }`) whose options override `opts`. */
  constructor(params: Iterable<Tensor> | Iterable<ParamGroup>, opts: SGDOptions = {}) {
    if (typeof opts !== "object" || opts === null) throw errors.badArg("SGD", "options", "an object", opts);
    for (const k of Object.keys(opts)) if (!Object.hasOwn(DEFAULTS, k)) throw errors.badOption("SGD", k);
    this.options = checked({ ...DEFAULTS, ...defined(opts) }, "SGD", true);
    if (!iterable(params) || params instanceof Tensor) throw errors.optimParams(params);
    const groups = [...params] as unknown[];
    if (groups.length === 0) throw errors.emptyParams();
    const first = groups[0];
    if (first instanceof Tensor || typeof first !== "object" || first === null || iterable(first)) this.addParamGroup({ params: groups as Tensor[] });
    else for (const g of groups) this.addParamGroup(g as ParamGroup);
  }

  /** Every parameter, group by group. */
  get params(): Tensor[] { return this.paramGroups.flatMap((g) => g.params); }

  /** Adds a group of parameters with options of its own (PyTorch's add_param_group). */
  addParamGroup(group: ParamGroup): void {
    if (typeof group !== "object" || group === null || group instanceof Tensor || Array.isArray(group)) throw errors.groupType();
    for (const k of Object.keys(group)) // other keys are kept (a name), but not a near-miss of an option: weight_decay
      if (!Object.hasOwn(DEFAULTS, k) && Object.keys(DEFAULTS).some((o) => o.toLowerCase() === k.replaceAll("_", "").toLowerCase()))
        throw errors.badOption("addParamGroup", k);
    const given = group.params;
    if (given instanceof Set) throw errors.groupSet();
    if (!(given instanceof Tensor) && !iterable(given)) throw errors.optimParams(given);
    const params = given instanceof Tensor ? [given] : [...(given as Iterable<unknown>)];
    for (const p of params) {
      if (!(p instanceof Tensor) || p.isDisposed) throw p instanceof Tensor ? errors.disposed() : errors.optimType(p); // not at step()
      if (!p.isLeaf && !p.retainsGrad) throw errors.optimLeaf();
    }
    const tensors = params as Tensor[];
    if (new Set(tensors).size !== tensors.length) warnOnce(DUPLICATE_PARAMS_WARNING);
    const taken = new Set(this.params);
    if (tensors.some((p) => taken.has(p))) throw errors.groupOverlap();
    this.paramGroups.push(checked({ ...this.options, ...defined(group), params: tensors }, "addParamGroup"));
  }

  /** Applies one update to every parameter that has a gradient; a `closure` (PyTorch's: it
   * recomputes the loss, grad mode on) runs first and its value is returned. An async closure is
   * awaited before the update: `await opt.step(async () => ...)`. */
  step<T = undefined>(closure?: () => T): T extends PromiseLike<unknown> ? T : T | undefined {
    if (closure !== undefined && typeof closure !== "function") throw errors.badArg("step", "closure", "a function", closure);
    const loss = closure && enableGrad(closure), then = (loss as { then?: unknown } | undefined)?.then;
    type R = T extends PromiseLike<unknown> ? T : T | undefined; // a thenable (any realm's Promise): awaited, as it updated before the gradients existed
    if (typeof then === "function") return Promise.resolve(loss).then((l) => (this.update(), l)) as R;
    return this.update(), loss as R;
  }

  private update(): void { // in a scope: the overwritten values and temporaries are freed now, not when collected
    if (this.paramGroups.some((g) => g.params.some((p) => p.isDisposed))) throw errors.disposed(); // before any update (it threw halfway)
    withoutGrad(() => scopeSync(() => {
      for (const group of this.paramGroups) {
        const { lr, momentum, dampening, weightDecay, nesterov, maximize } = checked(group, "step");
        // The buffers as the step starts, one per listed tensor (PyTorch's momentum_buffer_list): a
        // tensor listed twice gets two new buffers at its first step, then shares the last one.
        const bufs = group.params.map((p) => this.buffers.get(p));
        group.params.forEach((p, i) => {
          const grad = p._gradRef;
          if (!grad) return;
          let d = maximize ? grad.neg() : grad;
          if (weightDecay !== 0) d = d.add(p.mul(weightDecay));
          if (momentum !== 0) {
            let buf = bufs[i];
            if (!buf) bufs[i] = buf = keep(d.clone());
            else buf.mul_(momentum).add_(dampening === 0 ? d : d.mul(1 - dampening));
            d = nesterov ? d.add(buf.mul(momentum)) : buf;
          }
          p.sub_(d.mul(lr));
        });
        group.params.forEach((p, i) => {
          const buf = bufs[i], old = this.buffers.get(p);
          if (buf && buf !== old) this.buffers.set(p, buf), old?.dispose();
        });
      }
    }));
  }

  /** Resets gradients: to null by default (PyTorch 2.x), else to zeros (detached first, as PyTorch's). */
  zeroGrad(opts: { setToNone?: boolean } | boolean = {}): void { // a boolean: PyTorch's positional set_to_none
    const o = typeof opts === "boolean" ? { setToNone: opts } : opts;
    if (typeof o !== "object" || o === null) throw errors.badArg("zeroGrad", "options", "an object or a boolean", o);
    for (const k of Object.keys(o)) if (k !== "setToNone") throw errors.badOption("zeroGrad", k);
    const { setToNone = true } = o;
    if (typeof setToNone !== "boolean") throw errors.badArg("zeroGrad", "setToNone", "a boolean", setToNone);
    for (const group of this.paramGroups) for (const p of group.params) { // not the params getter's new array: 5 % of a small step
      const g = p._gradRef;
      if (setToNone) p.grad = null;
      else if (g) (g.gradFn ? g.detach_() : g.requiresGrad_(false)).zero_();
    }
  }
}
