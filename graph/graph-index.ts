import { GraphError } from "./graph-error.js";
import type { Key, ReadonlyGraph } from "./task-spec.js";

// The dependency structure of a graph as integer arrays, which the ordering (`order.ts`) walks.

/**
 * A graph as integer indices: dependencies and dependents in compressed sparse row form (the
 * neighbours of task `i` are `deps[depStart[i] .. depStart[i + 1])`). Typed arrays keep the hot loops
 * free of hashing and allocation.
 */
export interface IndexedGraph {
  readonly keys: readonly Key[];
  /** The index of a key, or undefined when it is not in the graph. */
  readonly indexOf: (key: Key) => number | undefined;
  readonly depStart: Int32Array;
  /** In argument order; repeats and keys outside the graph removed. */
  readonly deps: Int32Array;
  readonly dependentStart: Int32Array;
  readonly dependents: Int32Array;
}

/**
 * A graph's dependency structure as indices, for callers that already have it: `keys[i]` is the i-th
 * key in the graph's iteration order, and task i's dependencies within the graph are
 * `deps[depStart[i] .. depStart[i + 1])`, each once. `collectGraph` builds one while it walks delayed
 * values, sparing the ordering a map of every key.
 */
export interface GraphIndex {
  readonly keys: readonly Key[];
  readonly depStart: Int32Array;
  readonly deps: Int32Array;
}

export function indexGraph(graph: ReadonlyGraph, given?: GraphIndex): IndexedGraph {
  if (given !== undefined) return withDependents(given.keys, lookupByScan(given.keys), given.depStart, given.deps);
  const n = graph.size;
  const keys: Key[] = new Array(n);
  const index = new Map<Key, number>();
  let i = 0;
  for (const key of graph.keys()) {
    keys[i] = key;
    index.set(key, i);
    i++;
  }

  const depStart = new Int32Array(n + 1);
  const depList: number[] = [];
  // `lastSeenBy[j] === i` means task i already listed j; specs built by hand may repeat a dep.
  const lastSeenBy = new Int32Array(n).fill(-1);
  i = 0;
  for (const spec of graph.values()) {
    depStart[i] = depList.length;
    for (const depKey of spec.deps) {
      const j = index.get(depKey);
      if (j === undefined || lastSeenBy[j] === i) continue;
      lastSeenBy[j] = i;
      depList.push(j);
    }
    i++;
  }
  depStart[n] = depList.length;
  return withDependents(keys, (key) => index.get(key), depStart, Int32Array.from(depList));
}

/**
 * Finds keys by scanning: used with a given index, where only the outputs are ever looked up, and a
 * map of every key would cost more than it saves. Past a handful of lookups it builds the map.
 */
function lookupByScan(keys: readonly Key[]): (key: Key) => number | undefined {
  let lookups = 0;
  let index: Map<Key, number> | undefined;
  return (key) => {
    if (index === undefined && ++lookups > 16) index = new Map(keys.map((k, i) => [k, i]));
    if (index !== undefined) return index.get(key);
    const i = keys.indexOf(key);
    return i < 0 ? undefined : i;
  };
}

function withDependents(
  keys: readonly Key[],
  indexOf: (key: Key) => number | undefined,
  depStart: Int32Array,
  deps: Int32Array,
): IndexedGraph {
  const n = keys.length;
  const dependentStart = new Int32Array(n + 1);
  for (let e = 0; e < deps.length; e++) dependentStart[deps[e] + 1]++;
  for (let j = 0; j < n; j++) dependentStart[j + 1] += dependentStart[j];
  const dependents = new Int32Array(deps.length);
  const fill = dependentStart.slice(0, n);
  for (let t = 0; t < n; t++) {
    for (let e = depStart[t]; e < depStart[t + 1]; e++) dependents[fill[deps[e]]++] = t;
  }
  return { keys, indexOf, depStart, deps, dependentStart, dependents };
}

/**
 * The number of tasks on the longest dependency path from each task down to a leaf (a leaf is 1),
 * by Kahn's topological sort, which also detects cycles without recursion.
 */
export function heightsOrThrow(g: IndexedGraph): Int32Array {
  const n = g.keys.length;
  const height = new Int32Array(n).fill(1);
  const missing = new Int32Array(n);
  const queue = new Int32Array(n);
  let tail = 0;
  for (let t = 0; t < n; t++) {
    missing[t] = g.depStart[t + 1] - g.depStart[t];
    if (missing[t] === 0) queue[tail++] = t;
  }
  for (let head = 0; head < tail; head++) {
    const t = queue[head];
    const h = height[t] + 1;
    for (let e = g.dependentStart[t]; e < g.dependentStart[t + 1]; e++) {
      const u = g.dependents[e];
      if (height[u] < h) height[u] = h;
      if (--missing[u] === 0) queue[tail++] = u;
    }
  }
  if (tail < n) throwCycle(g, missing);
  return height;
}

/**
 * Every task Kahn's sort could not reach still waits on at least one unreached dependency, so
 * following such dependencies from any of them must come back to a task already on the path.
 */
function throwCycle(g: IndexedGraph, missing: Int32Array): never {
  const n = g.keys.length;
  let start = 0;
  while (missing[start] === 0) start++;
  const positionOnPath = new Int32Array(n).fill(-1);
  const path: number[] = [];
  let t = start;
  while (positionOnPath[t] < 0) {
    positionOnPath[t] = path.length;
    path.push(t);
    let next = -1;
    for (let e = g.depStart[t]; e < g.depStart[t + 1]; e++) {
      if (missing[g.deps[e]] > 0) {
        next = g.deps[e];
        break;
      }
    }
    t = next;
  }
  const cycle = path.slice(positionOnPath[t]).map((c) => g.keys[c]);
  throw new GraphError("cycle", `tasks depend on each other in a cycle: ${[...cycle, cycle[0]].join(" -> ")}`, cycle);
}
