import type { OptimizeOptions } from "../graph/optimize.js";
import type { Key } from "../graph/task-spec.js";
import { LocalScheduler, type LocalSchedulerOptions } from "../scheduler/local-scheduler.js";
import { runGraph } from "../scheduler/run-graph.js";
import { collectIndexedGraph, type Delayed, heldValue, isDelayed } from "./delayed.js";

/** The computed type of a value passed to `compute`: delayed values become their results. */
export type Computed<T> = T extends Delayed<infer R> ? R : T;

/** Options of {@link Client.local}. */
export interface LocalClientOptions extends LocalSchedulerOptions {
  /** Graph optimizations (culling, fusion) applied to every computation; all on by default. */
  readonly optimize?: OptimizeOptions;
}

let clientSeq = 0;

/**
 * Runs delayed values and returns their results. `Client.local()` runs them in this process on the
 * embedded scheduler; the same interface will drive a cluster.
 *
 * @example
 * ```ts
 * const client = await Client.local({ executor: "threads" });
 * const [a, b] = await client.compute(x, y); // shared tasks of x and y run once
 * await client.close();
 * ```
 */
export class Client {
  /** Persisted keys are released when the delayed values `persist` returned are garbage collected. */
  private readonly persisted = new FinalizationRegistry<{ client: string; key: Key }>(({ client, key }) =>
    this.scheduler.release(client, [key]),
  );

  private constructor(
    private readonly scheduler: LocalScheduler,
    private readonly optimize: OptimizeOptions | undefined,
  ) {}

  /** A client running graphs in this process. Default executor: `threads`, one thread per CPU. */
  static async local(options: LocalClientOptions = {}): Promise<Client> {
    return new Client(await LocalScheduler.start(options), options.optimize);
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
    const results = await this.run(values.filter(isDelayed), false);
    return values.map((value) => (isDelayed(value) ? results.get(value.key) : value)) as {
      -readonly [I in keyof T]: Computed<T[I]>;
    };
  }

  /**
   * Computes the given values and keeps their results in the scheduler: the returned delayed values
   * stand for those results, so graphs built on them start from there instead of recomputing. The
   * results are freed when the returned values are garbage collected.
   */
  async persist<const T extends readonly Delayed[]>(...values: T): Promise<T> {
    const client = `persist-${++clientSeq}`;
    await this.run(values, true, client);
    return values.map((value) => {
      const held = heldValue(value.key);
      this.persisted.register(held, { client, key: value.key });
      return held;
    }) as unknown as T;
  }

  /** Stops the executor's threads. */
  async close(): Promise<void> {
    await this.scheduler.close();
  }

  private async run(roots: readonly Delayed[], keep: boolean, client = `compute-${++clientSeq}`): Promise<Map<Key, unknown>> {
    const outputs = [...new Set(roots.map((root) => root.key))];
    const { graph, index } = collectIndexedGraph(roots);
    const values = await runGraph(this.scheduler, graph, outputs, client, { optimize: this.optimize, collected: true, index, keep });
    return new Map(outputs.map((key, i) => [key, values[i]]));
  }

}
