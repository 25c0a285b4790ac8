import { taskTimeoutFailure, toTaskFailure, type TaskFailure } from "../protocol/task-failure.js";
import { evaluateTask } from "./evaluate-task.js";
import type { ExecutionOutcome, ExecutionRequest, Executor, OutcomeSink } from "./executor.js";

const noInputs = (key: string): never => {
  throw new Error(`scheduler bug: input "${key}" was not substituted before the task ran`);
};

/** What a timed-out synchronous task's failure adds: nothing could stop it earlier. */
const RETURNED_LATE = "it ran on the calling thread, where synchronous code cannot be interrupted, and failed when it returned";
/** What a timed-out async task's failure adds. */
const NOT_AWAITED = "what it started on the calling thread was left to finish, its result unused";

/** The async task being waited for. */
interface Awaited {
  readonly request: ExecutionRequest;
  readonly timer: NodeJS.Timeout | undefined;
}

/**
 * Runs tasks one at a time on the calling thread, in order: the `sync` executor. Stack traces, breakpoints
 * and `console.log` work as in ordinary code, which makes it the executor for debugging. An async task
 * holds back the ones after it until it settles, so there is still only one task at a time.
 *
 * Timeouts (`ExecutionRequest.timeoutMs`): synchronous code on this thread cannot be interrupted, so a
 * synchronous task that runs past its timeout fails with a `TaskTimeoutError` when it returns (its
 * result is dropped); an async task fails at its timeout, and the next task starts then, while what
 * it started is left to finish unseen. Cancelling works the same way: a task not started is dropped,
 * the async task waited for is no longer waited for. Use the `threads` executor to end a task for real.
 *
 * @example
 * ```ts
 * const inline = new InlineExecutor((outcomes) => console.log(outcomes));
 * inline.run([{ key: "k", fn: "weft.add", args: [1, 2], timeoutMs: 1000 }]);
 * ```
 */
export class InlineExecutor implements Executor {
  readonly nthreads = 1;
  private backlog: ExecutionRequest[] = [];
  private head = 0;
  /** The async task pending: nothing else starts until it settles (or times out, or is cancelled). */
  private awaited: Awaited | undefined;
  /** Inside `drain`: outcomes handed to the sink may queue more work, which the running loop picks up. */
  private draining = false;

  constructor(private readonly sink: OutcomeSink) {}

  run(requests: readonly ExecutionRequest[]): void {
    for (const request of requests) this.backlog.push(request);
    if (this.awaited === undefined && !this.draining) this.drain();
  }

  cancel(requests: readonly ExecutionRequest[]): void {
    const cancelled = new Set(requests);
    this.backlog = this.backlog.slice(this.head).filter((request) => !cancelled.has(request));
    this.head = 0;
    const awaited = this.awaited;
    if (awaited !== undefined && cancelled.has(awaited.request)) {
      clearTimeout(awaited.timer);
      this.awaited = undefined;
      if (!this.draining) this.drain();
    }
  }

  async close(): Promise<void> {
    this.backlog = [];
    this.head = 0;
    clearTimeout(this.awaited?.timer);
  }

  private drain(): void {
    this.draining = true;
    try {
      while (this.head < this.backlog.length) {
        const outcomes: ExecutionOutcome[] = [];
        while (this.head < this.backlog.length) {
          const request = this.backlog[this.head++];
          const start = performance.now();
          let value: unknown;
          try {
            value = evaluateTask(request.fn, request.args, noInputs);
          } catch (error) {
            outcomes.push(failedOrLate(request, toTaskFailure(error), performance.now() - start));
            continue;
          }
          if (isThenable(value)) {
            this.await(request, value, start);
            if (outcomes.length > 0) this.sink(outcomes);
            return;
          }
          const durationMs = performance.now() - start;
          outcomes.push(
            overtime(request, durationMs)
              ? { request, ok: false, error: taskTimeoutFailure(request.key, request.timeoutMs!, RETURNED_LATE), durationMs }
              : { request, ok: true, value, durationMs },
          );
        }
        this.backlog = this.backlog.slice(this.head);
        this.head = 0;
        this.sink(outcomes);
      }
    } finally {
      this.draining = false;
    }
  }

  /** Waits for an async task, at most its timeout; what it settles with after that (or after a cancel) is ignored. */
  private await(request: ExecutionRequest, value: PromiseLike<unknown>, start: number): void {
    const timer =
      request.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            const durationMs = performance.now() - start;
            this.settle(awaited, { request, ok: false, error: taskTimeoutFailure(request.key, request.timeoutMs!, NOT_AWAITED), durationMs });
          }, request.timeoutMs);
    const awaited: Awaited = { request, timer };
    this.awaited = awaited;
    value.then(
      (resolved) => this.settle(awaited, { request, ok: true, value: resolved, durationMs: performance.now() - start }),
      (error) => this.settle(awaited, { request, ok: false, error: toTaskFailure(error), durationMs: performance.now() - start }),
    );
  }

  private settle(awaited: Awaited, outcome: ExecutionOutcome): void {
    if (this.awaited !== awaited) return;
    clearTimeout(awaited.timer);
    this.awaited = undefined;
    this.sink([outcome]);
    if (this.awaited === undefined && !this.draining) this.drain();
  }
}

/** True when a task that returned took longer than its timeout. */
function overtime(request: ExecutionRequest, durationMs: number): boolean {
  return request.timeoutMs !== undefined && durationMs > request.timeoutMs;
}

/** A thrown error, or the timeout when the task threw only after running past it. */
function failedOrLate(request: ExecutionRequest, error: TaskFailure, durationMs: number): ExecutionOutcome {
  if (overtime(request, durationMs)) return { request, ok: false, error: taskTimeoutFailure(request.key, request.timeoutMs!, RETURNED_LATE), durationMs };
  return { request, ok: false, error, durationMs };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === "object" && typeof (value as { then?: unknown }).then === "function";
}
