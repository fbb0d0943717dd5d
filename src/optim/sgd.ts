// SGD as torch.optim.SGD (PyTorch 2.x defaults): momentum, dampening, weight decay, Nesterov,
// maximize; step() updates parameters in place without recording a graph.
import { enableGrad, withoutGrad } from "../autograd/grad_mode.js";
import { errors } from "../errors.js";
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

const DEFAULTS: Required<SGDOptions> = {
  lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false,
};

/** Stochastic gradient descent. @example const opt = new SGD([w], { lr: 0.1 }); opt.step() */
export class SGD {
  readonly params: Tensor[];
  readonly options: Required<SGDOptions>;
  private buffers: (Tensor | null)[];

  constructor(params: Iterable<Tensor>, opts: SGDOptions = {}) {
    if (typeof opts !== "object" || opts === null) throw errors.badArg("SGD", "options", "an object", opts);
    for (const k of Object.keys(opts)) if (!Object.hasOwn(DEFAULTS, k)) throw errors.badOption("SGD", k);
    const o = { ...DEFAULTS, ...opts };
    for (const k of ["lr", "momentum", "dampening", "weightDecay"] as const)
      if (typeof o[k] !== "number" || Number.isNaN(o[k])) throw errors.badArg("SGD", k, "a number", o[k]);
    for (const k of ["nesterov", "maximize"] as const)
      if (typeof o[k] !== "boolean") throw errors.badArg("SGD", k, "a boolean", o[k]);
    if (o.lr < 0) throw errors.lr(o.lr);
    if (o.momentum < 0) throw errors.momentum(o.momentum);
    if (o.weightDecay < 0) throw errors.weightDecay(o.weightDecay);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) throw errors.nesterov();
    const iterable = typeof (params as Partial<Iterable<Tensor>> | null)?.[Symbol.iterator] === "function";
    if (!iterable || params instanceof Tensor) throw errors.optimParams(params);
    this.params = [...params];
    if (this.params.length === 0) throw errors.emptyParams();
    for (const p of this.params) {
      if (!(p instanceof Tensor)) throw errors.optimType(p);
      if (!p.isLeaf) throw errors.optimLeaf();
    }
    this.options = o;
    this.buffers = this.params.map(() => null);
  }

  /** Applies one update to every parameter that has a gradient; a `closure` (PyTorch's: it
   * recomputes the loss, grad mode on) runs first and its value is returned. */
  step<T = undefined>(closure?: () => T): T | undefined {
    if (closure !== undefined && typeof closure !== "function") throw errors.badArg("step", "closure", "a function", closure);
    const loss = closure && enableGrad(closure);
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = this.options;
    // In a scope: the overwritten values and temporaries are freed now, not when collected.
    withoutGrad(() => scopeSync(() => {
      this.params.forEach((p, i) => {
        const grad = p._gradRef;
        if (!grad) return;
        let d = maximize ? grad.neg() : grad;
        if (weightDecay !== 0) d = d.add(p.mul(weightDecay));
        if (momentum !== 0) {
          let buf = this.buffers[i] ?? null;
          if (!buf) buf = this.buffers[i] = keep(d.clone());
          else buf.mul_(momentum).add_(dampening === 0 ? d : d.mul(1 - dampening));
          d = nesterov ? d.add(buf.mul(momentum)) : buf;
        }
        p.sub_(d.mul(lr));
      });
    }));
    return loss;
  }

  /** Resets gradients: to null by default (PyTorch 2.x), else to zeros. @example opt.zeroGrad() */
  zeroGrad(opts: { setToNone?: boolean } | boolean = {}): void { // a boolean: PyTorch's positional set_to_none
    const o = typeof opts === "boolean" ? { setToNone: opts } : opts;
    if (typeof o !== "object" || o === null) throw errors.badArg("zeroGrad", "options", "an object or a boolean", o);
    for (const k of Object.keys(o)) if (k !== "setToNone") throw errors.badOption("zeroGrad", k);
    const { setToNone = true } = o;
    if (typeof setToNone !== "boolean") throw errors.badArg("zeroGrad", "setToNone", "a boolean", setToNone);
    for (const p of this.params) {
      if (setToNone) p.grad = null;
      else p._gradRef?.zero_();
    }
  }
}
