import type { Key } from "../graph/task-spec.js";
import type { TaskFailure } from "../protocol/task-failure.js";

/** A task ready to run: its inputs already substituted, only inline `Call`s left to evaluate. */
export interface ExecutionRequest {
  readonly key: Key;
  readonly fn: string;
  readonly args: readonly unknown[];
  /**
   * Longest the task may run, in ms, from when it starts (see `TaskOptions.timeoutMs`): then it ends
   * with a `TaskTimeoutError` outcome. Default: no limit.
   */
  readonly timeoutMs?: number;
}

/** How a task ended. `request` is the very object passed to `run`, so callers can hang their own data on it. */
export type ExecutionOutcome =
  | { readonly request: ExecutionRequest; readonly ok: true; readonly value: unknown; readonly durationMs: number }
  | { readonly request: ExecutionRequest; readonly ok: false; readonly error: TaskFailure; readonly durationMs: number };

/** Receives outcomes, in batches; may be called synchronously from `run`. */
export type OutcomeSink = (outcomes: ExecutionOutcome[]) => void;

/**
 * What an executor is told of the results its caller keeps, so that it can reuse their memory once
 * none holds it (see `SharedBlockLedger`). Every call takes a whole result and finds the buffers in it.
 */
export interface HeldValues {
  /** `value` is kept (a result stored). */
  hold(value: unknown): void;
  /** A value given to {@link hold} is dropped. */
  release(value: unknown): void;
  /** `value` goes where its memory can no longer be accounted for (to the program): never reuse it. */
  escape(value: unknown): void;
  /** Counts of buffers: held now, given back for reuse and given away, since the start. */
  stats(): { readonly held: number; readonly returned: number; readonly escaped: number };
}

/**
 * Runs tasks somewhere: the calling thread, a pool of worker threads, a worker process. Executors are
 * interchangeable under the scheduler; they differ in where functions run and how values travel.
 */
export interface Executor {
  /** Tasks it runs at once. */
  readonly nthreads: number;
  /** Starts the tasks, roughly in the given order; outcomes go to the sink given at creation. */
  run(requests: readonly ExecutionRequest[]): void;
  /**
   * The caller no longer wants these requests (given to {@link run} before): none of them reports an
   * outcome from now on. One not started yet is dropped; one running is ended where the executor can
   * end it (a worker thread is terminated and replaced, and the other tasks it held run again on
   * another), and else left to finish unseen (synchronous code on the calling thread cannot be
   * interrupted).
   */
  cancel(requests: readonly ExecutionRequest[]): void;
  /** Present when the executor reuses result memory: tell it what is held, dropped and given away. */
  readonly heldValues?: HeldValues;
  /** Stops threads or processes; pending tasks are abandoned. */
  close(): Promise<void>;
}
