import type { Collection } from "./collection.js";
import { type Delayed, delayed, type Lazy } from "./delayed.js";
import { Future, isFuture } from "./future.js";
import { isPlainObject } from "../graph/task-spec.js";
import type { GraphJobFailure, JobState, TaskCounts } from "../protocol/job-api.js";

/** The computed type of a value passed to `compute`: delayed values and collections become their results. */
export type Computed<T> = T extends Delayed<infer R> ? R : T extends Collection<infer R> ? R : T;

/**
 * A computation's progress, as `onProgress` callbacks receive it: reports while it runs, and a last
 * one when it has ended, whose `state` says how.
 *
 * @example
 * ```ts
 * const onProgress = ({ tasks, state, error }: Progress) => {
 *   if (state === "failed") console.error(`failed: ${error?.message}`);
 *   else console.error(`${tasks.finished}/${tasks.total}`);
 * };
 * ```
 */
export interface Progress {
  /** The computation: the job id on a cluster, the scheduler's client id locally. */
  readonly job: string;
  readonly tasks: TaskCounts;
  /** `running` until the last report; that one says `completed`, `failed` or `cancelled`. */
  readonly state: JobState;
  /** Why it failed, in the last report of a computation that did not complete. */
  readonly error?: GraphJobFailure;
}

/** Arguments of `submit`: values, delayed values, futures, and arrays or plain objects of them. */
export type SubmitArgs<A extends unknown[]> = { [I in keyof A]: Lazy<A[I]> | Future<A[I]> };

/**
 * A client was used after `close()`: make a new one with `Client.local()`, `Client.connect()` or
 * `Client.attach()`.
 *
 * @example
 * ```ts
 * await client.close();
 * await client.compute(x).catch((e) => e instanceof ClientClosedError); // true
 * ```
 */
export class ClientClosedError extends Error {
  override readonly name = "ClientClosedError";
  constructor() {
    super("this client is closed; make a new one with Client.local(), Client.connect() or Client.attach()");
  }
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
