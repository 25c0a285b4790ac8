/**
 * Checks that a graph can run: every task's key matches its map key, every dependency exists, every
 * function is known, and there is no cycle. Runs on every compute and on every graph the HTTP API
 * receives, so it is linear in the graph's size and never recurses on the graph's depth: a
 * 100,000-task chain must not overflow the stack.
 */

import { keyTextProblem } from "./key-text.js";
import { checkSerializable } from "./wire-form.js";
import { GraphError } from "./graph-error.js";
import { Call, isPlainObject, Ref, type Key, type ReadonlyGraph, type TaskSpec } from "./task-spec.js";

/** Options of {@link validateGraph}. */
export interface ValidateOptions {
  /**
   * Says whether a function name is registered. When given, every task's `fn` and every `fn` of a
   * {@link Call} nested in its arguments must pass. Default: function names are not checked (the
   * local executor can run closures the graph cannot see).
   */
  readonly isKnownFunction?: (name: string) => boolean;
  /**
   * Keys that may be depended on without being in the graph: results already held elsewhere (in a
   * worker's memory, from an earlier compute). Default: none, every dependency must be in the graph.
   */
  readonly external?: ReadonlySet<Key> | ((key: Key) => boolean);
  /**
   * Check that every task's arguments can go on the wire (see `checkSerializable`): required before
   * a graph is sent to other threads or processes. Default `false`, since the local executor can run
   * tasks whose arguments hold functions or class instances.
   */
  readonly serializable?: boolean;
  /**
   * The message of the error for a function `isKnownFunction` rejects, given the task's key and the
   * function: where the function could be found, and how. Default: `task "k" calls unknown function "f"`.
   */
  readonly describeUnknownFunction?: (key: Key, fn: string) => string;
}

/**
 * Throws a {@link GraphError} naming the offending key when `graph` cannot run; returns nothing
 * otherwise. The checks:
 *
 * - `"invalid-graph"`: a task's `key` differs from the key it is stored under;
 * - `"invalid-key"`: a key is not text: it holds a lone UTF-16 surrogate (see `keyTextProblem`);
 * - `"unknown-function"`: a task, or a `Call` nested in its arguments, names a function that
 *   `options.isKnownFunction` rejects;
 * - `"unserializable-argument"` (with `options.serializable`): an argument holds a function, a symbol,
 *   a class instance or a cycle, which cannot go on the wire;
 * - `"missing-dependency"`: a task depends on a key that is neither in the graph nor `external`;
 * - `"cycle"`: tasks depend on each other in a loop. The message prints the loop in the direction
 *   data flows (`a -> b` means b reads a's result), closing on its first key, and `keys` lists the
 *   loop's keys once each in that order.
 *
 * Keys and functions are checked first, task by task in insertion order; then a depth-first search
 * from each task in insertion order finds missing dependencies and cycles. A given graph therefore
 * always gets the same error. Linear in the number of tasks plus dependencies (plus the size of
 * the arguments when checking functions); iterative, so a graph's depth cannot overflow the stack.
 *
 * @example
 * ```ts
 * validateGraph(graph, { isKnownFunction: (name) => registry.has(name), external: heldKeys });
 * // GraphError: task "total" depends on "part-3", which is not in the graph
 * ```
 */
export function validateGraph(graph: ReadonlyGraph, options: ValidateOptions = {}): void {
  const isExternal = toPredicate(options.external);
  const isKnownFunction = options.isKnownFunction;
  // Most tasks of a graph call the same few functions; remembering the last one approved skips
  // calling out for them.
  let approved: string | undefined;
  const isKnown =
    isKnownFunction &&
    ((name: string) => {
      if (name === approved) return true;
      if (!isKnownFunction(name)) return false;
      approved = name;
      return true;
    });
  for (const [key, spec] of graph) {
    if (spec.key !== key) {
      throw new GraphError(
        "invalid-graph",
        `task stored under "${key}" has key "${spec.key}"; a task's key must match its place in the graph`,
        [key],
      );
    }
    const problem = keyTextProblem(key);
    if (problem !== undefined) throw new GraphError("invalid-key", `task key ${JSON.stringify(key)} ${problem}`, [key]);
    if (isKnown) {
      const unknown = firstRejectedFunction(spec, isKnown);
      if (unknown !== undefined) {
        const message = options.describeUnknownFunction?.(key, unknown) ?? `task "${key}" calls unknown function "${unknown}"`;
        throw new GraphError("unknown-function", message, [key], unknown);
      }
    }
    if (options.serializable === true) {
      const problem = checkSerializable(spec.args, "args");
      if (problem !== undefined) {
        throw new GraphError("unserializable-argument", `task "${key}" has an argument that cannot be serialized: ${problem}`, [key]);
      }
    }
  }
  const cycle = findCycle(graph, isExternal);
  if (cycle !== undefined) {
    throw new GraphError("cycle", `cycle in graph: ${[...cycle, cycle[0]].join(" -> ")}`, cycle);
  }
}

function toPredicate(external: ValidateOptions["external"]): (key: Key) => boolean {
  if (external === undefined) return () => false;
  if (typeof external === "function") return external;
  return (key) => external.has(key);
}

/**
 * The first function `spec` calls — its own, then those of `Call`s nested in its arguments — that
 * `accepts` rejects; undefined when it accepts them all. Iterative: fused tasks nest one Call per
 * fused task, so argument depth can be as large as a chain is long.
 *
 * @example
 * ```ts
 * firstRejectedFunction(spec, (name) => registry.has(name)); // "my.missing" or undefined
 * ```
 */
export function firstRejectedFunction(spec: TaskSpec, accepts: (name: string) => boolean): string | undefined {
  if (!accepts(spec.fn)) return spec.fn;
  // The stack is only made for arguments that can hold a Call: most are numbers, strings and Refs.
  let pending: unknown[] | undefined;
  for (const arg of spec.args) if (mayHoldCall(arg)) (pending ??= []).push(arg);
  while (pending !== undefined && pending.length > 0) {
    const value = pending.pop();
    if (value instanceof Call) {
      if (!accepts(value.fn)) return value.fn;
      for (const item of value.args) if (mayHoldCall(item)) pending.push(item);
    } else if (Array.isArray(value)) {
      for (const item of value) if (mayHoldCall(item)) pending.push(item);
    } else {
      const object = value as Record<string, unknown>;
      for (const k in object) if (mayHoldCall(object[k])) pending.push(object[k]);
    }
  }
  return undefined;
}

/** Calls live only in Calls, arrays and plain objects; Refs, typed arrays and tables hold none. */
function mayHoldCall(value: unknown): boolean {
  if (value === null || typeof value !== "object" || value instanceof Ref) return false;
  return value instanceof Call || Array.isArray(value) || isPlainObject(value);
}

const ON_PATH = 1;
const DONE = 2;

/**
 * A cycle as keys in data-flow order, or undefined; throws on a missing dependency. Depth-first
 * search along `deps` with an explicit stack; a dependency found on the current path closes a cycle.
 * The search is where each edge gets looked up anyway, so it also checks that dependencies exist.
 */
function findCycle(graph: ReadonlyGraph, isExternal: (key: Key) => boolean): Key[] | undefined {
  // Tasks without dependencies (half of a tree reduction) cannot be on a cycle and never get a
  // state: keeping them out of the map is most of what makes this pass cheap.
  const state = new Map<Key, number>();
  const path: Key[] = [];
  const pathDeps: (readonly Key[])[] = [];
  const nextDep: number[] = [];
  for (const [root, rootSpec] of graph) {
    if (rootSpec.deps.length === 0 || state.has(root)) continue;
    state.set(root, ON_PATH);
    path.push(root);
    pathDeps.push(rootSpec.deps);
    nextDep.push(0);
    while (path.length > 0) {
      const top = path.length - 1;
      const deps = pathDeps[top];
      if (nextDep[top] === deps.length) {
        state.set(path[top], DONE);
        path.pop();
        pathDeps.pop();
        nextDep.pop();
        continue;
      }
      const dep = deps[nextDep[top]++];
      const depState = state.get(dep);
      if (depState === DONE) continue;
      if (depState === ON_PATH) return cycleFromPath(path, dep);
      const depSpec = graph.get(dep);
      if (depSpec === undefined) {
        if (isExternal(dep)) continue;
        const key = path[top];
        throw new GraphError(
          "missing-dependency",
          `task "${key}" depends on "${dep}", which is not in the graph`,
          [key, dep],
        );
      }
      if (depSpec.deps.length === 0) continue;
      state.set(dep, ON_PATH);
      path.push(dep);
      pathDeps.push(depSpec.deps);
      nextDep.push(0);
    }
  }
  return undefined;
}

/**
 * `path` runs from dependents to dependencies and its last key depends on `closing`; reversing the
 * part after `closing` gives data-flow order. Starting at `closing`, the key the search met first,
 * keeps the message stable for a given graph.
 */
function cycleFromPath(path: readonly Key[], closing: Key): Key[] {
  const start = path.lastIndexOf(closing);
  const cycle = [closing];
  for (let i = path.length - 1; i > start; i--) cycle.push(path[i]);
  return cycle;
}
