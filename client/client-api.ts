import type { Collection, Persistable } from "./collection.js";
import { type Delayed, delayed, type Lazy } from "./delayed.js";
import { Future, isFuture } from "./future.js";
import { isPlainObject } from "../graph/task-spec.js";
import type { TaskCounts } from "../protocol/job-api.js";

/** The computed type of a value passed to `compute`: delayed values and collections become their results. */
export type Computed<T> = T extends Delayed<infer R> ? R : T extends Collection<infer R> ? R : T;

/** A computation's progress, as `onProgress` callbacks receive it. */
export interface Progress {
  /** The computation: the job id on a cluster, the scheduler's client id locally. */
  readonly job: string;
  readonly tasks: TaskCounts;
}

/** Arguments of `submit`: values, delayed values, futures, and arrays or plain objects of them. */
export type SubmitArgs<A extends unknown[]> = { [I in keyof A]: Lazy<A[I]> | Future<A[I]> };

/**
 * What every weft client offers, whether it runs graphs in this process (`Client.local()`) or on a
 * cluster over HTTP (`Client.connect(url, { token })`): a program moves from a laptop to a cluster
 * by changing the line that makes the client.
 *
 * @example
 * ```ts
 * const client: WeftClient = process.env.WEFT_URL
 *   ? await Client.connect(process.env.WEFT_URL, { token: process.env.WEFT_TOKEN! })
 *   : await Client.local();
 * const [total] = await client.compute(delayed(sum)([1, 2, 3]));
 * ```
 */
export interface WeftClient {
  /**
   * Computes delayed values and collections together (shared work runs once) and returns their
   * results in order; other values come back as they are. Rejects with a `TaskError` (key and
   * remote stack) when a task fails, or a `GraphError` naming the bad key.
   */
  compute<const T extends readonly unknown[]>(...values: T): Promise<{ -readonly [I in keyof T]: Computed<T[I]> }>;
  /**
   * Computes delayed values and collections and keeps their results where they were computed; returns
   * values standing for them, so later graphs start from there. Freed when those are garbage collected.
   */
  persist<const T extends readonly Persistable[]>(...values: T): Promise<T>;
  /** Runs `fn(...args)` now and returns a {@link Future} of its result; futures among the args are read where they are held. */
  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: SubmitArgs<A>): Future<Awaited<R>>;
  /** `submit(fn, item)` for each item. */
  map<A, R>(fn: (item: A) => R, items: Iterable<Lazy<A> | Future<A>>): Future<Awaited<R>>[];
  /** The results of futures, in order; rejects with the first failure. */
  gather<T>(futures: readonly Future<T>[]): Promise<T[]>;
  /** Releases what the client holds and closes its connections or threads. */
  close(): Promise<void>;
}

/** The delayed call `submit` runs: futures among the arguments replaced by the tasks they stand for. */
export function submittedCall<A extends unknown[], R>(fn: (...args: A) => R, args: readonly unknown[]): Delayed<Awaited<R>> {
  if (typeof fn !== "function") throw new TypeError(`submit needs a function registered with task(), got ${typeof fn}`);
  const call = delayed(fn) as unknown as (...values: unknown[]) => Delayed<Awaited<R>>;
  return call(...args.map(withoutFutures));
}

function withoutFutures(value: unknown): unknown {
  if (isFuture(value)) return value.delayed;
  if (Array.isArray(value)) return value.map(withoutFutures);
  if (isPlainObject(value)) {
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) copy[key] = withoutFutures(value[key]);
    return copy;
  }
  return value;
}
