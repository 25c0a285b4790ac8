import { Client } from "../client/client.js";
import { LocalCluster } from "../client/local-cluster.js";
import type { WorkerInfo } from "../protocol/job-api.js";
import { lookupTask } from "../protocol/task-registry.js";
import type { Persistable } from "../client/collection.js";
import { noop } from "./bench-tasks.js";

/** Options of {@link startBenchCluster}. */
export interface BenchClusterOptions {
  /** Worker processes. */
  readonly workers: number;
  /** Tasks each worker runs at once. Default: CPU count ÷ workers, at least 1. */
  readonly nthreads?: number;
  /** An existing Redis to use; default: a private redis-server started for the run. */
  readonly redis?: string;
  /** Each worker's memory limit in bytes (see `WorkerProcessOptions.memoryLimit`). Default: none. */
  readonly memoryLimit?: number;
}

/** Where a benchmark computes: a local client or a cluster started for it. */
export interface BenchComputer {
  /** Computes one delayed value or collection. */
  compute(output: unknown): Promise<unknown>;
  /** Computes delayed values or collections and keeps their results (a workload's inputs "already in memory"). */
  persist<const T extends readonly Persistable[]>(...values: T): Promise<T>;
  stop(): Promise<void>;
}

/** A {@link BenchComputer} on a cluster, whose workers a benchmark can look at. */
export interface BenchCluster extends BenchComputer {
  /** The workers, with their process ids. */
  workers(): Promise<WorkerInfo[]>;
}

/**
 * Starts a whole cluster for `weft bench --executor distributed`: a {@link LocalCluster} (a private
 * redis-server unless a URL is given, the scheduler in this process without the HTTP API, worker
 * processes importing the bench tasks), resolved once every worker has joined. On a given Redis the
 * cluster uses a key prefix of its own, so that Redis is left as it was found apart from the run's own keys.
 */
export async function startBenchCluster(options: BenchClusterOptions): Promise<BenchCluster> {
  const module = lookupTask(noop.taskName)?.module;
  if (module === undefined) throw new Error("the bench tasks' module is unknown, so workers could not import it");
  const cluster = await LocalCluster.start({
    workers: options.workers,
    threadsPerWorker: options.nthreads,
    redis: options.redis,
    imports: [module],
    memoryLimit: options.memoryLimit,
    http: false,
  });
  const client = Client.attach(cluster.scheduler);
  return {
    compute: async (output) => (await client.compute(output))[0],
    persist: (...values) => client.persist(...values),
    workers: () => client.workers(),
    stop: async () => {
      await client.close();
      await cluster.stop();
    },
  };
}
