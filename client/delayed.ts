import { randomUUID } from "node:crypto";
import { GraphError } from "../graph/graph-error.js";
import { renderSpec, sameSpec } from "../graph/merge.js";
import type { GraphIndex } from "../graph/graph-index.js";
import { Call, isPlainObject, isTimeoutMs, MAX_TIMEOUT_MS, Ref, userPriorityProblem, type Graph, type Key, type TaskSpec } from "../graph/task-spec.js";
import { tokenize } from "../graph/tokenize.js";
import { GETATTR, GETITEM, IDENTITY } from "../protocol/builtin-task-names.js";
import { registerTask } from "../protocol/task-registry.js";
import { Future } from "./future.js";
import { isTaskFunction } from "./task.js";

/**
 * A value not computed yet: the result of a task, and through its inputs the whole graph that
 * produces it. Build one with {@link delayed}; run it with `compute`.
 *
 * Property and index access build further tasks: `.get("name")` and `.at(i)` (methods rather than
 * `d.name` and `d[i]`, so that a Delayed is never mistaken for a promise or an array by code that
 * probes its properties, and so that TypeScript checks the name).
 *
 * A Delayed is itself the {@link TaskSpec} of its task (`spec` returns it), so a graph of thousands of
 * tasks does not keep a second object per task.
 */
export class Delayed<T = unknown> implements TaskSpec {
  /** Brand for the type parameter. */
  declare readonly __type?: T;

  /** @internal Use {@link delayed}. */
  constructor(
    /** The key of the task computing this value. */
    readonly key: Key,
    /** The registered function the task calls (empty for a held value). */
    readonly fn: string,
    /** The task's arguments, delayed inputs replaced by `Ref`s. */
    readonly args: readonly unknown[],
    /** Keys of `inputs`, in the same order. */
    readonly deps: readonly Key[],
    /** Delayed values this task reads. */
    readonly inputs: readonly Delayed[],
    readonly retries: number | undefined,
    readonly priority: number | undefined,
    /** @internal True for a value already held by a scheduler (from `persist`), which has no task of its own. */
    readonly held: boolean,
    /** Longest the task may run, in ms; undefined for none (see `TaskOptions.timeoutMs`). */
    readonly timeoutMs: number | undefined = undefined,
  ) {}

  /** @internal Which `collectIndexedGraph` walk last reached this value, and its position there. */
  collection = 0;
  /** @internal */
  position = -1;

  /** The task, or undefined for a value already held by a scheduler. */
  get spec(): TaskSpec | undefined {
    return this.held ? undefined : this;
  }

  /** A task reading property `name` of this value. */
  get<K extends keyof T & string>(name: K): Delayed<T[K]> {
    return call(GETATTR, [this, name], {}) as Delayed<T[K]>;
  }

  /** A task reading element `index` of this value (an array, typed array or tuple); negative counts from the end. */
  at<I extends number>(index: I): Delayed<T extends readonly unknown[] ? T[I] : unknown> {
    return call(GETITEM, [this, index], {}) as Delayed<T extends readonly unknown[] ? T[I] : unknown>;
  }

  /** Computes this value on the default client (see `configure`). */
  async compute(): Promise<T> {
    const { compute } = await import("./default-client.js");
    const [value] = await compute(this);
    return value as T;
  }

  /** Computes this value on the default client and keeps the result there (see `Client.persist`). */
  async persist(): Promise<Delayed<T>> {
    const { persist } = await import("./default-client.js");
    const [held] = await persist(this);
    return held as Delayed<T>;
  }

  /** The graph of every task this value needs, itself included. */
  graph(): Graph {
    return collectGraph([this]);
  }

  toString(): string {
    return `Delayed(${this.key})`;
  }
}

/** Options of {@link delayed}. */
export interface DelayedOptions {
  /**
   * Pure tasks get a key hashed from function and arguments, so building the same call twice gives one
   * task, computed once. Impure tasks (`pure: false`) get a fresh key per call: use it for functions
   * with side effects or randomness. Default `true`.
   */
  readonly pure?: boolean;
  /** An explicit key for the task (one call only, since keys are unique). Default: derived as above. */
  readonly key?: Key;
  /** Reruns when the function throws. Default 0. */
  readonly retries?: number;
  /**
   * Higher runs first among ready tasks. An integer from `MIN_USER_PRIORITY` to `MAX_USER_PRIORITY`
   * (±1,000,000), the range a worker's queue orders exactly. Default 0.
   */
  readonly priority?: number;
  /**
   * Longest the task may run, in ms: then it fails with a `TaskTimeoutError` and its worker thread is
   * replaced (see `TaskOptions.timeoutMs`). A whole number from 1 to 2,147,483,647. Default: the
   * computation's (`ClientOptions.taskTimeoutMs`), else none.
   */
  readonly timeoutMs?: number;
}

/** A value, or a delayed value, or arrays and plain objects holding either: what delayed calls accept. */
export type Lazy<T> =
  | T
  | Delayed<T>
  | Future<T>
  | (T extends readonly (infer E)[] ? readonly Lazy<E>[] : never)
  | (T extends Record<string, unknown> ? { readonly [K in keyof T]: Lazy<T[K]> } : never);

type LazyArgs<A extends unknown[]> = { [I in keyof A]: Lazy<A[I]> };

/** Delayed values of a fixed-length result, one per element. */
export type DelayedTuple<R extends readonly unknown[]> = { readonly [I in keyof R]: Delayed<R[I]> };

/**
 * Wraps a function so that calling it builds a task instead of running it; or wraps a value so that it
 * becomes a task of its own.
 *
 * Functions registered with `task()` run on every executor. A plain closure also works but runs only on
 * the calling thread (it cannot be sent to worker threads or processes).
 *
 * With `nout`, the call returns that many delayed values, one per element of the function's result.
 *
 * @example
 * ```ts
 * const inc = task("inc", (x: number) => x + 1);
 * const add = task("add", (a: number, b: number) => a + b);
 * const total = delayed(add)(delayed(inc)(1), delayed(inc)(2)); // nothing has run yet
 * await total.compute(); // 5
 * const [q, r] = delayed(divmod, { nout: 2 })(7, 2);
 * ```
 */
export function delayed<A extends unknown[], R extends readonly unknown[]>(
  fn: (...args: A) => R,
  options: DelayedOptions & { readonly nout: number },
): (...args: LazyArgs<A>) => DelayedTuple<R>;
export function delayed<A extends unknown[], R>(
  fn: (...args: A) => R,
  options?: DelayedOptions,
): (...args: LazyArgs<A>) => Delayed<Awaited<R>>;
export function delayed<T>(value: Lazy<T>, options?: DelayedOptions): Delayed<T>;
export function delayed(target: unknown, options: DelayedOptions & { readonly nout?: number } = {}): unknown {
  if (typeof target !== "function") {
    if (target instanceof Delayed) return target;
    return call(IDENTITY, [target], options);
  }
  const name = functionName(target as (...args: never[]) => unknown);
  const { nout } = options;
  if (nout !== undefined && (!Number.isInteger(nout) || nout < 0)) {
    throw new RangeError(`nout must be a whole number >= 0, got ${nout}`);
  }
  return (...args: unknown[]) => {
    const result = call(name, args, options);
    return nout === undefined ? result : Array.from({ length: nout }, (_, i) => result.at(i));
  };
}

/** True when `value` is a {@link Delayed}. */
export function isDelayed(value: unknown): value is Delayed {
  return value instanceof Delayed;
}

/** Closures get a generated name, once per function object. */
const closureNames = new WeakMap<object, string>();

function functionName(fn: (...args: never[]) => unknown): string {
  if (isTaskFunction(fn)) return fn.taskName;
  let name = closureNames.get(fn);
  if (name === undefined) {
    name = `${fn.name || "anonymous"}.local-${randomUUID().slice(0, 8)}`;
    registerTask(name, fn);
    closureNames.set(fn, name);
  }
  return name;
}

function call(fn: string, args: readonly unknown[], options: DelayedOptions): Delayed {
  if (options.priority !== undefined) {
    const problem = userPriorityProblem(options.priority);
    if (problem !== undefined) throw new RangeError(`delayed(${fn}) priority ${problem}`);
  }
  const inputs = new Inputs();
  const graphArgs = args.map((arg) => toGraphValue(arg, inputs));
  // Array#join makes a flat string: keys live as long as their tasks and are hashed into every table
  // keyed by name, and a template literal would make a rope that each of those has to flatten.
  if (options.timeoutMs !== undefined && !isTimeoutMs(options.timeoutMs)) {
    throw new RangeError(`timeoutMs must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}, got ${options.timeoutMs}`);
  }
  const key = options.key ?? [fn, options.pure === false ? randomUUID() : tokenize(fn, graphArgs)].join("-");
  const list = inputs.list;
  const deps = list.length === 0 ? NO_KEYS : list.map((input) => input.key);
  return new Delayed(key, fn, graphArgs, deps, list, nonZero(options.retries), nonZero(options.priority), false, options.timeoutMs);
}

/** Replaces delayed values and futures inside `value` by references, copying only the containers that hold some. */
function toGraphValue(value: unknown, inputs: Inputs): unknown {
  if (value === null || typeof value !== "object") return value;
  // A future is read where its result is held.
  if (value instanceof Future) value = value.delayed;
  if (value instanceof Ref || value instanceof Call) {
    // A hand-made reference would bypass the input bookkeeping below; delayed values are the way in.
    throw new TypeError(`delayed arguments take delayed values, not ${value.constructor.name} objects`);
  }
  if (value instanceof Delayed) {
    const known = inputs.find(value.key);
    if (known === undefined) {
      inputs.add(value);
    } else if (known !== value && known.spec !== undefined && value.spec !== undefined) {
      checkSameSpec(known.spec, value.spec);
    }
    return new Ref(value.key);
  }
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const converted = toGraphValue(value[i], inputs);
      if (converted !== value[i]) (copy ??= value.slice())[i] = converted;
    }
    return copy ?? value;
  }
  if (isPlainObject(value)) {
    let copy: Record<string, unknown> | undefined;
    for (const k in value) {
      const converted = toGraphValue(value[k], inputs);
      if (converted !== value[k]) (copy ??= { ...value })[k] = converted;
    }
    return copy ?? value;
  }
  return value;
}

/**
 * The distinct delayed inputs of one call. Most calls have a few, where a scan beats a map; a map is
 * built only past a handful (a sum over thousands of parts).
 */
class Inputs {
  readonly list: Delayed[] = [];
  private byKey: Map<Key, Delayed> | undefined;

  find(key: Key): Delayed | undefined {
    if (this.byKey !== undefined) return this.byKey.get(key);
    for (const input of this.list) if (input.key === key) return input;
    return undefined;
  }

  add(input: Delayed): void {
    this.list.push(input);
    if (this.byKey !== undefined) this.byKey.set(input.key, input);
    else if (this.list.length > 8) this.byKey = new Map(this.list.map((d) => [d.key, d]));
  }
}

/**
 * The graph of every task the given values need. Iterative, linear in the graph; a key reached twice
 * with two different specs is an error naming the key.
 */
export function collectGraph(roots: readonly Delayed[]): Graph {
  return collectIndexedGraph(roots).graph;
}

let collection = 0;

/**
 * {@link collectGraph}, and the graph's dependency structure as indices for the ordering. The walk
 * follows object links from each value to its inputs, so it knows every edge without looking keys
 * up: each value is stamped with its position as it is added.
 */
export function collectIndexedGraph(roots: readonly Delayed[]): { graph: Graph; index: GraphIndex } {
  const stamp = ++collection;
  const graph: Graph = new Map();
  const nodes: Delayed[] = [];
  const stack: Delayed[] = [...roots];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.held || node.collection === stamp) continue;
    const known = graph.get(node.key) as Delayed | undefined;
    node.collection = stamp;
    if (known !== undefined) {
      // The same call built twice: the second value stands for the first.
      checkSameSpec(known, node);
      node.position = known.position;
      continue;
    }
    node.position = nodes.length;
    nodes.push(node);
    graph.set(node.key, node);
    for (const input of node.inputs) stack.push(input);
  }
  const depStart = new Int32Array(nodes.length + 1);
  const deps: number[] = [];
  for (let i = 0; i < nodes.length; i++) {
    depStart[i] = deps.length;
    for (const input of nodes[i].inputs) if (!input.held) deps.push(input.position);
  }
  depStart[nodes.length] = deps.length;
  return { graph, index: { keys: nodes.map((node) => node.key), depStart, deps: Int32Array.from(deps) } };
}

function checkSameSpec(known: TaskSpec, other: TaskSpec): void {
  if (known !== other && !sameSpec(known, other)) {
    throw new GraphError(
      "conflicting-spec",
      `key "${known.key}" has two different specs: ${renderSpec(known)} and ${renderSpec(other)}`,
      [known.key],
    );
  }
}

/** A delayed value standing for a result a scheduler already holds (what `persist` returns). */
export function heldValue<T>(key: Key): Delayed<T> {
  return new Delayed<T>(key, "", NO_KEYS, NO_KEYS, [], undefined, undefined, true);
}

const NO_KEYS: readonly Key[] = Object.freeze([]);

/** Options left out when zero, as `taskSpec` does, so equal specs look equal. */
function nonZero(value: number | undefined): number | undefined {
  return value === 0 ? undefined : value;
}
