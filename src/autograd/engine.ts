// backward: runs the graph below a root in PyTorch's engine's order (a node once every edge to it has
// delivered, the one made last first) with a per-call gradient map; sums broadcast gradients to
// their input's shape, accumulates into leaves, frees saved tensors.
import { ownInputs } from "../ops/lazy.js";
import type { Tensor } from "../tensor.js";
import { withoutGrad } from "./grad_mode.js";
import { AccumulateGrad, type Node } from "./node.js";

/** How many edges reach each node below root (root: 0). */
function dependencies(root: Node): Map<Node, number> {
  const deps = new Map<Node, number>([[root, 0]]), stack: Node[] = [root];
  while (stack.length)
    for (const n of (stack.pop() as Node).next) {
      const d = n && deps.get(n);
      if (n) deps.set(n, (d ?? 0) + 1);
      if (n && d === undefined) stack.push(n);
    }
  return deps;
}

/** Takes the ready node PyTorch's engine runs next: the one made last (AccumulateGrad first). */
function next(ready: Node[]): Node {
  let at = 0;
  for (let i = 1; i < ready.length; i++) if ((ready[i] as Node).seq > (ready[at] as Node).seq) at = i;
  const n = ready[at] as Node;
  ready[at] = ready[ready.length - 1] as Node;
  ready.pop();
  return n;
}

export function runBackward(root: Node, seed: Tensor, retainGraph: boolean): void {
  withoutGrad(() => {
    const deps = dependencies(root), ready: Node[] = [root];
    // A consumed entry is set to undefined, not deleted: Map.delete shrinks (reallocates) the table.
    const pending = new Map<Node, Tensor | undefined>([[root, seed]]);
    // A gradient handed to more than one consumer (or the user's seed) is copied before a leaf keeps it.
    const shared = new Set<Tensor>([seed]);
    while (ready.length) {
      const node = next(ready), g = pending.get(node);
      pending.set(node, undefined);
      const keep = g && node.retained?.deref();
      if (keep && !keep.isDisposed) keep._accumulateGrad(g as Tensor, true); // a disposed one gets none, as a leaf
      if (g && node instanceof AccumulateGrad) { // skipped for a leaf that stopped requiring grad, as PyTorch, or was disposed
        if (node.variable.requiresGrad && !node.variable.isDisposed) node.variable._accumulateGrad(g, shared.has(g));
      } else if (g) {
        const grads = ownInputs(node, g);
        grads.forEach((gi, k) => {
          const to = node.next[k];
          if (!gi || !to) return;
          const gk = gi._sumTo(node.inputShapes[k] as readonly number[]);
          // The same tensor handed to two consumers (add's inputs) must not become two leaves' .grad.
          if (grads.indexOf(gi) !== k || grads.lastIndexOf(gi) !== k) shared.add(gk);
          const prev = pending.get(to);
          pending.set(to, prev ? prev.add(gk) : gk); // in arrival order, as PyTorch's input buffers
        });
      }
      for (const n of node.next) if (n && deps.set(n, (deps.get(n) as number) - 1).get(n) === 0) ready.push(n);
      if (!retainGraph) node.release();
    }
  });
}
