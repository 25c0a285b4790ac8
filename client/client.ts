import type { OptimizeOptions } from "../graph/optimize.js";
import type { Key } from "../graph/task-spec.js";
import { countTasks } from "../scheduler/task-counts.js";
import { LocalScheduler, type LocalSchedulerOptions } from "../scheduler/local-scheduler.js";
import { runGraph } from "../scheduler/run-graph.js";
import { submittedCall, type Computed, type Progress, type SubmitArgs, type WeftClient } from "./client-api.js";
import { COLLECTION, type Computation, collectComputation, type Persistable } from "./collection.js";
import { heldValue, isDelayed, type Lazy } from "./delayed.js";
import { Future, gather } from "./future.js";
import { RemoteClient, type RemoteClientOptions } from "./remote-client.js";

export type { Computed } from "./client-api.js";

/** Options of {@link Client.local}. */
export interface LocalClientOptions extends LocalSchedulerOptions {
  /** Graph optimizations (culling, fusion) applied to every computation; all on by default. */
  readonly optimize?: OptimizeOptions;
  /**
   * Called with each computation's task counts as its tasks finish, at most every 50 ms and once at
   * the end. Default: no progress is followed.
   */
  readonly onProgress?: (progress: Progress) => void;
}

/** Least time between two progress calls of one computation, in ms. */
const PROGRESS_INTERVAL_MS = 50;

let clientSeq = 0;

/**
 * Runs delayed values, collections and futures and returns their results. `Client.local()` runs them
 * in this process on the embedded scheduler; `Client.connect(url, { token })` on a cluster, through
 * the scheduler's HTTP API, with the same interface ({@link WeftClient}).
 *
 * @example
 * ```ts
 * const client = await Client.local({ executor: "threads" });
 * const [a, b] = await client.compute(x, y); // shared tasks of x and y run once
 * const future = client.submit(inc, 1);
 * await future.result(); // 2
 * await client.close();
 * ```
 */
export class Client implements WeftClient {
  /** Persisted keys are released when the delayed values `persist` returned are garbage collected. */
  private readonly persisted = new FinalizationRegistry<{ client: string; keys: readonly Key[] }>(({ client, keys }) =>
    this.scheduler.release(client, keys),
  );

  private constructor(
    private readonly scheduler: LocalScheduler,
    private readonly optimize: OptimizeOptions | undefined,
    private readonly onProgress: LocalClientOptions["onProgress"],
  ) {}

  /** A client running graphs in this process. Default executor: `threads`, one thread per CPU. */
  static async local(options: LocalClientOptions = {}): Promise<Client> {
    return new Client(await LocalScheduler.start(options), options.optimize, options.onProgress);
  }

  /**
   * A client of a cluster: the scheduler's HTTP API at `url` (such as `http://127.0.0.1:8786`), with
   * its bearer token. Checks the token by listing the workers before it resolves.
   *
   * @example
   * ```ts
   * const client = await Client.connect("http://127.0.0.1:8786", { token: process.env.WEFT_TOKEN! });
   * ```
   */
  static async connect(url: string, options: RemoteClientOptions): Promise<RemoteClient> {
    return RemoteClient.connect(url, options);
  }

  /** Which executor runs the tasks. */
  get executor(): LocalSchedulerOptions["executor"] {
    return this.scheduler.executorKind;
  }

  /**
   * Computes the given values together: their graphs are merged, so work they share runs once. Values
   * that are not delayed are returned as they are. Rejects with a {@link TaskError} (key and original
   * stack) when a task fails, or a `GraphError` naming the bad key when the graph cannot run.
   */
  async compute<const T extends readonly unknown[]>(...values: T): Promise<{ -readonly [I in keyof T]: Computed<T[I]> }> {
    const computation = collectComputation(values);
    const outputValues = await this.run(computation, false);
    let results: unknown[] | undefined;
    try {
      results = computation.results(outputValues);
    } finally {
      // What the program gets keeps its memory; blocks that finalizing copied give theirs back.
      this.scheduler.settleResults(outputValues, results);
    }
    return results as { -readonly [I in keyof T]: Computed<T[I]> };
  }

  /**
   * Computes the given delayed values and collections and keeps their results in the scheduler: the
   * returned values stand for those results, so graphs built on them start from there instead of
   * recomputing. The results are freed when the returned values are garbage collected.
   */
  async persist<const T extends readonly Persistable[]>(...values: T): Promise<T> {
    const client = `persist-${++clientSeq}`;
    const computation = collectComputation(values);
    // The results stay held by the scheduler; the copies handed to this call are not needed.
    this.scheduler.settleResults(await this.run(computation, true, client), undefined);
    return values.map((value) => {
      const held = isDelayed(value) ? heldValue(value.key) : value[COLLECTION].held();
      const keys = isDelayed(value) ? [value.key] : value[COLLECTION].keys();
      this.persisted.register(held, { client, keys });
      return held;
    }) as unknown as T;
  }

  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: SubmitArgs<A>): Future<Awaited<R>> {
    const value = submittedCall(fn, args);
    const client = `future-${++clientSeq}`;
    const computing = this.run(collectComputation([value]), true, client).then((results) => {
      this.scheduler.settleResults(results, results[0]);
      return results[0] as Awaited<R>;
    });
    const future = new Future(value, computing, {
      cancel: async () => {
        this.scheduler.release(client, [value.key]);
        this.scheduler.dropClient(client);
      },
    });
    this.persisted.register(future, { client, keys: [value.key] });
    return future;
  }

  map<A, R>(fn: (item: A) => R, items: Iterable<Lazy<A> | Future<A>>): Future<Awaited<R>>[] {
    return [...items].map((item) => this.submit(fn as (...args: [A]) => R, item as never));
  }

  gather<T>(futures: readonly Future<T>[]): Promise<T[]> {
    return gather(futures);
  }

  /** Stops the executor's threads. */
  async close(): Promise<void> {
    await this.scheduler.close();
  }

  private run(computation: Computation, keep: boolean, client = `compute-${++clientSeq}`): Promise<unknown[]> {
    const { graph, index, outputs } = computation;
    // Graphs of delayed values alone are exact by construction; collections' graphs are validated and culled.
    const collected = index !== undefined;
    if (this.onProgress === undefined) return runGraph(this.scheduler, graph, outputs, client, { optimize: this.optimize, collected, index, keep, settlesResults: true });
    const progress = this.followProgress(client, this.onProgress);
    const running = runGraph(this.scheduler, graph, outputs, client, { optimize: this.optimize, collected, index, keep, settlesResults: true, onSubmitted: progress.submitted });
    return running.then(
      (values) => {
        progress.end(true);
        return values;
      },
      (error: unknown) => {
        progress.end(false);
        throw error;
      },
    );
  }

  /**
   * Counts a computation's task outcomes and reports them, throttled, and once at the end. Outcomes of
   * other computations running meanwhile are recorded too, and ignored by the counts.
   */
  private followProgress(job: string, onProgress: (progress: Progress) => void) {
    let keys: readonly Key[] = [];
    const finished = new Set<Key>();
    const erred = new Set<Key>();
    let last = 0;
    const report = (completed: boolean) => {
      last = performance.now();
      onProgress({ job, tasks: countTasks(keys, (key) => this.scheduler.stateOf(key), { finished, erred }, completed) });
    };
    // Listening starts before the graph is submitted: the sync executor may run tasks during submission.
    const stop = this.scheduler.onOutcome((key, ok) => {
      (ok ? finished : erred).add(key);
      if (keys.length > 0 && performance.now() - last >= PROGRESS_INTERVAL_MS) report(false);
    });
    return {
      submitted: (submittedKeys: readonly Key[]) => {
        keys = submittedKeys;
      },
      /** The last report, before the computation's caller sees its outcome. */
      end: (completed: boolean) => {
        stop();
        report(completed);
      },
    };
  }
}
