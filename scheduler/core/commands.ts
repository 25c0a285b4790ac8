import type { Key } from "../../graph/task-spec.js";
import type { ClientId, WorkerId } from "../../protocol/ids.js";
import type { TaskFailure } from "../../protocol/task-failure.js";

/** Everything the scheduling core asks its shell to do. */
export type SchedulerCommand =
  | AssignTask
  | StealTask
  | RescoreTask
  | CancelTask
  | ReleaseResult
  | ReportResult
  | ReportError
  | RejectGraph
  | ForgetTask
  | ReplicateResult;

/** Send a task to a worker. Its inputs are held by the workers listed in each dependency's `who has`. */
export interface AssignTask {
  readonly type: "assign";
  readonly key: Key;
  readonly worker: WorkerId;
  /**
   * Smaller runs first on the worker: user priority and queue sequence (jobs of one priority taking
   * turns, each in its graph order) folded into one score, an integer below 2^53 so a Redis sorted
   * set keeps it exact (see `queue-score.ts`).
   */
  readonly priority: number;
  /** The `runSpec` the task was submitted with. */
  readonly runSpec: unknown;
  /** The run specs of the task's dependencies, in the order its `deps` list them (each once). */
  readonly inputs: readonly unknown[];
}

/**
 * Move a task `victim` has not started to `thief`'s queue, in one atomic step. The shell answers
 * `steal-accepted` once the task sits on the thief (the victim will never run it, and no `assign`
 * follows: the move was the assignment) or `steal-refused` when the victim had already taken it, so
 * a task never runs twice through a steal.
 */
export interface StealTask {
  readonly type: "steal";
  readonly key: Key;
  readonly victim: WorkerId;
  readonly thief: WorkerId;
}

/**
 * The core renumbered its queue sequences (see `queue-score.ts`): where the task still waits in one
 * of these workers' queues, give it this score instead of the one it was assigned or stolen with.
 * Where it is not queued (a worker took it already), nothing changes: the task must not be queued
 * again. A task being stolen names both workers, since the steal may or may not have gone through.
 */
export interface RescoreTask {
  readonly type: "rescore";
  readonly key: Key;
  readonly workers: readonly WorkerId[];
  readonly priority: number;
}

/**
 * The task is no longer needed on this worker: drop it from the worker's queue, end it if it is
 * running (its thread is terminated and replaced), or drop its result if it has run.
 */
export interface CancelTask {
  readonly type: "cancel";
  readonly key: Key;
  readonly worker: WorkerId;
  /** The task's run spec, so that a shell can find what it handed its executor. */
  readonly runSpec: unknown;
}

/** Free a result from these workers' memory: nothing needs it any more. */
export interface ReleaseResult {
  readonly type: "release";
  readonly key: Key;
  readonly workers: readonly WorkerId[];
  /**
   * The task's run spec when the result is dropped everywhere (the shell frees any copy of its own);
   * undefined when only these workers' copies go, or for a result the core never knew (a stale
   * completion).
   */
  readonly runSpec: unknown;
}

/**
 * Copy results from a stopping worker to `worker`, which fetches them from `from` and reports each
 * as a finished task (a replica); the stopping worker's copies are then released.
 */
export interface ReplicateResult {
  readonly type: "replicate";
  readonly keys: readonly Key[];
  readonly from: WorkerId;
  readonly worker: WorkerId;
}

/** A wanted result is in memory on these workers. */
export interface ReportResult {
  readonly type: "result";
  readonly key: Key;
  readonly clients: readonly ClientId[];
  readonly workers: readonly WorkerId[];
  readonly nbytes: number;
  readonly runSpec: unknown;
}

/** A wanted key failed, itself or through a dependency (`error.blame`). */
export interface ReportError {
  readonly type: "error";
  readonly key: Key;
  readonly clients: readonly ClientId[];
  readonly error: TaskFailure;
}

/** A submission was refused as a whole; nothing of it was kept. */
export interface RejectGraph {
  readonly type: "graph-rejected";
  readonly client: ClientId;
  readonly reason: string;
  readonly keys: readonly Key[];
}

/** The core no longer knows this task: the shell may drop its spec. */
export interface ForgetTask {
  readonly type: "forget";
  readonly key: Key;
  readonly runSpec: unknown;
}
