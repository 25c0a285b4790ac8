import { availableParallelism } from "node:os";
import { Client } from "../client/client.js";
import { DistributedScheduler } from "../scheduler/distributed-scheduler.js";
import { startRedisServer, type RedisServer } from "../protocol/redis/private-redis-server.js";
import { lookupTask } from "../protocol/task-registry.js";
import { jsonLogger } from "../protocol/logger.js";
import { Nanny } from "../worker/nanny.js";
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

/**
 * Starts a whole cluster for `weft bench --executor distributed`: a private redis-server (unless a
 * URL is given), a scheduler in this process and worker processes under a nanny, importing the bench
 * tasks; resolves once every worker has joined. Each run uses its own key prefix, so a shared Redis
 * is left as it was found apart from the run's own keys.
 */
export async function startBenchCluster(options: BenchClusterOptions): Promise<BenchComputer> {
  const server: RedisServer | undefined = options.redis === undefined ? await startRedisServer() : undefined;
  const redis = options.redis ?? server!.url;
  const prefix = `weft-bench-${process.pid}-${Date.now()}`;
  const module = lookupTask(noop.taskName)?.module;
  if (module === undefined) throw new Error("the bench tasks' module is unknown, so workers could not import it");
  const nthreads = options.nthreads ?? Math.max(1, Math.floor(availableParallelism() / options.workers));
  const nanny = Nanny.start({
    nprocs: options.workers,
    worker: { redis, prefix, nthreads, imports: [module], logLevel: "warn", memoryLimit: options.memoryLimit },
    // The bench prints one line of results; the nanny speaks up only when something goes wrong.
    logger: jsonLogger({ level: "warn", fields: { component: "nanny" } }),
  });
  const scheduler = await DistributedScheduler.start({ redis, prefix, tickMs: 100 });
  const deadline = Date.now() + 60_000;
  while (scheduler.workerIds.length < options.workers) {
    if (Date.now() > deadline) throw new Error(`only ${scheduler.workerIds.length} of ${options.workers} workers joined within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const client = Client.attach(scheduler);
  return {
    compute: async (output) => (await client.compute(output))[0],
    persist: (...values) => client.persist(...values),
    stop: async () => {
      await client.close();
      await scheduler.stop();
      await nanny.stop();
      await server?.stop();
    },
  };
}
