import type { GraphJobFailure } from "./job-api.js";
import { TaskError } from "./task-error.js";
import type { TaskFailure } from "./task-failure.js";

/**
 * The {@link GraphJobFailure} an error stands for, as a job's status, events and progress report it:
 * a `TaskError` is `task-failed` with the key and the task's remote error, a `GraphError` its code,
 * a cancellation (`CancelledError`, `JobCancelledError`) `cancelled`, a `NoWorkersError` (a job that
 * waited past its `noWorkersTimeoutMs`) `no-workers`; a job whose durable record Redis lost
 * `record-lost`; anything else `failed`.
 *
 * @example
 * ```ts
 * describeFailure(new TaskError("x", { name: "TypeError", message: "boom" })); // { error: "task-failed", key: "x", ... }
 * ```
 */
export function describeFailure(error: Error): GraphJobFailure {
  if (error instanceof TaskError) {
    const task: TaskFailure = { name: error.remoteName, message: error.remoteMessage, stack: error.remoteStack, blame: error.blame };
    return { error: "task-failed", message: error.message, key: error.key, task };
  }
  // By name: a GraphError's class lives in graph/, and may come from another copy of the package.
  if (error.name === "GraphError") return { error: (error as Error & { code: string }).code, message: error.message };
  if (error.name === "CancelledError" || error.name === "JobCancelledError") return { error: "cancelled", message: error.message };
  // A job that waited past its noWorkersTimeoutMs with no worker able to run it.
  if (error.name === "NoWorkersError") return { error: "no-workers", message: error.message };
  // A running job whose durable record Redis lost (restarted empty).
  if (error.name === "JobRecordLostError") return { error: "record-lost", message: error.message };
  return { error: "failed", message: error.message };
}
