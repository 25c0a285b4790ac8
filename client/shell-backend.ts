import type { OptimizeOptions } from "../graph/optimize.js";
import type { Key } from "../graph/task-spec.js";
import type { WorkerInfo } from "../protocol/job-api.js";
import { describeFailure } from "../protocol/job-failure.js";
import { NoWorkersError, NoWorkersWatch, type WorkersUnavailable } from "../scheduler/no-workers-watch.js";
import { runGraph } from "../scheduler/run-graph.js";
import { scatter } from "../scheduler/scatter.js";
import type { SchedulerShell } from "../scheduler/scheduler-shell.js";
import { finalCounts } from "../scheduler/task-counts.js";
import type { BackendRun, ClientBackend } from "./backend.js";
import type { Progress } from "./client-api.js";

/** Least time between two progress calls of one computation, in ms. */
const PROGRESS_INTERVAL_MS = 50;

let runSeq = 0;

/** A scheduler that says since when no worker could take tasks (a `DistributedScheduler` does). */
interface ReportsWorkers {
  workersUnavailable(): WorkersUnavailable | undefined;
}

/** Options of {@link ShellBackend}. */
export interface ShellBackendOptions {
  /** Graph optimizations (culling, fusion) applied to every computation; all on by default. */
  readonly optimize?: OptimizeOptions;
  /** Stops the scheduler when the client closes; default: the scheduler is left running (the program owns it). */
  readonly closeScheduler?: () => Promise<void>;
}

/**
 * A backend over a scheduler in this process: the local scheduler of `Client.local()`, or a
 * distributed scheduler the program started. Each run is a scheduler client of its own, which is also
 * the name of the hold its kept results stay under.
 *
 * @example
 * ```ts
 * const client = new Client(new ShellBackend(await LocalScheduler.start(), { closeScheduler: () => scheduler.close() }));
 * ```
 */
export class ShellBackend implements ClientBackend {
  constructor(
    private readonly scheduler: SchedulerShell,
    private readonly options: ShellBackendOptions = {},
  ) {}

  get remote(): boolean {
    return this.scheduler.remote;
  }

  async scatter(key: Key, value: unknown): Promise<string> {
    const hold = `scattered-${process.pid}-${++runSeq}`;
    await scatter(this.scheduler, new Map([[key, value]]), hold);
    return hold;
  }

  run({ computation, keep, onHold, onProgress, taskTimeoutMs, noWorkersTimeoutMs }: BackendRun): Promise<unknown[]> {
    const hold = `${keep ? "kept" : "compute"}-${process.pid}-${++runSeq}`;
    onHold?.(hold);
    const { graph, index, outputs } = computation;
    // Graphs of delayed values alone are exact by construction; collections' graphs are validated and culled.
    const options = { optimize: this.options.optimize, collected: index !== undefined, index, keep, settlesResults: true, taskTimeoutMs };
    const progress = onProgress === undefined ? undefined : this.followProgress(hold, onProgress);
    let running = runGraph(this.scheduler, graph, outputs, hold, { ...options, onSubmitted: progress?.submitted });
    if (noWorkersTimeoutMs !== undefined) running = this.failWithoutWorkers(running, hold, outputs, noWorkersTimeoutMs);
    if (progress === undefined) return running;
    return running.then(
      (values) => {
        progress.end(undefined);
        return values;
      },
      (error: unknown) => {
        progress.end(error instanceof Error ? error : new Error(String(error)));
        throw error;
      },
    );
  }

  async release(hold: string, keys: readonly Key[], last: boolean): Promise<void> {
    this.scheduler.release(hold, keys);
    if (last) this.scheduler.dropClient(hold);
  }

  settle(values: readonly unknown[], kept: unknown): void {
    this.scheduler.settleResults(values, kept);
  }

  workers(): Promise<WorkerInfo[]> {
    return this.scheduler.workers();
  }

  async close(): Promise<void> {
    await this.options.closeScheduler?.();
  }

  /**
   * The run, failed with a `NoWorkersError` once it has waited `timeoutMs` with no worker able to run
   * its tasks: what the scheduler process's jobs do (`NoWorkersWatch`), for a scheduler in this
   * process that says when its workers are gone (a `DistributedScheduler`). A scheduler whose tasks
   * run in this process always has its executor: the run is left as it is.
   */
  private failWithoutWorkers(running: Promise<unknown[]>, hold: string, outputs: readonly Key[], timeoutMs: number): Promise<unknown[]> {
    const scheduler = this.scheduler as SchedulerShell & Partial<ReportsWorkers>;
    if (typeof scheduler.workersUnavailable !== "function") return running;
    const unavailable = () => scheduler.workersUnavailable!();
    return new Promise((resolve, reject) => {
      const watch = new NoWorkersWatch(unavailable, { warningMs: timeoutMs }, {
        onNotice: () => undefined,
        onDeadline: (_run, message) => {
          // As a job's run ends: what it wanted is released, and its results would go nowhere.
          this.scheduler.release(hold, outputs);
          this.scheduler.dropClient(hold);
          reject(new NoWorkersError(message));
        },
      });
      watch.watch(hold, Date.now(), timeoutMs);
      running.then(resolve, reject).finally(() => watch.stop());
    });
  }

  /**
   * Follows a run's task counts (kept by the scheduler as tasks change state, so each report costs
   * O(1)) and reports them, throttled, and once at the end.
   */
  private followProgress(job: string, onProgress: (progress: Progress) => void) {
    let submitted = false;
    let last = 0;
    // Following starts before the graph is submitted: the sync executor may run tasks during submission.
    const tally = this.scheduler.followCounts();
    const stop = this.scheduler.onReport(() => {
      if (!submitted || performance.now() - last < PROGRESS_INTERVAL_MS) return;
      last = performance.now();
      onProgress({ job, tasks: tally.counts(), state: "running" });
    });
    return {
      submitted: (keys: readonly Key[]) => {
        submitted = true;
        tally.setKeys(keys);
      },
      /** The last report, before the run's caller sees its outcome: completed, or failed with `error`. */
      end: (error: Error | undefined) => {
        stop();
        const tasks = tally.counts();
        tally.stop();
        if (error === undefined) {
          onProgress({ job, tasks: finalCounts(tasks, true), state: "completed" });
          return;
        }
        // A graph refused before any task was submitted is not a computation that ran: its error is all there is to say.
        if (tasks.total === 0) return;
        const failure = describeFailure(error);
        onProgress({ job, tasks: finalCounts(tasks, false), state: failure.error === "cancelled" ? "cancelled" : "failed", error: failure });
      },
    };
  }
}
