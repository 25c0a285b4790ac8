import { randomUUID } from "node:crypto";
import type { OptimizeOptions } from "../graph/optimize.js";
import { isTimeoutMs, MAX_TIMEOUT_MS, type Key } from "../graph/task-spec.js";
import type { WorkerInfo } from "../protocol/job-api.js";
import { refuseClientWhileLoadingTasks } from "../protocol/task-module-loading.js";
import { LocalScheduler, type LocalSchedulerOptions } from "../scheduler/local-scheduler.js";
import type { SchedulerShell } from "../scheduler/scheduler-shell.js";
import type { ClientBackend } from "./backend.js";
import { ClientClosedError, submittedCall, type Computed, type Progress, type SubmitArgs } from "./client-api.js";
import { ClusterComputations } from "./cluster-computations.js";
import { COLLECTION, type Computation, collectComputation, isCollection, type Persistable } from "./collection.js";
import { type Delayed, heldValue, isDelayed, type Lazy } from "./delayed.js";
import { Future, gather, isFuture } from "./future.js";
import { HttpBackend } from "./http-backend.js";
import { HttpTransport } from "./http-transport.js";
import { progressBar } from "./progress-bar.js";
import { LocalCluster, type LocalClusterOptions } from "./local-cluster.js";
import { ShellBackend } from "./shell-backend.js";

export type { Computed } from "./client-api.js";

/** Options every client takes. */
export interface ClientOptions {
  /**
   * Called with each computation's task counts as its tasks finish (locally at most every 50 ms; on a
   * cluster as the job's event stream reports them), and once when it has ended, with how it ended:
   * before `compute` returns or throws. Default: no progress is followed.
   */
  readonly onProgress?: (progress: Progress) => void;
  /**
   * Draw each computation's progress on stderr with a {@link progressBar}: redrawn in place on a
   * terminal, a few plain lines otherwise. Default false.
   */
  readonly progress?: boolean;
  /**
   * Timeout of every task of this client's computations that has none of its own (`delayed(fn, {
   * timeoutMs })`), in ms: a task running longer fails with a `TaskTimeoutError` (rerun only as its
   * `retries` allow), and its worker thread is terminated and replaced. On the `sync` executor,
   * which cannot interrupt synchronous code, such a task fails when it returns. A whole number
   * from 1 to 2,147,483,647. Default: none.
   */
  readonly taskTimeoutMs?: number;
  /**
   * Fail each of this client's computations (`compute`, `persist`, `submit`) once it has waited this
   * long, in ms, with no worker able to run its tasks (none joined, the last one left, or every one
   * is paused at its memory limit): it rejects with a `NoWorkersError` saying so, and its tasks are
   * released. The wait counts from when the computation started or the workers went, whichever is
   * later. On a cluster (`Client.connect`: each computation's job carries it; `Client.cluster` and
   * `Client.attach` to a `DistributedScheduler`: the client watches the scheduler itself); with
   * `Client.local()` (or `Client.attach` to a `LocalScheduler`) tasks run in this process, whose
   * executor is always there, so it never fires. A whole number from 1 to 2,147,483,647.
   * Default: none, a computation waits for workers as long as it takes.
   *
   * @example
   * ```ts
   * const client = await Client.connect(url, { token, noWorkersTimeoutMs: 60_000 });
   * await client.compute(total).catch((e) => e instanceof NoWorkersError && console.error(e.message));
   * // no worker could run job m5x2k9q1-3f9a's tasks for 60.0 s (no worker has joined the scheduler); it fails after its noWorkersTimeoutMs of 60000 ms
   * ```
   */
  readonly noWorkersTimeoutMs?: number;
}

/** Options of {@link Client.local}. */
export interface LocalClientOptions extends LocalSchedulerOptions, ClientOptions {
  /** Graph optimizations (culling, fusion) applied to every computation; all on by default. */
  readonly optimize?: OptimizeOptions;
}

/** Options of {@link Client.connect}. */
export interface ConnectOptions extends ClientOptions {
  /** The scheduler's API token (printed at its first start, saved in its state directory). Required. */
  readonly token: string;
  /**
   * How long a request keeps trying while the scheduler cannot be reached, in ms: it crashed or was
   * killed and restarts, or a standby takes over (see `HttpTransportOptions.reconnectTimeoutMs`). A
   * computation waiting for its result then asks the next scheduler for the same job, which that one
   * picks up from the durable queue, and resolves as if nothing happened; a submission is sent again
   * with the job id it chose, so it never makes two jobs. Past this time it rejects with a
   * `SchedulerUnreachableError` naming the URL and how long it tried. `Client.connect` itself checks
   * the URL and token once, at once. 0 tries each request once. Default 30,000.
   *
   * @example
   * ```ts
   * const client = await Client.connect(url, { token, reconnectTimeoutMs: 120_000 }); // rides out a 2-minute restart
   * ```
   */
  readonly reconnectTimeoutMs?: number;
}

/** Options of {@link Client.attach}. */
export interface AttachOptions extends ClientOptions {
  /** Graph optimizations (culling, fusion) applied to every computation; all on by default. */
  readonly optimize?: OptimizeOptions;
}

/** Options of {@link Client.cluster}: the cluster's (see {@link LocalClusterOptions}) and the client's. */
export interface ClusterClientOptions extends LocalClusterOptions, AttachOptions {
  /** Print nothing; by default one line on stderr says what started and where its HTTP API listens. Default false. */
  readonly quiet?: boolean;
}

/**
 * Runs delayed values, collections and futures and returns their results, the same way wherever
 * they run: `Client.local()` runs them in this process on the embedded scheduler, `Client.connect(url,
 * { token })` on a cluster through the scheduler's HTTP API (each computation one durable job), and
 * `Client.attach(scheduler)` on a scheduler the program started itself. A program moves from a
 * laptop to a cluster by changing the line that makes the client.
 *
 * Results that `persist`, `submit` and `scatter` keep stay held while the program references the
 * values and futures standing for them, and are released when those are garbage collected, or by
 * {@link close}. On a cluster, collections built from data in memory (`fromRecords`, `fromArrow`,
 * `fromArray`) have their partitions scattered to the workers before the first computation that
 * reads them, once, and kept there while the program references the collection or one made from it.
 *
 * Start clients in the program, not in modules that define tasks: worker threads and worker processes
 * import those modules to find the tasks, and every factory throws a `ClientInTaskModuleError` while
 * they do, so that no thread starts the program again.
 *
 * @example
 * ```ts
 * const client = process.env.WEFT_URL
 *   ? await Client.connect(process.env.WEFT_URL, { token: process.env.WEFT_TOKEN! })
 *   : await Client.local({ executor: "threads" });
 * const [a, b] = await client.compute(x, y); // shared tasks of x and y run once
 * const future = client.submit(inc, 1);
 * await future.result(); // 2
 * await client.close();
 * ```
 */
export class Client {
  /** Results kept for the program: per hold, how many kept values or futures reference each key. */
  private readonly holds = new Map<string, Map<Key, number>>();
  /** Kept values and futures, released key by key when the program drops them. */
  private readonly referenced = new FinalizationRegistry<{ hold: string; keys: readonly Key[] }>(({ hold, keys }) => {
    void this.letGo(hold, keys, false);
  });
  private closed = false;
  /** What each run reports its progress to: `onProgress`, the progress bar, both, or nothing. */
  private readonly onProgress: ((progress: Progress) => void) | undefined;
  /** See {@link ClientOptions.taskTimeoutMs}. */
  private readonly taskTimeoutMs: number | undefined;
  /** See {@link ClientOptions.noWorkersTimeoutMs}. */
  private readonly noWorkersTimeoutMs: number | undefined;
  #cluster: LocalCluster | undefined;
  /** On a cluster: closures refused, data in memory scattered (see {@link ClusterComputations}). */
  private readonly clusterComputations: ClusterComputations;

  /**
   * A client over any backend; the factories below make the usual ones.
   *
   * @param backend - Where computations run (see {@link ClientBackend}).
   * @param options - See {@link ClientOptions}.
   */
  constructor(
    private readonly backend: ClientBackend,
    options: ClientOptions = {},
  ) {
    this.clusterComputations = new ClusterComputations(backend, (hold, value, keys) => this.keep(hold, value, keys));
    const { onProgress, taskTimeoutMs, noWorkersTimeoutMs } = options;
    for (const [name, value] of [["taskTimeoutMs", taskTimeoutMs], ["noWorkersTimeoutMs", noWorkersTimeoutMs]] as const) {
      if (value !== undefined && !isTimeoutMs(value)) throw new RangeError(`${name} must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}, got ${value}`);
    }
    this.taskTimeoutMs = taskTimeoutMs;
    this.noWorkersTimeoutMs = noWorkersTimeoutMs;
    const bar = options.progress === true ? progressBar() : undefined;
    this.onProgress =
      bar === undefined || onProgress === undefined
        ? (bar ?? onProgress)
        : (progress) => {
            bar(progress);
            onProgress(progress);
          };
  }

  /**
   * A client running graphs in this process, on its own scheduler; {@link close} stops its threads.
   * Default executor: `threads`, one thread per CPU.
   *
   * @example
   * ```ts
   * const client = await Client.local({ executor: "sync" }); // debugging: one task at a time, on this thread
   * ```
   */
  static async local(options: LocalClientOptions = {}): Promise<Client> {
    refuseClientWhileLoadingTasks("Client.local()");
    const scheduler = await LocalScheduler.start(options);
    return new Client(new ShellBackend(scheduler, { optimize: options.optimize, closeScheduler: () => scheduler.close() }), options);
  }

  /**
   * A client of a cluster: the scheduler's HTTP API at `url` (such as `http://127.0.0.1:8786`), with
   * its bearer token. Checks the URL and token by listing the workers before it resolves, once (a
   * wrong one fails at once); later requests ride out a restart of the scheduler for
   * `reconnectTimeoutMs` (30 s by default).
   *
   * @example
   * ```ts
   * const client = await Client.connect("http://127.0.0.1:8786", { token: process.env.WEFT_TOKEN! });
   * ```
   */
  static async connect(url: string, options: ConnectOptions): Promise<Client> {
    refuseClientWhileLoadingTasks("Client.connect()");
    if (typeof options?.token !== "string" || options.token === "") throw new TypeError("Client.connect needs { token }: the scheduler's API token");
    const transport = new HttpTransport(url, options.token, { reconnectTimeoutMs: options.reconnectTimeoutMs });
    // Without trying again: a wrong URL, or a scheduler that is not there, is said now.
    await new HttpTransport(url, options.token, { reconnectTimeoutMs: 0 }).workers();
    return new Client(new HttpBackend(transport), options);
  }

  /**
   * A client of a scheduler running in this process: a `DistributedScheduler` the program started (its
   * workers are other processes), or a `LocalScheduler` it shares between clients. The program owns
   * the scheduler: {@link close} releases what this client holds and leaves the scheduler running.
   *
   * @example
   * ```ts
   * const scheduler = await DistributedScheduler.start({ redis: "redis://127.0.0.1:6379" });
   * const client = Client.attach(scheduler);
   * const [total] = await client.compute(sum);
   * ```
   */
  static attach(scheduler: SchedulerShell, options: AttachOptions = {}): Client {
    refuseClientWhileLoadingTasks("Client.attach()");
    return new Client(new ShellBackend(scheduler, { optimize: options.optimize }), options);
  }

  /**
   * A client of a whole cluster started on this machine for it, as Dask's `Client()` starts a
   * `LocalCluster`: a private redis-server (from PATH), the scheduler in this process with its HTTP
   * API on 127.0.0.1 (a free port, a generated token: see {@link Client.cluster | client.cluster}),
   * and worker processes importing the modules of the task functions registered so far. Prints one
   * line naming the API's address (unless `quiet`). {@link close} stops it all (until then the
   * cluster keeps the program running), and so does the end of this process, however it ends:
   * nothing it started outlives it, even after a SIGKILL.
   *
   * Rejects, having stopped what it started, when `redis-server` is not installed (naming the
   * Debian/Ubuntu and Homebrew packages) or the workers cannot start.
   *
   * @example
   * ```ts
   * const client = await Client.cluster({ workers: 2, threadsPerWorker: 1 });
   * const [total] = await client.compute(delayed(add)(delayed(inc)(1), 10));
   * const { url, token } = client.cluster!.api!;   // for curl, or Client.connect from elsewhere
   * await client.close();                            // stops the workers and the redis-server too
   * ```
   */
  static async cluster(options: ClusterClientOptions = {}): Promise<Client> {
    const cluster = await LocalCluster.start(options);
    if (options.quiet !== true) console.error(cluster.describe());
    const client = new Client(new ShellBackend(cluster.scheduler, { optimize: options.optimize, closeScheduler: () => cluster.stop() }), options);
    client.#cluster = cluster;
    return client;
  }

  /** The local cluster this client started ({@link Client.cluster}), with its HTTP API's address and token; undefined for other clients. */
  get cluster(): LocalCluster | undefined {
    return this.#cluster;
  }

  /**
   * Computes the given values together: their graphs are merged, so work they share runs once. Values
   * that are neither delayed nor collections are returned as they are. Rejects with a `TaskError` (key
   * and original stack) when a task fails, or a `GraphError` naming the bad key when the graph cannot
   * run.
   */
  async compute<const T extends readonly unknown[]>(...values: T): Promise<{ -readonly [I in keyof T]: Computed<T[I]> }> {
    const computation = collectComputation(values);
    const outputValues = await this.run(computation, false);
    let results: unknown[] | undefined;
    try {
      results = computation.results(outputValues);
    } finally {
      // What the program gets keeps its memory; blocks that finalizing copied give theirs back.
      this.backend.settle(outputValues, results);
    }
    return results as { -readonly [I in keyof T]: Computed<T[I]> };
  }

  /**
   * Computes the given delayed values and collections and keeps their results where they were
   * computed: the returned values stand for those results, so graphs built on them start from there
   * instead of recomputing. Each value's results are released when it is garbage collected.
   */
  async persist<const T extends readonly Persistable[]>(...values: T): Promise<T> {
    const computation = collectComputation(values);
    let hold: string | undefined;
    // The results stay held where they are; the copies handed to this call are not needed.
    this.backend.settle(await this.run(computation, true, (name) => (hold = name)), undefined);
    return values.map((value) => {
      const held = isDelayed(value) ? heldValue(value.key) : value[COLLECTION].held();
      const keys = isDelayed(value) ? [value.key] : value[COLLECTION].keys();
      if (hold !== undefined) this.keep(hold, held, keys);
      return held;
    }) as unknown as T;
  }

  /** Runs `fn(...args)` now and returns a {@link Future} of its result; futures among the args are read where they are held. */
  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: SubmitArgs<A>): Future<Awaited<R>> {
    const value = submittedCall(fn, args);
    return this.future(value, (onHold) =>
      this.run(collectComputation([value]), true, onHold).then(([result]) => {
        this.backend.settle([result], result);
        return result as Awaited<R>;
      }),
    );
  }

  /**
   * Places `value` where tasks run and returns a {@link Future} standing for it, as Dask's `scatter`:
   * on a cluster the data goes to a worker's memory once (an Arrow table as its IPC stream, typed
   * arrays and plain values in MessagePack), and every graph given the future (through `submit`, a
   * `delayed` call, `map`) reads it there instead of carrying it. Locally it is held as it is. It stays
   * held while the program references the future (or until `cancel()`); `result()` gives the value.
   * Data lost with the workers holding it is not made again: what reads it fails with
   * `ScatteredDataLost`.
   *
   * @example
   * ```ts
   * const prices = client.scatter(tableFromArrays({ product: ["tea", "jam"], price: [3.5, 6] }));
   * const [a, b] = await client.gather([client.submit(total, prices), client.submit(mean, prices)]);
   * ```
   */
  scatter<T>(value: T): Future<T> {
    if (isDelayed(value) || isFuture(value) || isCollection(value)) {
      throw new TypeError("scatter takes data, not a delayed value, future or collection: compute or persist those instead");
    }
    const key = `scatter-${randomUUID()}`;
    return this.future(heldValue<T>(key), (onHold) => {
      if (this.closed) return Promise.reject(new ClientClosedError());
      return this.backend.scatter(key, value).then((hold) => {
        onHold(hold);
        return value;
      });
    });
  }

  /** `submit(fn, item)` for each item. */
  map<A, R>(fn: (item: A) => R, items: Iterable<Lazy<A> | Future<A>>): Future<Awaited<R>>[] {
    return [...items].map((item) => this.submit(fn as (...args: [A]) => R, item as never));
  }

  /** The results of futures, in order; rejects with the first failure. */
  gather<T>(futures: readonly Future<T>[]): Promise<T[]> {
    return gather(futures);
  }

  /** The workers, with their threads, tasks queued and running, and results held (locally: the executor, as one worker). */
  workers(): Promise<WorkerInfo[]> {
    return this.backend.workers();
  }

  /**
   * Releases every result this client keeps, and stops what it started (a local client's threads,
   * the cluster of {@link Client.cluster}; a cluster it connected or attached to keeps running).
   * Later calls reject with {@link ClientClosedError}.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const holds = [...this.holds];
    this.holds.clear();
    await Promise.all(holds.map(([hold, keys]) => this.backend.release(hold, [...keys.keys()], true).catch(() => undefined)));
    await this.backend.close();
  }

  private async run(computation: Computation, keep: boolean, onHold?: (hold: string) => void): Promise<unknown[]> {
    if (this.closed) throw new ClientClosedError();
    const ready = this.backend.remote ? await this.clusterComputations.prepare(computation) : computation;
    const values = await this.backend.run({
      computation: ready,
      keep,
      onHold,
      onProgress: this.onProgress,
      taskTimeoutMs: this.taskTimeoutMs,
      noWorkersTimeoutMs: this.noWorkersTimeoutMs,
    });
    // The computation holds the scattered data's tasks, whose references keep it held: until the run is over.
    void computation;
    return values;
  }

  /**
   * A future of `value`, computed (or placed) by `start`, which names the hold its result is kept
   * under; the result is released when the program drops the future, or cancels it.
   */
  private future<T>(value: Delayed<T>, start: (onHold: (hold: string) => void) => Promise<T>): Future<T> {
    let named!: (hold: string | undefined) => void;
    const hold = new Promise<string | undefined>((resolve) => (named = resolve));
    const computing = start(named);
    // A run refused outright keeps nothing.
    computing.catch(() => named(undefined));
    const future = new Future(value, computing, {
      cancel: async () => {
        const name = await hold;
        if (name !== undefined) await this.letGo(name, [value.key], true);
      },
    });
    void hold.then((name) => {
      if (name !== undefined) this.keep(name, future, [value.key]);
    });
    return future;
  }

  /** Keeps `keys` of `hold` for as long as the program references `value`. */
  private keep(hold: string, value: object, keys: readonly Key[]): void {
    if (this.closed || keys.length === 0) return;
    let counts = this.holds.get(hold);
    if (counts === undefined) this.holds.set(hold, (counts = new Map()));
    for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
    this.referenced.register(value, { hold, keys });
  }

  /**
   * The program dropped a value referencing `keys` of `hold` (or cancelled it, `all`): keys nothing
   * references any more are released, and the whole hold once none is left.
   */
  private async letGo(hold: string, keys: readonly Key[], all: boolean): Promise<void> {
    const counts = this.holds.get(hold);
    if (counts === undefined) {
      if (all && !this.closed) await this.backend.release(hold, keys, true).catch(() => undefined);
      return;
    }
    const unreferenced: Key[] = [];
    for (const key of all ? [...counts.keys()] : keys) {
      const count = all ? 0 : (counts.get(key) ?? 0) - 1;
      if (count > 0) counts.set(key, count);
      else if (counts.delete(key)) unreferenced.push(key);
    }
    const last = counts.size === 0;
    if (last) this.holds.delete(hold);
    if (unreferenced.length > 0 || last) await this.backend.release(hold, unreferenced, last).catch(() => undefined);
  }
}
