import { toTaskFailure } from "../protocol/task-failure.js";
import { evaluateTask } from "./evaluate-task.js";
import type { ExecutionOutcome, ExecutionRequest, Executor, OutcomeSink } from "./executor.js";

const noInputs = (key: string): never => {
  throw new Error(`scheduler bug: input "${key}" was not substituted before the task ran`);
};

/**
 * Runs tasks one at a time on the calling thread, in order: the `sync` executor. Stack traces, breakpoints
 * and `console.log` work as in ordinary code, which makes it the executor for debugging. An async task
 * holds back the ones after it until it settles, so there is still only one task at a time.
 */
export class InlineExecutor implements Executor {
  readonly nthreads = 1;
  private backlog: ExecutionRequest[] = [];
  private head = 0;
  /** An async task is pending: nothing else starts until it settles. */
  private waiting = false;
  /** Inside `drain`: outcomes handed to the sink may queue more work, which the running loop picks up. */
  private draining = false;

  constructor(private readonly sink: OutcomeSink) {}

  run(requests: readonly ExecutionRequest[]): void {
    for (const request of requests) this.backlog.push(request);
    if (!this.waiting && !this.draining) this.drain();
  }

  async close(): Promise<void> {
    this.backlog = [];
    this.head = 0;
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
            outcomes.push({ request, ok: false, error: toTaskFailure(error), durationMs: performance.now() - start });
            continue;
          }
          if (isThenable(value)) {
            this.waiting = true;
            value.then(
              (resolved) => this.settle({ request, ok: true, value: resolved, durationMs: performance.now() - start }),
              (error) =>
                this.settle({ request, ok: false, error: toTaskFailure(error), durationMs: performance.now() - start }),
            );
            if (outcomes.length > 0) this.sink(outcomes);
            return;
          }
          outcomes.push({ request, ok: true, value, durationMs: performance.now() - start });
        }
        this.backlog = this.backlog.slice(this.head);
        this.head = 0;
        this.sink(outcomes);
      }
    } finally {
      this.draining = false;
    }
  }

  private settle(outcome: ExecutionOutcome): void {
    this.waiting = false;
    this.sink([outcome]);
    if (!this.waiting && !this.draining) this.drain();
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === "object" && typeof (value as { then?: unknown }).then === "function";
}
