/**
 * The task-graph model every part of weft shares.
 *
 * A task is the name of a registered function plus its arguments. Arguments are plain data that may
 * nest arrays and plain objects; inside them a {@link Ref} stands for another task's output and a
 * {@link Call} for a function applied inline (what fusion produces). A graph is a map from key to task.
 */

/** The name of a task, unique within a graph; also the name of its result. */
export type Key = string;

/**
 * A reference to another task's output, placed anywhere inside a task's arguments. When the task
 * runs, the reference is replaced by the referenced task's result.
 *
 * @example
 * ```ts
 * taskSpec("total", "sum", [[new Ref("a"), new Ref("b")]]);
 * ```
 */
export class Ref {
  constructor(readonly key: Key) {}
}

/**
 * A registered function applied to arguments inline, as part of the task that contains it. Fusion
 * turns a linear chain `a -> b -> c` into one task whose arguments nest `Call`s, so the chain's
 * intermediate results never leave the executing thread.
 */
export class Call {
  constructor(
    readonly fn: string,
    readonly args: readonly unknown[],
  ) {}
}

/** Lowest user priority a task may have: {@link TaskOptions.priority} is an integer from here to {@link MAX_USER_PRIORITY}. */
export const MIN_USER_PRIORITY = -1_000_000;
/** Highest user priority a task may have (see {@link MIN_USER_PRIORITY}). */
export const MAX_USER_PRIORITY = 1_000_000;

/**
 * What is wrong with `value` as a user priority, or undefined when it is one: an integer from
 * {@link MIN_USER_PRIORITY} to {@link MAX_USER_PRIORITY}. The range is bounded so that a worker queue
 * in Redis, which sorts by one floating-point score, can fold the priority into that score exactly
 * (see `scheduler/core/queue-score.ts`).
 *
 * @example
 * userPriorityProblem(5); // undefined
 * userPriorityProblem(1e9); // "must be an integer from -1000000 to 1000000, got 1000000000"
 */
export function userPriorityProblem(value: unknown): string | undefined {
  if (Number.isInteger(value) && (value as number) >= MIN_USER_PRIORITY && (value as number) <= MAX_USER_PRIORITY) return undefined;
  const shown = typeof value === "number" ? String(value) : typeof value === "string" ? JSON.stringify(value) : typeof value;
  return `must be an integer from ${MIN_USER_PRIORITY} to ${MAX_USER_PRIORITY}, got ${shown}`;
}

/** Per-task options a user may set; all optional. */
export interface TaskOptions {
  /** How many times to rerun the task when its function throws. Default 0. */
  readonly retries?: number;
  /**
   * User priority: higher runs earlier among ready tasks, before weft's own ordering is consulted.
   * An integer from {@link MIN_USER_PRIORITY} to {@link MAX_USER_PRIORITY} (±1,000,000). Default 0.
   */
  readonly priority?: number;
  /**
   * Longest the task may run, in milliseconds, counted from when a thread starts it. A task still
   * running then fails with a `TaskTimeoutError` (rerun only if `retries` allow), and its thread is
   * ended and replaced (see `ThreadPoolExecutor`); on a main-thread executor, which cannot interrupt
   * synchronous code, the task fails when it returns late. A whole number from 1 to
   * {@link MAX_TIMEOUT_MS}. Default: no timeout (a job's default may apply).
   */
  readonly timeoutMs?: number;
}

/** Largest {@link TaskOptions.timeoutMs}: what a Node timer can wait (about 24.8 days). */
export const MAX_TIMEOUT_MS = 2_147_483_647;

/** True for a valid {@link TaskOptions.timeoutMs}: a whole number of milliseconds from 1 to {@link MAX_TIMEOUT_MS}. */
export function isTimeoutMs(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_TIMEOUT_MS;
}

/** One task of a graph. Build it with {@link taskSpec}, which works out `deps`. */
export interface TaskSpec extends TaskOptions {
  readonly key: Key;
  /** Name of a registered function. */
  readonly fn: string;
  readonly args: readonly unknown[];
  /** Keys of the tasks this one reads, in order of first appearance in `args`, without repeats. */
  readonly deps: readonly Key[];
}

/** A task graph: key to task. Insertion order is kept but carries no meaning. */
export type Graph = Map<Key, TaskSpec>;

/** A read-only view of a graph, as the passes that only inspect it take it. */
export type ReadonlyGraph = ReadonlyMap<Key, TaskSpec>;

/**
 * Builds a task, collecting the keys its arguments refer to.
 *
 * @throws RangeError when `options.priority` is not an integer from {@link MIN_USER_PRIORITY} to
 *   {@link MAX_USER_PRIORITY}.
 */
export function taskSpec(key: Key, fn: string, args: readonly unknown[], options: TaskOptions = {}): TaskSpec {
  if (options.priority !== undefined) {
    const problem = userPriorityProblem(options.priority);
    if (problem !== undefined) throw new RangeError(`priority of task ${JSON.stringify(key)} ${problem}`);
  }
  const deps = collectRefs(args);
  const spec: { -readonly [K in keyof TaskSpec]: TaskSpec[K] } = { key, fn, args, deps };
  if (options.retries !== undefined && options.retries !== 0) spec.retries = options.retries;
  if (options.priority !== undefined && options.priority !== 0) spec.priority = options.priority;
  if (options.timeoutMs !== undefined) spec.timeoutMs = options.timeoutMs;
  return spec;
}

/** Keys referred to anywhere inside `value`, in order of first appearance, without repeats. */
export function collectRefs(value: unknown): Key[] {
  const found: Key[] = [];
  const seen = new Set<Key>();
  visitRefs(value, (key) => {
    if (!seen.has(key)) {
      seen.add(key);
      found.push(key);
    }
  });
  return found;
}

function visitRefs(value: unknown, onRef: (key: Key) => void): void {
  if (value === null || typeof value !== "object") return;
  if (value instanceof Ref) {
    onRef(value.key);
  } else if (value instanceof Call) {
    for (const arg of value.args) visitRefs(arg, onRef);
  } else if (Array.isArray(value)) {
    for (const item of value) visitRefs(item, onRef);
  } else if (isPlainObject(value)) {
    for (const k in value) visitRefs((value as Record<string, unknown>)[k], onRef);
  }
}

/**
 * Copies `value`, replacing every {@link Ref} by `replace(ref)`. Parts without references are shared,
 * not copied, so large literal arguments (typed arrays, tables) cost nothing.
 */
export function replaceRefs(value: unknown, replace: (ref: Ref) => unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Ref) return replace(value);
  if (value instanceof Call) {
    const args = replaceRefsInArray(value.args, replace);
    return args === value.args ? value : new Call(value.fn, args);
  }
  if (Array.isArray(value)) return replaceRefsInArray(value, replace);
  if (isPlainObject(value)) {
    let copy: Record<string, unknown> | undefined;
    const source = value as Record<string, unknown>;
    for (const k in source) {
      const item = source[k];
      const replaced = replaceRefs(item, replace);
      if (replaced !== item) {
        copy ??= { ...source };
        copy[k] = replaced;
      }
    }
    return copy ?? value;
  }
  return value;
}

/** {@link replaceRefs} for an argument list; returns the same array when nothing was replaced. */
export function replaceRefsInArray(values: readonly unknown[], replace: (ref: Ref) => unknown): readonly unknown[] {
  let copy: unknown[] | undefined;
  for (let i = 0; i < values.length; i++) {
    const item = values[i];
    const replaced = replaceRefs(item, replace);
    if (replaced !== item) {
      copy ??= values.slice();
      copy[i] = replaced;
    }
  }
  return copy ?? values;
}

/** True for `{}`-style objects (prototype `Object.prototype` or `null`), the only objects args may nest. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The dependents of every task: the inverse of `deps`. Keys missing from the graph are skipped. */
export function dependentsOf(graph: ReadonlyGraph): Map<Key, Key[]> {
  const dependents = new Map<Key, Key[]>();
  for (const key of graph.keys()) dependents.set(key, []);
  for (const spec of graph.values()) {
    for (const dep of spec.deps) dependents.get(dep)?.push(spec.key);
  }
  return dependents;
}
