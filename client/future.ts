import type { Key } from "../graph/task-spec.js";
import type { Delayed } from "./delayed.js";

/** Where a future stands. */
export type FutureStatus = "pending" | "finished" | "error" | "cancelled";

/** A future's result was asked for after it was cancelled. */
export class CancelledError extends Error {
  override readonly name = "CancelledError";
  constructor(readonly key: Key) {
    super(`the future of "${key}" was cancelled`);
  }
}

/** What a future needs from the client that made it. */
export interface FutureOwner {
  /** Stops the computation if it runs, and lets the scheduler free the result. */
  cancel(future: Future<unknown>): Promise<void>;
}

/**
 * A task submitted to run now, as Dask's futures: its result is computed on the cluster (or the
 * local executor) and held there while the future is referenced, so other tasks can read it. Pass a
 * future to `client.submit` or a delayed call and the task reads the held result.
 *
 * @example
 * ```ts
 * const a = client.submit(inc, 1);
 * const b = client.submit(add, a, 10); // reads a's result where it is
 * await b.result(); // 12
 * ```
 */
export class Future<T = unknown> {
  private state: FutureStatus = "pending";
  private readonly settled: Promise<T>;
  private rejectCancelled!: (error: Error) => void;
  /** Kept as closures over the future, so that `Future<T>` stays covariant in `T` (a `Future<Float64Array<ArrayBuffer>>` is a `Future<Float64Array>`). */
  private readonly doneCallbacks: (() => void)[] = [];

  /** @internal Made by `Client#submit` and `Client#map`. */
  constructor(
    /** The task whose result this is. */
    readonly delayed: Delayed<T>,
    computing: Promise<T>,
    private readonly owner: FutureOwner,
  ) {
    const cancelled = new Promise<never>((_, reject) => (this.rejectCancelled = reject));
    this.settled = Promise.race([computing, cancelled]);
    this.settled.then(
      () => this.finish("finished"),
      (error: unknown) => this.finish(error instanceof CancelledError ? "cancelled" : "error"),
    );
  }

  /** The key of the task. */
  get key(): Key {
    return this.delayed.key;
  }

  /** `pending`, `finished`, `error` or `cancelled`. */
  get status(): FutureStatus {
    return this.state;
  }

  /** True once the future has a result, an error, or was cancelled. */
  done(): boolean {
    return this.state !== "pending";
  }

  /** The result; rejects with the task's `TaskError`, or `CancelledError` after {@link cancel}. */
  result(): Promise<T> {
    return this.settled;
  }

  /** The task's error once it failed, else undefined. */
  async exception(): Promise<unknown> {
    try {
      await this.settled;
      return undefined;
    } catch (error) {
      return error;
    }
  }

  /** Stops the task if it has not finished and frees its result; `result()` then rejects with `CancelledError`. */
  async cancel(): Promise<void> {
    if (this.state === "cancelled") return;
    this.rejectCancelled(new CancelledError(this.key));
    await this.owner.cancel(this as unknown as Future<unknown>);
  }

  /** Calls `callback` once the future is done (at once if it is). */
  addDoneCallback(callback: (future: Future<T>) => void): void {
    if (this.done()) callback(this);
    else this.doneCallbacks.push(() => callback(this));
  }

  toString(): string {
    return `Future(${this.key}, ${this.state})`;
  }

  private finish(state: FutureStatus): void {
    if (this.state !== "pending") return;
    this.state = state;
    for (const callback of this.doneCallbacks.splice(0)) callback();
  }
}

/** True for {@link Future}s. */
export function isFuture(value: unknown): value is Future {
  return value instanceof Future;
}

/** Options of {@link wait}. */
export interface WaitOptions {
  /** Give up after this many ms and return what is done. Default: no limit. */
  readonly timeoutMs?: number;
  /** `ALL_COMPLETED` (default), `FIRST_COMPLETED`, or `FIRST_EXCEPTION`. */
  readonly returnWhen?: "ALL_COMPLETED" | "FIRST_COMPLETED" | "FIRST_EXCEPTION";
}

/**
 * Waits for futures, as `dask.distributed.wait`: by default until all are done (a failure counts as
 * done); returns which are done and which are not. Never rejects on a task's failure.
 */
export function wait<T>(futures: readonly Future<T>[], options: WaitOptions = {}): Promise<{ done: Future<T>[]; notDone: Future<T>[] }> {
  const returnWhen = options.returnWhen ?? "ALL_COMPLETED";
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      resolve({ done: futures.filter((f) => f.done()), notDone: futures.filter((f) => !f.done()) });
    };
    const check = (future?: Future<T>) => {
      const allDone = futures.every((f) => f.done());
      if (allDone) return finish();
      if (future === undefined) return;
      if (returnWhen === "FIRST_COMPLETED") finish();
      else if (returnWhen === "FIRST_EXCEPTION" && future.status === "error") finish();
    };
    if (options.timeoutMs !== undefined) timer = setTimeout(finish, options.timeoutMs);
    const anyDone = futures.find((f) => f.done());
    if (futures.length === 0 || futures.every((f) => f.done())) return finish();
    if (anyDone !== undefined && returnWhen === "FIRST_COMPLETED") return finish();
    if (returnWhen === "FIRST_EXCEPTION" && futures.some((f) => f.status === "error")) return finish();
    for (const future of futures) future.addDoneCallback(check);
  });
}

/**
 * The futures in the order they finish, as `dask.distributed.as_completed`: an async iterator that
 * yields each future once it is done (finished, failed or cancelled).
 *
 * @example
 * ```ts
 * for await (const future of asCompleted(client.map(square, [1, 2, 3]))) console.log(await future.result());
 * ```
 */
export async function* asCompleted<T>(futures: Iterable<Future<T>>): AsyncGenerator<Future<T>> {
  const ready: Future<T>[] = [];
  let wake: (() => void) | undefined;
  let pending = 0;
  for (const future of futures) {
    pending++;
    future.addDoneCallback((done) => {
      ready.push(done);
      wake?.();
    });
  }
  while (pending > 0) {
    if (ready.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
    while (ready.length > 0) {
      pending--;
      yield ready.shift()!;
    }
  }
}

/** The results of futures, in order; rejects with the first failure, as `client.gather`. */
export function gather<T>(futures: readonly Future<T>[]): Promise<T[]> {
  return Promise.all(futures.map((future) => future.result()));
}
