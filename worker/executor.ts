import type { Key } from "../graph/task-spec.js";
import type { TaskFailure } from "../scheduler/events.js";

/** A task ready to run: its inputs already substituted, only inline `Call`s left to evaluate. */
export interface ExecutionRequest {
  readonly key: Key;
  readonly fn: string;
  readonly args: readonly unknown[];
}

/** How a task ended. `request` is the very object passed to `run`, so callers can hang their own data on it. */
export type ExecutionOutcome =
  | { readonly request: ExecutionRequest; readonly ok: true; readonly value: unknown; readonly durationMs: number }
  | { readonly request: ExecutionRequest; readonly ok: false; readonly error: TaskFailure; readonly durationMs: number };

/** Receives outcomes, in batches; may be called synchronously from `run`. */
export type OutcomeSink = (outcomes: ExecutionOutcome[]) => void;

/**
 * Runs tasks somewhere: the calling thread, a pool of worker threads, a worker process. Executors are
 * interchangeable under the scheduler; they differ in where functions run and how values travel.
 */
export interface Executor {
  /** Tasks it runs at once. */
  readonly nthreads: number;
  /** Starts the tasks, roughly in the given order; outcomes go to the sink given at creation. */
  run(requests: readonly ExecutionRequest[]): void;
  /** Stops threads or processes; pending tasks are abandoned. */
  close(): Promise<void>;
}
