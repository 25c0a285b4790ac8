/**
 * Static priorities for the tasks of a graph: the order a single thread should run them in so that
 * few results are held in memory at once.
 *
 * Memory, not speed, is what a bad order costs. A breadth-first walk of a reduction over n inputs
 * holds all n inputs before the first sum runs; a depth-first walk holds about log n. The scheduler
 * uses these numbers to choose among ready tasks (lower first), and to decide which queued tasks to
 * hand to workers, so a good static order keeps a whole cluster's memory down, not only one thread's.
 *
 * The algorithm has two passes:
 *
 * 1. **Static rank.** A depth-first post-order from the outputs. At each task its dependencies are
 *    visited longest-path-to-a-leaf first (the critical path), ties by argument order. Post-order
 *    finishes one subtree before it starts the next, which is what keeps a reduction at O(log n).
 * 2. **Simulated run.** A serial execution that at every step takes the first of:
 *    - a ready task that lets inputs be freed (it is the last task still reading them), most
 *      inputs freed first. Such a task adds one result and frees at least one, so running it never
 *      raises the count of held results: a safe greedy step. It fixes what a single DFS gets
 *      wrong when reductions share inputs: the DFS of the first reduction would hold every shared
 *      input until the second reduction reached it.
 *    - a step towards the nearest such task: of the tasks that are the last reader of some held
 *      result but are not ready, the one missing the fewest dependencies; run the first ready task
 *      under it, critical path first. After a subtree finishes, this picks up the work that frees
 *      what is still held, where the static rank might start an unrelated subtree; on graphs with
 *      many outputs that share inputs it is the difference between following the structure and
 *      following key names (dask's `test_use_structure_not_keys` graph: 3 held inputs, not 7).
 *    - the lowest-ranked task not yet run: start the next subtree in static order.
 *
 *    A ready task that frees nothing is never run merely because it is ready or just became ready,
 *    so an input with many readers (a root feeding many branches, a partition split once per
 *    output of a shuffle) does not set off all of them at once, each result then waiting for the
 *    rest of its branch.
 *
 * The priority of a task is its step in the simulated run.
 *
 * @module
 */

import { GraphError } from "./graph-error.js";
import { heightsOrThrow, indexGraph, type GraphIndex, type IndexedGraph } from "./graph-index.js";
import type { Key, ReadonlyGraph } from "./task-spec.js";

/**
 * Gives every task of `graph` a priority, 0 to `graph.size - 1`, each used once: the order a single
 * thread should run the tasks in to keep few results in memory, in the spirit of `dask.order`.
 *
 * The order finishes one subtree before starting the next, runs a task as soon as running it lets an
 * input be freed, and starts on the longest path to a leaf (the critical path) first. It is always
 * topologically valid: a task comes after every task it depends on. It is deterministic: it depends
 * on the graph's structure, argument order and key names, never on the `Map`'s insertion order.
 *
 * Dependencies that are not keys of `graph` are taken to be computed already and are ignored, as are
 * `outputs` that are not keys of `graph`. Takes time about linear in tasks plus dependencies (Map
 * lookups of the keys dominate), and uses no recursion, so a chain of a million tasks is fine.
 *
 * @param graph - The tasks to order.
 * @param outputs - The results the caller wants. They are held in memory to the end, so running a
 *   task never "frees" one. Defaults to the tasks no other task depends on.
 * @returns Key to priority, with the map's iteration order being the priority order.
 * @throws {@link GraphError} with code `"cycle"` when the tasks depend on each other in a cycle;
 *   `keys` lists the cycle in dependency order.
 *
 * @example
 * ```ts
 * const graph: Graph = new Map([
 *   ["a", taskSpec("a", "load", [0])],
 *   ["b", taskSpec("b", "load", [1])],
 *   ["ab", taskSpec("ab", "add", [new Ref("a"), new Ref("b")])],
 *   ["c", taskSpec("c", "load", [2])],
 *   ["d", taskSpec("d", "load", [3])],
 *   ["cd", taskSpec("cd", "add", [new Ref("c"), new Ref("d")])],
 *   ["total", taskSpec("total", "add", [new Ref("ab"), new Ref("cd")])],
 * ]);
 * orderGraph(graph);
 * // Map { "a" => 0, "b" => 1, "ab" => 2, "c" => 3, "d" => 4, "cd" => 5, "total" => 6 }
 * // "ab" runs before "c" is loaded, so "a" and "b" are gone by then: 4 results held at the peak
 * // (ab, c, d and the cd being produced), where loading all four inputs first would hold 5.
 * ```
 */
export function orderGraph(graph: ReadonlyGraph, outputs?: readonly Key[]): Map<Key, number> {
  const { g, runOrder } = runOrderOf(graph, outputs);
  const result = new Map<Key, number>();
  for (let step = 0; step < runOrder.length; step++) result.set(g.keys[runOrder[step]], step);
  return result;
}

/**
 * {@link orderGraph} without the map: `positions[i]` is the priority of the i-th task in `graph`'s
 * iteration order. For callers that walk the graph anyway, it saves building and reading a map of
 * every key. `index`, when given, must describe `graph` exactly (see {@link GraphIndex}).
 */
export function orderPositions(graph: ReadonlyGraph, outputs?: readonly Key[], index?: GraphIndex): Int32Array {
  return orderWithIndex(graph, outputs, index).positions;
}

/**
 * {@link orderPositions}, and the {@link GraphIndex} the ordering worked from (the one given, or the
 * one it built), for callers that can use the dependency structure too.
 */
export function orderWithIndex(
  graph: ReadonlyGraph,
  outputs?: readonly Key[],
  index?: GraphIndex,
): { positions: Int32Array; index: GraphIndex } {
  const { g, runOrder } = runOrderOf(graph, outputs, index);
  const positions = new Int32Array(runOrder.length);
  for (let step = 0; step < runOrder.length; step++) positions[runOrder[step]] = step;
  return { positions, index: g };
}

/** The tasks' indexes (in graph iteration order) in the order they should run. */
function runOrderOf(
  graph: ReadonlyGraph,
  outputs: readonly Key[] | undefined,
  index?: GraphIndex,
): { g: IndexedGraph; runOrder: Int32Array } {
  const g = indexGraph(graph, index);
  if (g.keys.length === 0) return { g, runOrder: new Int32Array(0) };
  const height = heightsOrThrow(g);
  const isOutput = outputFlags(g, outputs);
  const roots = dfsRoots(g, height, isOutput, outputs);
  const children = sortedByHeight(g, height);
  const rank = staticRank(g, children, roots);
  return { g, runOrder: simulateRun(g, rank, children, isOutput) };
}

/**
 * Runs the tasks of `graph` one at a time in `priorities` order (lowest first) and returns the
 * largest number of results held at once. A result is held from the moment its task runs (the
 * result being produced counts, alongside the inputs it reads) until the last task that reads it has
 * run; `outputs` are held to the end. This is the measure by which orderings are judged.
 *
 * @param outputs - Results held to the end. Defaults to the tasks no other task depends on; any
 *   other task that nothing depends on is dropped as soon as it has run.
 * @throws {@link GraphError} with code `"invalid-graph"` when a task has no priority, or when the
 *   order runs a task before one of its dependencies.
 *
 * @example
 * ```ts
 * simulatePeakMemory(graph, orderGraph(graph)); // 4 for the graph in orderGraph's example
 * ```
 */
export function simulatePeakMemory(
  graph: ReadonlyGraph,
  priorities: ReadonlyMap<Key, number>,
  outputs?: readonly Key[],
): number {
  const g = indexGraph(graph);
  const n = g.keys.length;
  const isOutput = outputFlags(g, outputs);
  const prio = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = priorities.get(g.keys[i]);
    if (p === undefined) {
      throw new GraphError("invalid-graph", `task "${g.keys[i]}" has no priority`, [g.keys[i]]);
    }
    prio[i] = p;
  }
  const runOrder = Array.from({ length: n }, (_, i) => i).sort((a, b) => prio[a] - prio[b]);

  const remaining = new Int32Array(n);
  for (let i = 0; i < n; i++) remaining[i] = g.dependentStart[i + 1] - g.dependentStart[i];
  const done = new Uint8Array(n);
  let held = 0;
  let peak = 0;
  for (const t of runOrder) {
    held++;
    if (held > peak) peak = held;
    for (let e = g.depStart[t]; e < g.depStart[t + 1]; e++) {
      const d = g.deps[e];
      if (!done[d]) {
        throw new GraphError(
          "invalid-graph",
          `task "${g.keys[t]}" is ordered before its dependency "${g.keys[d]}"`,
          [g.keys[t], g.keys[d]],
        );
      }
      if (--remaining[d] === 0 && !isOutput[d]) held--;
    }
    done[t] = 1;
    if (remaining[t] === 0 && !isOutput[t]) held--;
  }
  return peak;
}

function outputFlags(g: IndexedGraph, outputs: readonly Key[] | undefined): Uint8Array {
  const n = g.keys.length;
  const isOutput = new Uint8Array(n);
  if (outputs === undefined) {
    for (let t = 0; t < n; t++) if (g.dependentStart[t + 1] === g.dependentStart[t]) isOutput[t] = 1;
  } else {
    for (const key of outputs) {
      const t = g.indexOf(key);
      if (t !== undefined) isOutput[t] = 1;
    }
  }
  return isOutput;
}

/**
 * Where the depth-first walk starts: the outputs, deepest first, ties by the caller's order (or by
 * key when the outputs are the default); then any task nothing depends on that the outputs do not
 * reach, so every task gets a rank.
 */
function dfsRoots(
  g: IndexedGraph,
  height: Int32Array,
  isOutput: Uint8Array,
  outputs: readonly Key[] | undefined,
): number[] {
  const n = g.keys.length;
  const byHeightThenKey = (a: number, b: number) => height[b] - height[a] || compareKeys(g.keys[a], g.keys[b]);
  const roots: number[] = [];
  if (outputs !== undefined) {
    const listed = new Uint8Array(n);
    for (const key of outputs) {
      const t = g.indexOf(key);
      if (t !== undefined && !listed[t]) {
        listed[t] = 1;
        roots.push(t);
      }
    }
    // Array.prototype.sort is stable, so equal heights keep the caller's order.
    roots.sort((a, b) => height[b] - height[a]);
  }
  const sinks: number[] = [];
  for (let t = 0; t < n; t++) {
    if (g.dependentStart[t + 1] === g.dependentStart[t] && (outputs === undefined || !isOutput[t])) sinks.push(t);
  }
  sinks.sort(byHeightThenKey);
  // Sinks the listed outputs already cover are skipped by the walk itself.
  for (const s of sinks) roots.push(s);
  return roots;
}

/**
 * Depth-first post-order from `roots`, dependencies longest-path-first (ties by argument order), as
 * an explicit stack so a 100,000-task chain cannot overflow the call stack.
 */
function staticRank(g: IndexedGraph, children: Int32Array, roots: readonly number[]): Int32Array {
  const n = g.keys.length;
  const rank = new Int32Array(n);
  const visited = new Uint8Array(n);
  const stackTask = new Int32Array(n);
  const stackNext = new Int32Array(n);
  let next = 0;
  for (const root of roots) {
    if (visited[root]) continue;
    visited[root] = 1;
    let top = 0;
    stackTask[0] = root;
    stackNext[0] = g.depStart[root];
    while (top >= 0) {
      const t = stackTask[top];
      const e = stackNext[top];
      if (e < g.depStart[t + 1]) {
        stackNext[top] = e + 1;
        const d = children[e];
        if (!visited[d]) {
          visited[d] = 1;
          top++;
          stackTask[top] = d;
          stackNext[top] = g.depStart[d];
        }
      } else {
        rank[t] = next++;
        top--;
      }
    }
  }
  return rank;
}

/** A copy of `g.deps` with each task's dependencies ordered by height, highest first, stably. */
function sortedByHeight(g: IndexedGraph, height: Int32Array): Int32Array {
  const children = g.deps.slice();
  const n = g.keys.length;
  for (let t = 0; t < n; t++) {
    const lo = g.depStart[t];
    const hi = g.depStart[t + 1];
    if (hi - lo < 2) continue;
    if (hi - lo <= 16) {
      // Insertion sort: stable, and faster than a comparator sort for the usual handful of deps.
      for (let i = lo + 1; i < hi; i++) {
        const c = children[i];
        let j = i - 1;
        while (j >= lo && height[children[j]] < height[c]) {
          children[j + 1] = children[j];
          j--;
        }
        children[j + 1] = c;
      }
    } else {
      const part = Array.from(children.subarray(lo, hi)).sort((a, b) => height[b] - height[a]);
      children.set(part, lo);
    }
  }
  return children;
}

/**
 * Serial execution, choosing at every step by the first rule that applies:
 *
 * 1. a ready task that frees inputs: most inputs freed, then lowest rank;
 * 2. a step towards the nearest "freeing" task: among tasks not yet ready that are the last reader
 *    of some held result, the one missing the fewest direct dependencies (then lowest rank); walk
 *    down its unfinished dependencies, critical path first, to a ready one and run that;
 * 3. the lowest-ranked task not yet run.
 *
 * Returns the tasks in run order.
 */
function simulateRun(g: IndexedGraph, rank: Int32Array, children: Int32Array, isOutput: Uint8Array): Int32Array {
  const n = g.keys.length;
  const byRank = new Int32Array(n);
  for (let t = 0; t < n; t++) byRank[rank[t]] = t;

  // Readers that have not run yet; an output counts one more, a reader that never comes, so it is
  // never freed.
  const remaining = new Int32Array(n);
  // Dependencies that have not run yet; 0 means ready.
  const missing = new Int32Array(n);
  for (let t = 0; t < n; t++) {
    remaining[t] = g.dependentStart[t + 1] - g.dependentStart[t] + isOutput[t];
    missing[t] = g.depStart[t + 1] - g.depStart[t];
  }
  const done = new Uint8Array(n);
  // For ready tasks only: how many inputs running it would free.
  const frees = new Int32Array(n);
  // Set once a task is the last reader of a held result; it stays so until it runs.
  const lastReader = new Uint8Array(n);
  // Per task, the first of its `children` that may not have run; only ever moves forward, so the
  // walks of rule 2 cost amortized O(edges) in scanning.
  const childCursor = g.depStart.slice(0, n);

  // Keys only improve while a task waits (frees grows, missing shrinks), so instead of a
  // decrease-key each change pushes a fresh entry, and entries whose stamp no longer matches the
  // task are dropped when they reach the top. `freeing` is keyed by (n - frees, rank), so more
  // frees come first; `nearlyFreeing` by (missing, rank). Capacities bound the pushes: for
  // `freeing`, one per task becoming ready plus one per result reaching its last reader; for
  // `nearlyFreeing`, one per value of `missing` per task, at most one per edge.
  const freeing = new RankHeap(2 * n + 1, n);
  const nearlyFreeing = new RankHeap(g.deps.length + 1, n);

  // The `missing` a task was last pushed to `nearlyFreeing` with, so each value is pushed once.
  const queuedMissing = new Int32Array(n).fill(-1);
  const queueNearlyFreeing = (u: number): void => {
    if (queuedMissing[u] === missing[u]) return;
    queuedMissing[u] = missing[u];
    nearlyFreeing.push(missing[u], rank[u]);
  };

  const runOrder = new Int32Array(n);
  let cursor = 0;
  for (let step = 0; step < n; step++) {
    let t = -1;
    while (freeing.size > 0 && t < 0) {
      const u = byRank[freeing.topRank];
      if (!done[u] && n - freeing.topStamp === frees[u]) t = u;
      freeing.pop();
    }
    if (t < 0) {
      while (nearlyFreeing.size > 0) {
        const u = byRank[nearlyFreeing.topRank];
        // A valid top stays in the heap: it remains the target, step after step, until it becomes
        // ready and rule 1 takes it.
        if (missing[u] > 0 && nearlyFreeing.topStamp === missing[u]) break;
        nearlyFreeing.pop();
      }
      if (nearlyFreeing.size > 0) {
        // Down from the target through its first unfinished dependency, deepest first as in the
        // static rank, to a task whose dependencies are all done.
        let v = byRank[nearlyFreeing.topRank];
        for (;;) {
          const end = g.depStart[v + 1];
          let e = childCursor[v];
          while (e < end && done[children[e]]) e++;
          childCursor[v] = e;
          if (e === end) break;
          v = children[e];
        }
        t = v;
      } else {
        // Rank is a topological order and everything with a lower rank has run, so this task's
        // dependencies are done, whatever the rules above ran out of rank order.
        while (done[byRank[cursor]]) cursor++;
        t = byRank[cursor];
      }
    }
    done[t] = 1;
    runOrder[step] = t;

    for (let e = g.depStart[t]; e < g.depStart[t + 1]; e++) {
      const d = g.deps[e];
      if (--remaining[d] !== 1 || isOutput[d]) continue;
      // d is down to its last reader u: if u is ready, running it now frees one more input.
      for (let f = g.dependentStart[d]; f < g.dependentStart[d + 1]; f++) {
        const u = g.dependents[f];
        if (done[u]) continue;
        if (missing[u] === 0) {
          frees[u]++;
          freeing.push(n - frees[u], rank[u]);
        } else {
          lastReader[u] = 1;
          queueNearlyFreeing(u);
        }
        break;
      }
    }
    // A result with a single reader has its last reader from the start; the loop below queues it
    // (or, if this makes it ready, counts t among the inputs it frees).
    if (remaining[t] === 1 && !isOutput[t]) lastReader[g.dependents[g.dependentStart[t]]] = 1;
    for (let e = g.dependentStart[t]; e < g.dependentStart[t + 1]; e++) {
      const u = g.dependents[e];
      if (--missing[u] !== 0) {
        if (lastReader[u]) queueNearlyFreeing(u);
        continue;
      }
      // Counted afresh on becoming ready; from then on the loop over inputs above keeps it current.
      let k = 0;
      for (let f = g.depStart[u]; f < g.depStart[u + 1]; f++) {
        const d = g.deps[f];
        if (remaining[d] === 1 && !isOutput[d]) k++;
      }
      frees[u] = k;
      if (k > 0) freeing.push(n - k, rank[u]);
    }
  }
  return runOrder;
}

/**
 * A binary min-heap of (stamp, rank) pairs, ordered by stamp and then rank. Each pair is packed into
 * one float, `stamp * rankBound + rank`, exact while below 2^53, so the heap is a single typed array
 * and a comparison is one float compare. The stamp is the value the caller's ordering was computed
 * from, which lets it tell a stale entry from a current one.
 */
class RankHeap {
  size = 0;
  private readonly keys: Float64Array;

  constructor(
    capacity: number,
    /** Ranks are below this. */
    private readonly rankBound: number,
  ) {
    this.keys = new Float64Array(capacity);
  }

  get topStamp(): number {
    const stamp = Math.floor(this.keys[0] / this.rankBound);
    // The quotient can round up to the next integer; the product and difference are exact.
    return this.keys[0] - stamp * this.rankBound < 0 ? stamp - 1 : stamp;
  }

  get topRank(): number {
    // Not `key % rankBound`: the float remainder is exact but several times slower.
    return this.keys[0] - this.topStamp * this.rankBound;
  }

  push(stamp: number, rank: number): void {
    const key = stamp * this.rankBound + rank;
    const keys = this.keys;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent] <= key) break;
      keys[i] = keys[parent];
      i = parent;
    }
    keys[i] = key;
  }

  pop(): void {
    const keys = this.keys;
    const last = --this.size;
    if (last <= 0) return;
    const key = keys[last];
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= last) break;
      if (child + 1 < last && keys[child + 1] < keys[child]) child++;
      if (keys[child] >= key) break;
      keys[i] = keys[child];
      i = child;
    }
    keys[i] = key;
  }
}

/**
 * Orders keys so that numbered siblings sort by number ("x-2" before "x-10"), matching how Dask
 * compares its tuple keys; otherwise by UTF-16 code units. Used only to break ties.
 */
function compareKeys(a: Key, b: Key): number {
  const la = a.length;
  const lb = b.length;
  let i = 0;
  let j = 0;
  while (i < la && j < lb) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (isDigit(ca) && isDigit(cb)) {
      // Compare the two digit runs as numbers: skip leading zeros, then longer is larger, then the
      // first differing digit decides.
      let si = i;
      let sj = j;
      while (si < la && a.charCodeAt(si) === 48) si++;
      while (sj < lb && b.charCodeAt(sj) === 48) sj++;
      let ei = si;
      let ej = sj;
      while (ei < la && isDigit(a.charCodeAt(ei))) ei++;
      while (ej < lb && isDigit(b.charCodeAt(ej))) ej++;
      if (ei - si !== ej - sj) return ei - si - (ej - sj);
      for (let k = 0; k < ei - si; k++) {
        const diff = a.charCodeAt(si + k) - b.charCodeAt(sj + k);
        if (diff !== 0) return diff;
      }
      i = ei;
      j = ej;
    } else {
      if (ca !== cb) return ca - cb;
      i++;
      j++;
    }
  }
  if (la - i !== lb - j) return la - i - (lb - j);
  // Equal as numbers but spelled differently ("x-01" vs "x-1"): fall back so the order is total.
  return a < b ? -1 : a > b ? 1 : 0;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
