// backward: runs the graph below a root in topological order with a per-call gradient map; sums
// broadcast gradients to their input's shape, accumulates into leaves, frees saved tensors.
import { ownInputs } from "../ops/lazy.js";
import type { Tensor } from "../tensor.js";
import { withoutGrad } from "./grad_mode.js";
import { AccumulateGrad, type Node } from "./node.js";

/** Nodes reachable from root, each before every node it feeds (reversed iterative post-order). */
function topoOrder(root: Node): Node[] {
  const order: Node[] = [];
  const seen = new Set<Node>([root]);
  const stack: Node[] = [root], at: number[] = [0]; // a node and its next edge to visit
  while (stack.length) {
    const node = stack[stack.length - 1] as Node, i = at[at.length - 1] as number;
    if (i < node.next.length) {
      at[at.length - 1] = i + 1;
      const n = node.next[i];
      if (n && !seen.has(n)) {
        seen.add(n);
        stack.push(n), at.push(0);
      }
    } else {
      order.push(node);
      stack.pop(), at.pop();
    }
  }
  return order.reverse();
}

export function runBackward(root: Node, seed: Tensor, retainGraph: boolean): void {
  withoutGrad(() => {
    // A consumed entry is set to undefined, not deleted: Map.delete shrinks (reallocates) the table.
    const pending = new Map<Node, Tensor | undefined>([[root, seed]]);
    // A gradient handed to more than one consumer (or the user's seed) is copied before a leaf keeps it.
    const shared = new Set<Tensor>([seed]);
    for (const node of topoOrder(root)) {
      const g = pending.get(node);
      if (!g) continue;
      pending.set(node, undefined);
      const keep = node.retained?.deref();
      if (keep) keep._accumulateGrad(g, true);
      if (node instanceof AccumulateGrad) { // skipped for a leaf that stopped requiring grad, as PyTorch
        if (node.variable.requiresGrad) node.variable._accumulateGrad(g, shared.has(g));
        continue;
      }
      const grads = ownInputs(node, g);
      grads.forEach((gi, k) => {
        const next = node.next[k];
        if (!gi || !next) return;
        const gk = gi._sumTo(node.inputShapes[k] as readonly number[]);
        // The same tensor handed to two consumers (add's inputs) must not become two leaves' .grad.
        if (grads.indexOf(gi) !== k || grads.lastIndexOf(gi) !== k) shared.add(gk);
        const prev = pending.get(next);
        pending.set(next, prev ? prev.add(gk) : gk);
      });
      if (!retainGraph) node.release();
    }
  });
}
