import type { Key } from "../graph/task-spec.js";
import type { WorkerInfo } from "../protocol/job-api.js";
import type { BackendRun, ClientBackend } from "./backend.js";
import type { Progress } from "./client-api.js";
import type { HttpTransport } from "./http-transport.js";

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

  async run({ computation, keep, onHold, onProgress }: BackendRun): Promise<unknown[]> {
    const { graph, outputs } = computation;
    if (outputs.length === 0) return [];
    const job = await this.transport.submit(graph, outputs, keep);
    onHold?.(job);
    if (onProgress !== undefined) this.follow(job, onProgress);
    return this.transport.result(job, outputs);
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

  /** Follows a job's events for `onProgress`; the stream ends with the job. */
  private follow(job: string, onProgress: (progress: Progress) => void): void {
    void (async () => {
      try {
        for await (const event of this.transport.events(job)) {
          if (event.type === "progress") onProgress({ job, tasks: event.tasks });
        }
      } catch {
        // The stream broke: progress is best effort, the result is not affected.
      }
    })();
  }
}
