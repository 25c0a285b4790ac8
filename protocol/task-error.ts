import type { Key } from "../graph/task-spec.js";
import type { TaskFailure } from "./task-failure.js";

/**
 * A task failed. Carries the task's key and the error as it was thrown where the task ran: its class
 * name, message and original stack (which `stack` shows, so the failing line is the first thing seen).
 *
 * @example
 * ```ts
 * try { await total.compute(); } catch (e) {
 *   if (e instanceof TaskError) console.error(e.key, e.remoteName, e.remoteStack);
 * }
 * ```
 */
export class TaskError extends Error {
  override readonly name = "TaskError";
  /** Class name of the original error, e.g. `TypeError`. */
  readonly remoteName: string;
  /** The original message. */
  readonly remoteMessage: string;
  /** The stack as captured where the task ran, if it had one. */
  readonly remoteStack: string | undefined;
  /** When an input failed rather than this task: the key of the task that really failed. */
  readonly blame: Key | undefined;

  constructor(
    /** The key that was asked for and could not be computed. */
    readonly key: Key,
    failure: TaskFailure,
  ) {
    const origin = failure.blame !== undefined && failure.blame !== key ? ` because its input "${failure.blame}" failed` : "";
    super(`task "${key}" failed${origin}: ${failure.name}: ${failure.message}`);
    this.remoteName = failure.name;
    this.remoteMessage = failure.message;
    this.remoteStack = failure.stack;
    this.blame = failure.blame;
    if (failure.stack !== undefined) {
      const frames = failure.stack.split("\n").filter((line) => /^\s+at /.test(line));
      this.stack = `${this.name}: ${this.message}\n${frames.join("\n")}`;
    }
  }
}
