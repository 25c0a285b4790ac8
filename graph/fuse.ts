/**
 * Linear fusion: a chain of tasks that can only ever run one after another becomes one task, so the
 * scheduler pays its per-task cost (a queue entry, a worker round trip, a stored result) once per
 * chain instead of once per link, and intermediate results never leave the executing thread.
 *
 * Only true chains are fused. A task that feeds a dependent with other inputs (a tree reduction's
 * leaf) stays separate: inlining it would make one task compute work that could run in parallel.
 */

import {
  Call,
  isPlainObject,
  Ref,
  replaceRefsInArray,
  type Graph,
  type Key,
  type ReadonlyGraph,
  type TaskSpec,
} from "./task-spec.js";

/** Options of {@link fuseLinearChains}. */
export interface FuseOptions {
  /**
   * Most tasks of the input graph fused into one task; a longer chain is cut into consecutive pieces
   * of at most this many tasks, each keeping its last task's key. `1` turns fusion off; `Infinity`
   * fuses whole chains.
   *
   * Default {@link DEFAULT_MAX_CHAIN_LENGTH} (64). Dask's `fuse_linear` has no limit, but a fused
   * task nests one `Call` per fused task, and the code that walks arguments later (the wire codec,
   * the executor evaluating `Call`s, `collectRefs`) may recurse on that depth; a bound keeps a
   * 100,000-step chain from becoming a 100,000-deep value. A bound also caps what a retry of the
   * fused task recomputes. At 64 the per-task overhead of a chain is already cut by 98%.
   */
  readonly maxChainLength?: number;
}

/** The default {@link FuseOptions.maxChainLength}. */
export const DEFAULT_MAX_CHAIN_LENGTH = 64;

/**
 * A graph in which every linear chain is fused into one task; `graph` is not changed, and is
 * returned itself when it has no chain to fuse (so a caller must not mutate the result).
 *
 * Task `t` is fused into its dependent `d` when all of these hold:
 * - `t` is not in `outputs` (its result must stay addressable by its key);
 * - `d` is the only task in the graph that depends on `t`;
 * - `d` depends on nothing but `t`, and refers to it once (inlining a task referred to twice would
 *   compute it twice);
 * - neither has a `timeoutMs`: a timeout bounds one task's own run, which a fused task would not
 *   have any more.
 *
 * The fused task keeps the key, function and `priority` of the chain's last task; its `retries` is
 * the largest of the chain's, and its `deps` are the first task's. Upstream tasks become {@link Call}
 * nodes inlined where their {@link Ref} stood: `a = inc(1); b = inc(a); c = double(b)` becomes
 * `c = double(Call(inc, [Call(inc, [1])]))`. Tasks outside chains keep their spec objects.
 *
 * Expects an acyclic graph (run `validateGraph` first); tasks on a cycle are left unfused.
 * Iterative and linear in the size of the graph.
 *
 * @example
 * ```ts
 * const fused = fuseLinearChains(graph, ["c"]);
 * fused.get("c")?.args; // [Call { fn: "inc", args: [Call { fn: "inc", args: [1] }] }]
 * ```
 */
export function fuseLinearChains(graph: ReadonlyGraph, outputs: readonly Key[], options: FuseOptions = {}): ReadonlyGraph {
  const maxChainLength = options.maxChainLength ?? DEFAULT_MAX_CHAIN_LENGTH;
  if (!(maxChainLength >= 1) || (!Number.isInteger(maxChainLength) && maxChainLength !== Infinity)) {
    throw new RangeError(`maxChainLength must be a whole number of at least 1, or Infinity; got ${maxChainLength}`);
  }
  if (maxChainLength === 1) return graph;

  const next = findLinks(graph, new Set(outputs));
  if (next.size === 0) return graph;
  const hasPrevious = new Set(next.values());

  const fused: Graph = new Map();
  const absorbed = new Set<Key>();
  const chain: TaskSpec[] = [];
  for (const [key, spec] of graph) {
    if (hasPrevious.has(key)) continue;
    if (!next.has(key)) {
      fused.set(key, spec);
      continue;
    }
    // A head of a chain: links form disjoint paths, so walking from a head always ends.
    chain.length = 0;
    for (let k: Key | undefined = key; k !== undefined; k = next.get(k)) chain.push(graph.get(k)!);
    for (let start = 0; start < chain.length; start += maxChainLength) {
      const end = Math.min(start + maxChainLength, chain.length);
      const piece = fusePiece(chain, start, end);
      fused.set(piece.key, piece);
      for (let i = start; i < end - 1; i++) absorbed.add(chain[i].key);
    }
  }
  // Links closing a loop have no head; such tasks are left as they are rather than lost.
  if (fused.size + absorbed.size < graph.size) {
    for (const [key, spec] of graph) {
      if (!fused.has(key) && !absorbed.has(key)) fused.set(key, spec);
    }
  }
  return fused;
}

/** Maps each task that will be fused into its dependent to that dependent. */
function findLinks(graph: ReadonlyGraph, outputs: ReadonlySet<Key>): Map<Key, Key> {
  // Only a dependent with a single dependency can absorb a task, so candidates come from those, and
  // the edges of other tasks are only looked at when there are candidates. A tree reduction (no
  // single-input tasks above its leaves) then costs one pass that touches no map.
  const candidates = new Map<Key, Key | null>();
  for (const [key, spec] of graph) {
    if (spec.deps.length !== 1) continue;
    const dep = spec.deps[0];
    // null marks a task with a second dependent, which cannot be inlined into either.
    candidates.set(dep, candidates.has(dep) ? null : key);
  }
  if (candidates.size === 0) return new Map();
  for (const spec of graph.values()) {
    if (spec.deps.length < 2) continue;
    for (const dep of spec.deps) if (candidates.has(dep)) candidates.set(dep, null);
  }
  const next = new Map<Key, Key>();
  for (const [key, dependentKey] of candidates) {
    if (dependentKey === null || dependentKey === key || outputs.has(key) || !graph.has(key)) continue;
    const dependent = graph.get(dependentKey)!;
    if (dependent.timeoutMs !== undefined || graph.get(key)!.timeoutMs !== undefined) continue;
    if (countRefs(dependent.args, key) !== 1) continue;
    next.set(key, dependentKey);
  }
  return next;
}

/** How many times `args` refer to `key`, counting no further than 2. */
function countRefs(args: readonly unknown[], key: Key): number {
  let count = 0;
  const pending: unknown[] = [args];
  while (pending.length > 0) {
    const value = pending.pop();
    if (value === null || typeof value !== "object") continue;
    if (value instanceof Ref) {
      if (value.key === key && ++count > 1) return count;
    } else if (value instanceof Call) {
      pending.push(value.args);
    } else if (Array.isArray(value)) {
      for (const item of value) if (item !== null && typeof item === "object") pending.push(item);
    } else if (isPlainObject(value)) {
      for (const k in value) pending.push(value[k]);
    }
  }
  return count;
}

/** One task computing `chain[start..end)`, keyed by its last task. */
function fusePiece(chain: readonly TaskSpec[], start: number, end: number): TaskSpec {
  const first = chain[start];
  const last = chain[end - 1];
  if (start === end - 1) return last;
  let upstream = new Call(first.fn, first.args);
  let retries = first.retries ?? 0;
  for (let i = start + 1; i < end; i++) {
    const spec = chain[i];
    retries = Math.max(retries, spec.retries ?? 0);
    // The previous task is this one's only dependency, so every Ref here points at it.
    const inline = upstream;
    const args = replaceRefsInArray(spec.args, () => inline);
    if (i === end - 1) return fusedSpec(last, args, first.deps, retries);
    upstream = new Call(spec.fn, args);
  }
  return last; // not reached: the loop returns at i === end - 1
}

function fusedSpec(last: TaskSpec, args: readonly unknown[], deps: readonly Key[], retries: number): TaskSpec {
  const spec: { -readonly [K in keyof TaskSpec]: TaskSpec[K] } = { key: last.key, fn: last.fn, args, deps };
  // Same shape as taskSpec() makes: zero-valued options are left out.
  if (retries !== 0) spec.retries = retries;
  if ((last.priority ?? 0) !== 0) spec.priority = last.priority;
  return spec;
}
