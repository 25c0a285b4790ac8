import { tokenize } from "../../graph/tokenize.js";
import { Ref, taskSpec, type Graph, type Key, type ReadonlyGraph } from "../../graph/task-spec.js";

/**
 * How dataframe verbs add tasks to a graph: names derived from their inputs (so the same
 * computation built twice gets the same keys and runs once), one task per partition for blockwise
 * steps, and tree reductions.
 */

/** A fresh name for a layer: `label` plus a token of everything that determines its result. */
export function layerName(label: string, ...determinants: unknown[]): string {
  return `${label}-${tokenize(label, ...determinants)}`;
}

/** The key of partition `i` of layer `name`. */
export function partitionKey(name: string, i: number): Key {
  return `${name}-${i}`;
}

/** A copy of `graph` that the caller adds a layer to. */
export function extend(...graphs: ReadonlyGraph[]): Graph {
  const out: Graph = new Map(graphs[0]);
  for (let g = 1; g < graphs.length; g++) for (const [key, spec] of graphs[g]) out.set(key, spec);
  return out;
}

/** Adds a task calling `fn` with `args` under `key`. */
export function addTask(graph: Graph, key: Key, fn: string, args: readonly unknown[]): Key {
  graph.set(key, taskSpec(key, fn, args));
  return key;
}

/** A reference to the result under `key`, for task arguments. */
export function ref(key: Key): Ref {
  return new Ref(key);
}

/** Fan-in of tree reductions when not given: each combine reads this many inputs. */
export const DEFAULT_SPLIT_EVERY = 8;

/**
 * Adds a tree reduction over `inputs`: `combine(values[], ...args)` on groups of `splitEvery` until one
 * key is left, then `finish(value, ...finishArgs)` (when given) on it. Returns the final key. Partials
 * are combined as soon as their group is done, so the inputs of a group can be freed early. The
 * finishing task goes under `finish.key`.
 */
export function treeReduce(
  graph: Graph,
  name: string,
  inputs: readonly Key[],
  combine: { fn: string; args: readonly unknown[] },
  finish: { fn: string; args: readonly unknown[]; key: Key } | undefined,
  splitEvery = DEFAULT_SPLIT_EVERY,
): Key {
  let level = [...inputs];
  let depth = 0;
  while (level.length > 1) {
    const next: Key[] = [];
    for (let i = 0; i < level.length; i += splitEvery) {
      const group = level.slice(i, i + splitEvery);
      next.push(addTask(graph, `${name}-combine-${depth}-${next.length}`, combine.fn, [group.map(ref), ...combine.args]));
    }
    level = next;
    depth++;
  }
  if (finish === undefined) return level[0];
  return addTask(graph, finish.key, finish.fn, [ref(level[0]), ...finish.args]);
}
