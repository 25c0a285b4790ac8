import type { TaskFailure } from "../protocol/task-failure.js";
import type { CallHole } from "./call-holes.js";
import type { ExecutionRequest } from "./executor.js";
import type { PoolMessage, PoolTag } from "./shared-block-pool.js";

/** A task as the pool queues it: inputs substituted, fused calls cut out into `holes`. */
export interface ThreadTask {
  /** The request it came from, handed back with the outcome. */
  readonly request: ExecutionRequest;
  readonly fn: string;
  readonly args: readonly unknown[];
  readonly holes?: readonly CallHole[];
  /** See `ExecutionRequest.timeoutMs`. */
  readonly timeoutMs?: number;
}

/**
 * A batch of tasks as it crosses to a thread: parallel arrays rather than an object per task, so
 * structured cloning handles a few arrays per batch. Keys stay behind: outcomes come back by position.
 */
export interface RunBatch {
  readonly type: "run";
  readonly batch: number;
  /** The distinct function names of the batch; `fnIndex[i]` points into it. */
  readonly fnTable: readonly string[];
  readonly fnIndex: Uint16Array;
  readonly args: readonly (readonly unknown[])[];
  /** Per task, its fused calls; null when no task of the batch has any. */
  readonly holes: readonly (readonly CallHole[] | null)[] | null;
  /** The batch is one task with a timeout: the thread says when it starts it (`started`), which starts the clock. */
  readonly timed?: boolean;
}

/** From the pool to a thread. */
export type ToThread = { readonly type: "import"; readonly modules: readonly string[] } | RunBatch | PoolMessage;

/** What a thread is started with. */
export interface ThreadData {
  /** Modules to import before the first task. */
  readonly imports: readonly string[];
  /** The tag of the executor's shared-memory pool, and this thread's number in it. */
  readonly poolTag: PoolTag;
  readonly thread: number;
}

/** Outcomes of a batch's synchronous tasks, by position. */
export interface BatchDone {
  readonly type: "done";
  readonly batch: number;
  /** Results by position; a hole where the task failed or is still running (async). */
  readonly values: readonly unknown[];
  readonly durations: Float64Array;
  /** Positions that failed, with why. */
  readonly failures: readonly (readonly [number, TaskFailure])[] | null;
  /** Positions whose async task is still running; each reports with a `settled` message. */
  readonly later: readonly number[] | null;
}

/** The outcome of one async task of a batch. */
export type TaskSettled =
  | { readonly type: "settled"; readonly batch: number; readonly index: number; readonly ok: true; readonly value: unknown; readonly durationMs: number }
  | { readonly type: "settled"; readonly batch: number; readonly index: number; readonly ok: false; readonly error: TaskFailure; readonly durationMs: number };

/** From a thread to the pool. */
export type FromThread =
  | { readonly type: "ready" }
  /** The thread starts the task of a `timed` batch now. */
  | { readonly type: "started"; readonly batch: number }
  | { readonly type: "import-failed"; readonly module: string; readonly error: TaskFailure }
  | BatchDone
  | TaskSettled;
