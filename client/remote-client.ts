import type { Key } from "../graph/task-spec.js";
import type { JobEvent, WorkerInfo } from "../protocol/job-api.js";
import { submittedCall, type Computed, type Progress, type SubmitArgs, type WeftClient } from "./client-api.js";
import { COLLECTION, collectComputation, type Computation, type Persistable } from "./collection.js";
import { heldValue, isDelayed, type Lazy } from "./delayed.js";
import { Future, gather } from "./future.js";
import { HttpTransport } from "./http-transport.js";

/** Options of `Client.connect`. */
export interface RemoteClientOptions {
  /** The scheduler's API token (printed at its first start, saved in its state directory). Required. */
  readonly token: string;
  /**
   * Called with each job's task counts as its tasks finish (the job's event stream is followed for
   * this, one connection per running job). Default: no progress is followed.
   */
  readonly onProgress?: (progress: Progress) => void;
}

/**
 * A client of a weft cluster, speaking the scheduler's HTTP API: the same interface as the local
 * `Client` ({@link WeftClient}). Each `compute`, `persist` and `submit` is one durable job on the
 * scheduler. Make it with `Client.connect(url, { token })`.
 */
export class RemoteClient implements WeftClient {
  /** Jobs holding results for values or futures this client handed out, released when those are collected. */
  private readonly held = new FinalizationRegistry<string>((job) => void this.release(job));
  /** Jobs holding results for this client, released by {@link close} if not before. */
  private readonly keptJobs = new Set<string>();
  private readonly futureJobs = new WeakMap<Future<unknown>, Promise<string>>();

  private constructor(
    /** The HTTP calls underneath, for status, events and workers. */
    readonly transport: HttpTransport,
    private readonly options: RemoteClientOptions,
  ) {}

  /** Connects and checks the token (by listing the workers). */
  static async connect(url: string, options: RemoteClientOptions): Promise<RemoteClient> {
    if (typeof options?.token !== "string" || options.token === "") throw new TypeError("Client.connect needs { token }: the scheduler's API token");
    const client = new RemoteClient(new HttpTransport(url, options.token), options);
    await client.transport.workers();
    return client;
  }

  async compute<const T extends readonly unknown[]>(...values: T): Promise<{ -readonly [I in keyof T]: Computed<T[I]> }> {
    const computation = collectComputation(values);
    const outputValues = await this.run(computation, false);
    return computation.results(outputValues) as { -readonly [I in keyof T]: Computed<T[I]> };
  }

  async persist<const T extends readonly Persistable[]>(...values: T): Promise<T> {
    const computation = collectComputation(values);
    let job = "";
    await this.run(computation, true, (id) => (job = id));
    return values.map((value) => {
      const held = isDelayed(value) ? heldValue(value.key) : value[COLLECTION].held();
      this.held.register(held, job);
      this.keptJobs.add(job);
      return held;
    }) as unknown as T;
  }

  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: SubmitArgs<A>): Future<Awaited<R>> {
    const value = submittedCall(fn, args);
    const computation = collectComputation([value]);
    let resolveJob!: (job: string) => void;
    const job = new Promise<string>((resolve) => (resolveJob = resolve));
    const computing = this.run(computation, true, resolveJob).then(([result]) => result as Awaited<R>);
    // A submission refused outright never gets a job id.
    computing.catch(() => resolveJob(""));
    const future = new Future(value, computing, { cancel: (f) => this.cancelFuture(f) });
    this.futureJobs.set(future as Future<unknown>, job);
    void job.then((id) => {
      if (id === "") return;
      this.held.register(future, id);
      this.keptJobs.add(id);
    });
    return future;
  }

  map<A, R>(fn: (item: A) => R, items: Iterable<Lazy<A> | Future<A>>): Future<Awaited<R>>[] {
    return [...items].map((item) => this.submit(fn as (...args: [A]) => R, item as never));
  }

  gather<T>(futures: readonly Future<T>[]): Promise<T[]> {
    return gather(futures);
  }

  /** The cluster's workers, with their threads, queued and running tasks and memory held. */
  workers(): Promise<WorkerInfo[]> {
    return this.transport.workers();
  }

  /** A job's live events, until it ends. */
  events(job: string): AsyncGenerator<JobEvent> {
    return this.transport.events(job);
  }

  /** Releases the results this client's persisted values and futures hold on the cluster. */
  async close(): Promise<void> {
    await Promise.all([...this.keptJobs].map((job) => this.release(job)));
  }

  private async cancelFuture(future: Future<unknown>): Promise<void> {
    const job = await this.futureJobs.get(future);
    if (job !== undefined && job !== "") await this.release(job);
  }

  /** Cancels a job, or releases what it holds; the cluster may already have dropped it. */
  private async release(job: string): Promise<void> {
    this.keptJobs.delete(job);
    await this.transport.cancel(job).catch(() => undefined);
  }

  private async run(computation: Computation, keep: boolean, onJob?: (job: string) => void): Promise<unknown[]> {
    const { graph, outputs } = computation;
    if (outputs.length === 0) return [];
    const job = await this.transport.submit(graph, outputs, keep);
    onJob?.(job);
    if (this.options.onProgress !== undefined) this.follow(job, this.options.onProgress);
    return this.transport.result(job, outputs as Key[]);
  }

  /** Follows a job's events for `onProgress`; the stream ends with the job. */
  private follow(job: string, onProgress: NonNullable<RemoteClientOptions["onProgress"]>): void {
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
