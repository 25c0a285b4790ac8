/**
 * Static priorities for the tasks of a graph: the order a single thread should run them in so that
 * few results are held in memory at once.
 *
 * Memory, not speed, is what a bad order costs. A breadth-first walk of a reduction over n inputs
 * holds all n inputs before the first sum runs; a depth-first walk holds about log n. The scheduler
 * uses these numbers to choose among ready tasks (lower first), and to decide which queued tasks to
 * hand to workers, so a good static order keeps a whole cluster's memory down, not only one thread's.
 *
 * The algorithm has two passes, both linear apart from sorting each task's dependencies:
 *
 * 1. **Static rank.** A depth-first post-order from the outputs. At each task its dependencies are
 *    visited longest-path-to-a-leaf first (the critical path), ties by argument order. Post-order
 *    finishes one subtree before it starts the next, which is what keeps a reduction at O(log n).
 * 2. **Simulated run.** A serial execution in which, at every step, a ready task that lets an input
 *    be freed (it is the last task still needing that input) runs first, most inputs freed first;
 *    when there is none, the task with the lowest static rank runs. Running a task that frees an
 *    input never raises the count of held results (it adds one and frees at least one), so it is a
 *    safe greedy step; it is what fixes the cases a single DFS gets wrong, such as several
 *    reductions sharing their inputs (the DFS of the first reduction would hold every shared input
 *    until the second reduction is reached). A ready task that frees nothing waits for its static
 *    turn, so an input with many dependents does not trigger all of them at once.
 *
 * The priority of a task is its step in the simulated run.
 *
 * @module
 */

import { GraphError } from "./graph-error.js";
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
 * `outputs` that are not keys of `graph`. Runs in about linear time, without recursion, so a chain of
 * a million tasks is fine.
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
 * // "ab" runs before "c" is loaded: at most three results are ever held, not four.
 * ```
 */
export function orderGraph(graph: ReadonlyGraph, outputs?: readonly Key[]): Map<Key, number> {
  const g = indexGraph(graph);
  const n = g.keys.length;
  const result = new Map<Key, number>();
  if (n === 0) return result;

  const height = heightsOrThrow(g);
  const isOutput = outputFlags(g, outputs);
  const roots = dfsRoots(g, height, isOutput, outputs);
  const rank = staticRank(g, height, roots);
  const runOrder = simulateRun(g, rank, isOutput);

  for (let step = 0; step < n; step++) result.set(g.keys[runOrder[step]], step);
  return result;
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
 * simulatePeakMemory(graph, orderGraph(graph)); // 3 for the graph in orderGraph's example
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

/**
 * A graph as integer indices: dependencies and dependents in compressed sparse row form (the
 * neighbours of task `i` are `deps[depStart[i] .. depStart[i + 1])`). Typed arrays keep the hot loops
 * free of hashing and allocation.
 */
interface IndexedGraph {
  readonly keys: readonly Key[];
  readonly index: ReadonlyMap<Key, number>;
  readonly depStart: Int32Array;
  /** In argument order; repeats and keys outside the graph removed. */
  readonly deps: Int32Array;
  readonly dependentStart: Int32Array;
  readonly dependents: Int32Array;
}

function indexGraph(graph: ReadonlyGraph): IndexedGraph {
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
  const deps = Int32Array.from(depList);

  const dependentStart = new Int32Array(n + 1);
  for (let e = 0; e < deps.length; e++) dependentStart[deps[e] + 1]++;
  for (let j = 0; j < n; j++) dependentStart[j + 1] += dependentStart[j];
  const dependents = new Int32Array(deps.length);
  const fill = dependentStart.slice(0, n);
  for (let t = 0; t < n; t++) {
    for (let e = depStart[t]; e < depStart[t + 1]; e++) dependents[fill[deps[e]]++] = t;
  }
  return { keys, index, depStart, deps, dependentStart, dependents };
}

/**
 * The number of tasks on the longest dependency path from each task down to a leaf (a leaf is 1),
 * by Kahn's topological sort, which also detects cycles without recursion.
 */
function heightsOrThrow(g: IndexedGraph): Int32Array {
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

function outputFlags(g: IndexedGraph, outputs: readonly Key[] | undefined): Uint8Array {
  const n = g.keys.length;
  const isOutput = new Uint8Array(n);
  if (outputs === undefined) {
    for (let t = 0; t < n; t++) if (g.dependentStart[t + 1] === g.dependentStart[t]) isOutput[t] = 1;
  } else {
    for (const key of outputs) {
      const t = g.index.get(key);
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
      const t = g.index.get(key);
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
function staticRank(g: IndexedGraph, height: Int32Array, roots: readonly number[]): Int32Array {
  const n = g.keys.length;
  const children = sortedByHeight(g, height);
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
 * Serial execution: a ready task that frees inputs first (most freed, then lowest rank), else the
 * lowest-ranked task not yet run. Returns the tasks in run order.
 *
 * The fallback needs no queue: rank is itself a topological order, and everything run so far is a
 * rank prefix plus some extra tasks, so the lowest-ranked task not yet run always has its
 * dependencies done. Only "frees an input" changes as tasks run, so only those tasks sit in a heap.
 */
function simulateRun(g: IndexedGraph, rank: Int32Array, isOutput: Uint8Array): Int32Array {
  const n = g.keys.length;
  const byRank = new Int32Array(n);
  for (let t = 0; t < n; t++) byRank[rank[t]] = t;

  // Dependents that have not run yet; an output counts one more, a reader that never comes, so it
  // is never freed.
  const remaining = new Int32Array(n);
  const missing = new Int32Array(n);
  for (let t = 0; t < n; t++) {
    remaining[t] = g.dependentStart[t + 1] - g.dependentStart[t] + isOutput[t];
    missing[t] = g.depStart[t + 1] - g.depStart[t];
  }
  const frees = new Int32Array(n);
  const done = new Uint8Array(n);
  // Each task enters the heap when it becomes ready and again each time its `frees` grows (at most
  // once per dependency), so 2n entries always suffice.
  const heap = new FreeingHeap(2 * n + 1, n);

  const runOrder = new Int32Array(n);
  let cursor = 0;
  for (let step = 0; step < n; step++) {
    let t = -1;
    while (heap.size > 0) {
      const entry = heap.pop();
      // Stale entries (task already run, or pushed before its `frees` grew) are dropped here.
      if (!done[entry.task] && entry.frees === frees[entry.task]) {
        t = entry.task;
        break;
      }
    }
    if (t < 0) {
      while (done[byRank[cursor]]) cursor++;
      t = byRank[cursor];
    }
    done[t] = 1;
    runOrder[step] = t;

    for (let e = g.depStart[t]; e < g.depStart[t + 1]; e++) {
      const d = g.deps[e];
      if (--remaining[d] !== 1 || isOutput[d]) continue;
      // Exactly one reader of d is left: running it would free d. Tell it, if it is ready; if not,
      // it counts d itself when it becomes ready.
      for (let f = g.dependentStart[d]; f < g.dependentStart[d + 1]; f++) {
        const u = g.dependents[f];
        if (done[u]) continue;
        if (missing[u] === 0) heap.push(u, ++frees[u], rank[u]);
        break;
      }
    }
    for (let e = g.dependentStart[t]; e < g.dependentStart[t + 1]; e++) {
      const u = g.dependents[e];
      if (--missing[u] !== 0) continue;
      let k = 0;
      for (let f = g.depStart[u]; f < g.depStart[u + 1]; f++) {
        const d = g.deps[f];
        if (remaining[d] === 1 && !isOutput[d]) k++;
      }
      frees[u] = k;
      if (k > 0) heap.push(u, k, rank[u]);
    }
  }
  return runOrder;
}

/**
 * A binary min-heap of tasks ordered by (inputs freed, descending; static rank, ascending), packed
 * into one number per entry so comparisons are a single float compare.
 */
class FreeingHeap {
  size = 0;
  private readonly order: Float64Array;
  private readonly tasks: Int32Array;
  private readonly freed: Int32Array;
  private readonly popped = { task: 0, frees: 0 };

  constructor(
    capacity: number,
    /** Ranks are below this, so `rank - frees * rankBound` sorts by frees first. */
    private readonly rankBound: number,
  ) {
    this.order = new Float64Array(capacity);
    this.tasks = new Int32Array(capacity);
    this.freed = new Int32Array(capacity);
  }

  push(task: number, frees: number, rank: number): void {
    const value = rank - frees * this.rankBound;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.order[parent] <= value) break;
      this.move(parent, i);
      i = parent;
    }
    this.order[i] = value;
    this.tasks[i] = task;
    this.freed[i] = frees;
  }

  /** The best entry; the returned object is reused by the next call. */
  pop(): { task: number; frees: number } {
    this.popped.task = this.tasks[0];
    this.popped.frees = this.freed[0];
    const last = --this.size;
    if (last > 0) {
      const value = this.order[last];
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= last) break;
        if (child + 1 < last && this.order[child + 1] < this.order[child]) child++;
        if (this.order[child] >= value) break;
        this.move(child, i);
        i = child;
      }
      this.move(last, i);
    }
    return this.popped;
  }

  private move(from: number, to: number): void {
    this.order[to] = this.order[from];
    this.tasks[to] = this.tasks[from];
    this.freed[to] = this.freed[from];
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
