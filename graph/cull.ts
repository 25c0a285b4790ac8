/**
 * Culling: dropping the tasks no requested output needs. A collection's graph often holds more than
 * one compute asks for (`x.sum()` built on top of a graph that also defines `x.mean()`), and every
 * task left in costs scheduling time and memory.
 */

import { GraphError } from "./graph-error.js";
import type { Graph, Key, ReadonlyGraph } from "./task-spec.js";

/**
 * A graph holding only `outputs` and the tasks they depend on, directly or not (`graph` itself when
 * it holds nothing else, so a caller must not mutate the result); `graph` is not
 * changed. Tasks keep their spec objects and their relative insertion order.
 *
 * Dependencies that are not in the graph are passed over (they may be results held elsewhere;
 * `validateGraph` judges them). An output that is not in the graph is a
 * {@link GraphError} `"missing-dependency"`, since nothing could produce it.
 *
 * Iterative and linear in the size of the part kept plus one pass over the graph.
 *
 * @example
 * ```ts
 * // a = load(), b = inc(a), unused = dec(a)
 * cullGraph(graph, ["b"]); // Map { a, b }
 * ```
 */
export function cullGraph(graph: ReadonlyGraph, outputs: readonly Key[]): ReadonlyGraph {
  const needed = new Set<Key>();
  const pending: Key[] = [];
  for (const key of outputs) {
    if (!graph.has(key)) {
      throw new GraphError("missing-dependency", `output "${key}" is not in the graph`, [key]);
    }
    if (!needed.has(key)) {
      needed.add(key);
      pending.push(key);
    }
  }
  // `needed` also collects dependencies outside the graph (looking them up once, when popped, is
  // cheaper than on every edge); `kept` counts the ones inside.
  let kept = 0;
  while (pending.length > 0) {
    const spec = graph.get(pending.pop()!);
    if (spec === undefined) continue;
    kept++;
    for (const dep of spec.deps) {
      if (!needed.has(dep)) {
        needed.add(dep);
        pending.push(dep);
      }
    }
  }
  if (kept === graph.size) return graph;
  const culled: Graph = new Map();
  // A pass over the graph, not over `needed`, keeps the input's order, so results are reproducible.
  for (const [key, spec] of graph) {
    if (needed.has(key)) culled.set(key, spec);
  }
  return culled;
}
