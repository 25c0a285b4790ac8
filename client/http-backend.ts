import { DEFAULT_CLIENT_GONE_MS } from "../protocol/job-api.js";
import type { Key } from "../graph/task-spec.js";
import type { WorkerInfo } from "../protocol/job-api.js";
import { describeFailure } from "../protocol/job-failure.js";
import { finalCounts, NO_TASKS } from "../scheduler/task-counts.js";
import type { BackendRun, ClientBackend } from "./backend.js";
import type { Progress } from "./client-api.js";
import type { HttpTransport } from "./http-transport.js";

/** How long a finished run waits for its job's last progress report, in ms, before making one itself. */
const LAST_REPORT_WAIT_MS = 1000;

/**
 * A backend over a cluster's HTTP API: each run is one durable job on the scheduler, and the job id
 * is the hold its kept results stay under.
 *
 * @example
 * ```ts
 * const client = new Client(new HttpBackend(new HttpTransport("http://127.0.0.1:8786", token)));
 * ```
 */
export class HttpBackend implements ClientBackend {
  /** Tasks run on the cluster's workers. */
  readonly remote = true;
  /** Holds made by {@link scatter}, released through the data route rather than the jobs route. */
  private readonly dataHolds = new Set<string>();

  constructor(
    /** The HTTP calls underneath. */
    readonly transport: HttpTransport,
  ) {}

  async scatter(key: Key, value: unknown): Promise<string> {
    const hold = await this.transport.scatter(key, value);
    this.dataHolds.add(hold);
    return hold;
  }

  async run({ computation, keep, onHold, onProgress, taskTimeoutMs, noWorkersTimeoutMs }: BackendRun): Promise<unknown[]> {
    const { graph, outputs } = computation;
    if (outputs.length === 0) return [];
    // The job lives while this program waits for it: once the program is gone (it exited, or was
    // killed), the scheduler cancels it rather than run it, or run it again after a restart, for nobody.
    const job = await this.transport.submit(graph, outputs, { keep, taskTimeoutMs, noWorkersTimeoutMs, clientGoneMs: DEFAULT_CLIENT_GONE_MS });
    onHold?.(job);
    if (onProgress === undefined) return this.transport.result(job, outputs);
    const following = this.follow(job, onProgress);
    let outcome: { readonly error: Error } | undefined;
    try {
      return await this.transport.result(job, outputs);
    } catch (error) {
      outcome = { error: error instanceof Error ? error : new Error(String(error)) };
      throw error;
    } finally {
      // The last report comes before the caller sees the outcome, as it does locally.
      await following.end(outcome?.error);
    }
  }

  async release(hold: string, _keys: readonly Key[], last: boolean): Promise<void> {
    // A job's results (and a scatter's data) go together: released when the program references none of them.
    if (!last) return;
    if (this.dataHolds.delete(hold)) await this.transport.releaseData(hold);
    else await this.transport.cancel(hold);
  }

  settle(): void {}

  workers(): Promise<WorkerInfo[]> {
    return this.transport.workers();
  }

  async close(): Promise<void> {}

  /**
   * Follows a job's progress for `onProgress`; the stream ends with the job. `end` is called once the
   * result (or the failure) is in: it waits a little for the stream's last report, which arrives on
   * another connection about when the result does, and makes one from the outcome if it does not
   * come (the stream broke, or lags).
   */
  private follow(job: string, onProgress: (progress: Progress) => void): { end(error: Error | undefined): Promise<void> } {
    const abort = new AbortController();
    let last: Progress | undefined;
    const streamed = (async () => {
      try {
        for await (const progress of this.transport.progress(job, abort.signal)) {
          last = progress;
          onProgress(progress);
        }
      } catch {
        // The stream broke: progress is best effort, the result is not affected.
      }
    })();
    return {
      end: async (error) => {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([streamed, new Promise((resolve) => (timer = setTimeout(resolve, LAST_REPORT_WAIT_MS)))]);
        clearTimeout(timer);
        if (last !== undefined && last.state !== "running") return;
        abort.abort();
        // The last counts the stream gave were taken while the job ran: as of its end, nothing of it runs.
        const tasks = last?.tasks ?? NO_TASKS;
        if (error === undefined) {
          onProgress({ job, tasks: finalCounts(tasks, true), state: "completed" });
        } else {
          const failure = describeFailure(error);
          onProgress({ job, tasks: finalCounts(tasks, false), state: failure.error === "cancelled" ? "cancelled" : "failed", error: failure });
        }
      },
    };
  }
}
