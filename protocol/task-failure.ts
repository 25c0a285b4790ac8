import type { Key } from "../graph/task-spec.js";

/**
 * How a task failed, in a form that survives the wire: what workers report, what the scheduling core
 * records, and what `TaskError` carries back to the program.
 *
 * @example
 * ```ts
 * const failure: TaskFailure = { name: "TypeError", message: "x is undefined", stack: "TypeError: …" };
 * ```
 */
export interface TaskFailure {
  /** The error class name, e.g. `TypeError`, or `KilledWorker` for the scheduler's own verdict. */
  readonly name: string;
  readonly message: string;
  /** The stack where the error was thrown, on the worker. */
  readonly stack?: string;
  /** For a task that failed because a dependency failed: the key of the task that really failed. */
  readonly blame?: Key;
}

/** Turns whatever a task threw into a {@link TaskFailure} that survives the wire. */
export function toTaskFailure(thrown: unknown): TaskFailure {
  if (thrown instanceof Error) {
    return { name: thrown.name, message: thrown.message, ...(thrown.stack !== undefined && { stack: thrown.stack }) };
  }
  let message: string;
  try {
    message = typeof thrown === "string" ? thrown : JSON.stringify(thrown) ?? String(thrown);
  } catch {
    message = String(thrown);
  }
  return { name: "Error", message: `non-Error thrown: ${message}` };
}

/** The name of the failure of a task that ran longer than its timeout (`TaskOptions.timeoutMs`). */
export const TASK_TIMEOUT_ERROR = "TaskTimeoutError";

/**
 * The failure of a task that ran longer than its timeout: `TaskTimeoutError: task "k" ran longer than
 * its timeout of 500 ms`, and `how` says what became of it (its thread was ended, say).
 */
export function taskTimeoutFailure(key: Key, timeoutMs: number, how?: string): TaskFailure {
  return { name: TASK_TIMEOUT_ERROR, message: `task "${key}" ran longer than its timeout of ${timeoutMs} ms${how === undefined ? "" : `; ${how}`}` };
}
