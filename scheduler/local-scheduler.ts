import "../executor/builtin-tasks.js";
import type { ExecutionOutcome, ExecutionRequest, Executor, HeldValues } from "../executor/executor.js";
import { InlineExecutor } from "../executor/inline-executor.js";
import { sizeOf } from "../executor/size-of.js";
import type { WorkerInfo } from "../protocol/job-api.js";
import { lookupTask, registeredTaskNames } from "../protocol/task-registry.js";
import { ThreadPoolExecutor } from "../executor/thread-pool-executor.js";
import type { SchedulerCommand } from "./core/commands.js";
import type { LocalTask } from "./local-task.js";
import type { SubmissionChecks } from "./prepare-submission.js";
import type { SchedulerConfig } from "./core/scheduler-config.js";
import type { SchedulerCore } from "./core/scheduler-core.js";
import { SchedulerShell } from "./scheduler-shell.js";

/** Which executor runs the tasks of a local scheduler. */
export type LocalExecutorKind = "sync" | "threads";

/** Options of {@link LocalScheduler.start}. */
export interface LocalSchedulerOptions {
  /** `threads` (default): a pool of worker threads. `sync`: one task at a time on this thread, for debugging. */
  readonly executor?: LocalExecutorKind;
  /** Threads of the `threads` executor. Default: the number of CPUs. */
  readonly nthreads?: number;
  /** Modules every thread imports at start (see `ThreadPoolOptions.imports`). */
  readonly imports?: readonly (string | URL)[];
  /** Tuning of the scheduling core. */
  readonly scheduler?: SchedulerConfig;
}

const LOCAL_WORKER = "local";

/**
 * Runs graphs in this process: the embedded default. A thin shell around the same `SchedulerCore` the
 * distributed scheduler uses, with results kept in this thread (each in its task's `LocalTask` cell)
 * and tasks run by an executor (`sync` or `threads`).
 *
 * @example
 * ```ts
 * const scheduler = await LocalScheduler.start({ executor: "threads" });
 * scheduler.submit(graph, ["total"], "me", {
 *   onResult: (key, value) => console.log(key, value),
 *   onError: (key, failure) => console.error(key, failure.message),
 *   onRejected: (error) => console.error(error.message),
 * });
 * ```
 */
export class LocalScheduler extends SchedulerShell {
  private executor!: Executor;
  /** Results held, for `stats`. */
  private heldResults = 0;
  private closed = false;
  /** Tasks run in this process, on the data as it is. */
  readonly remote = false;

  private constructor(
    readonly executorKind: LocalExecutorKind,
    config: SchedulerConfig | undefined,
  ) {
    super(config);
  }

  /** Creates a scheduler and starts its executor. */
  static async start(options: LocalSchedulerOptions = {}): Promise<LocalScheduler> {
    const kind = options.executor ?? "threads";
    if (kind !== "sync" && kind !== "threads") {
      throw new TypeError(`unknown executor "${String(kind)}": use "sync" or "threads"`);
    }
    const scheduler = new LocalScheduler(kind, options.scheduler);
    const sink = (outcomes: ExecutionOutcome[]) => scheduler.onOutcomes(outcomes);
    scheduler.executor =
      kind === "sync"
        ? new InlineExecutor(sink)
        : await ThreadPoolExecutor.start(sink, { nthreads: options.nthreads, imports: options.imports });
    scheduler.enqueue({ type: "worker-joined", worker: LOCAL_WORKER, nthreads: scheduler.executor.nthreads });
    return scheduler;
  }

  /** Tasks run at once. */
  get nthreads(): number {
    return this.executor.nthreads;
  }


  protected functionChecks(): Pick<SubmissionChecks, "isKnownFunction" | "serializable"> {
    return { isKnownFunction: (name) => lookupTask(name) !== undefined };
  }

  /**
   * Counts of known tasks per state, the number of held results, and with the threads executor the
   * buffers of its shared memory (see `SharedBlockLedger`).
   */
  stats(): { tasks: ReturnType<SchedulerCore["counts"]>; heldResults: number; sharedMemory?: ReturnType<HeldValues["stats"]> } {
    const sharedMemory = this.executor.heldValues?.stats();
    return { tasks: this.core.counts(), heldResults: this.heldResults, ...(sharedMemory && { sharedMemory }) };
  }

  /** Stops the executor. Pending computations never complete. */
  async close(): Promise<void> {
    this.closed = true;
    this.refuseSubmissions("the local scheduler is closed");
    await this.executor.close();
  }

  /** The executor, as one worker in this process. */
  async workers(): Promise<WorkerInfo[]> {
    const [load] = this.core.workerLoads();
    return [
      {
        id: LOCAL_WORKER,
        nthreads: this.executor.nthreads,
        queued: 0,
        running: load?.processing ?? 0,
        results: this.heldResults,
        memoryBytes: load?.nbytes ?? 0,
        rssBytes: process.memoryUsage.rss(),
        paused: false,
        address: "",
        pid: process.pid,
        functions: registeredTaskNames().length,
      },
    ];
  }

  private onOutcomes(outcomes: ExecutionOutcome[]): void {
    if (this.closed) return;
    for (const outcome of outcomes) {
      const task = outcome.request as LocalTask;
      if (this.followed) {
        const { durationMs } = outcome;
        this.notifyReport(
          outcome.ok
            ? { kind: "finished", key: task.key, worker: LOCAL_WORKER, durationMs }
            : { kind: "erred", key: task.key, worker: LOCAL_WORKER, durationMs, error: outcome.error },
        );
      }
      if (outcome.ok) {
        this.hold(task, outcome.value);
        this.inbox.push({
          type: "task-finished",
          key: task.key,
          worker: LOCAL_WORKER,
          nbytes: sizeOf(outcome.value),
          durationMs: outcome.durationMs,
        });
      } else {
        this.inbox.push({ type: "task-erred", key: task.key, worker: LOCAL_WORKER, error: outcome.error, durationMs: outcome.durationMs });
      }
    }
    this.drain();
  }

  protected carryOut(commands: readonly SchedulerCommand[]): void {
    let requests: ExecutionRequest[] | undefined;
    let placed: ExecutionOutcome[] | undefined;
    let cancelled: ExecutionRequest[] | undefined;
    for (const command of commands) {
      switch (command.type) {
        case "assign": {
          const task = command.runSpec as LocalTask;
          if (task.scattered) {
            // Scattered data is held here as it is: no executor needs to see it.
            (placed ??= []).push({ request: task, ok: true, value: task.spec.args[0], durationMs: 0 });
            break;
          }
          task.resolveArgs(command.inputs as readonly LocalTask[]);
          (requests ??= []).push(task);
          break;
        }
        case "release":
        case "forget":
          if (command.runSpec !== undefined) this.drop(command.runSpec as LocalTask);
          break;
        case "result":
          this.report(command, () => {
            const value = (command.runSpec as LocalTask | undefined)?.value;
            const held = this.executor.heldValues;
            // A client that settles its results holds this one until it does; any other may keep it
            // as long as it likes.
            if (held !== undefined) for (const client of command.clients) (this.clients.get(client)?.settlesResults === true ? held.hold : held.escape).call(held, value);
            return value;
          });
          break;
        case "error":
        case "graph-rejected":
          this.report(command, () => undefined);
          break;
        case "cancel":
          // Not started: dropped; running on a thread: the thread is ended and replaced. Before any
          // assignment of this batch: a task called back to wait again may be assigned anew in it.
          if (command.runSpec !== undefined) (cancelled ??= []).push(command.runSpec as LocalTask);
          break;
        case "steal":
        case "rescore":
          // One local worker: nothing to steal, no queue to reorder (the executor runs what it is
          // handed, in order).
          break;
      }
    }
    if (cancelled !== undefined) this.executor.cancel(cancelled);
    if (requests !== undefined) this.executor.run(requests);
    if (placed !== undefined) this.onOutcomes(placed);
  }

  override settleResults(results: readonly unknown[], kept: unknown): void {
    const held = this.executor.heldValues;
    if (held === undefined) return;
    held.escape(kept);
    // One release per value: a value listed twice (an output asked for twice) was held once.
    for (const value of new Set(results)) held.release(value);
  }

  private hold(task: LocalTask, value: unknown): void {
    if (task.hasValue) this.executor.heldValues?.release(task.value);
    else this.heldResults++;
    this.executor.heldValues?.hold(value);
    // The program still has the data it scattered: its memory is never reused.
    if (task.scattered) this.executor.heldValues?.escape(value);
    task.value = value;
    task.hasValue = true;
  }

  private drop(task: LocalTask): void {
    if (task.hasValue) {
      this.heldResults--;
      this.executor.heldValues?.release(task.value);
    }
    task.value = undefined;
    task.hasValue = false;
    task.args = task.spec.args;
  }
}
