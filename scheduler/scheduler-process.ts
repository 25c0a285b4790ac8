import type { Worker } from "bullmq";
import { connectRedis } from "./redis/connect-redis.js";
import type { Graph, Key } from "../graph/task-spec.js";
import { DistributedScheduler, type DistributedSchedulerOptions } from "./distributed-scheduler.js";
import { processGraphJobs, type GraphJobsWorkerOptions } from "./graph-jobs.js";
import { runGraph } from "./run-graph.js";

/** Options of {@link SchedulerProcess.start}. */
export interface SchedulerProcessOptions
  extends DistributedSchedulerOptions,
    Pick<GraphJobsWorkerOptions, "concurrency" | "retentionSeconds" | "lockDurationMs"> {}

/**
 * The scheduler process: a {@link DistributedScheduler} fed by the durable jobs queue. Each job is one
 * submitted graph; its outputs' values become the job's result. Stop it and start another (or crash
 * and restart): the jobs it had not finished are picked up again.
 *
 * @example
 * ```ts
 * const scheduler = await SchedulerProcess.start({ redis: "redis://127.0.0.1:6379" });
 * process.on("SIGTERM", () => scheduler.stop());
 * ```
 */
export class SchedulerProcess {
  private constructor(
    readonly scheduler: DistributedScheduler,
    private readonly jobs: { readonly worker: Worker; close(): Promise<void> },
  ) {}

  static async start(options: SchedulerProcessOptions): Promise<SchedulerProcess> {
    const scheduler = await DistributedScheduler.start(options);
    const connection = () => connectRedis(options.redis, options.onError);
    const jobs = processGraphJobs({ ...options, connection }, (graph, outputs, jobId) => run(scheduler, graph, outputs, `job:${jobId}`));
    jobs.worker.on("error", (error) => options.onError?.(error));
    await jobs.worker.waitUntilReady();
    return new SchedulerProcess(scheduler, jobs);
  }

  /** Stops taking jobs (those running go back to the queue for the next scheduler) and stops. */
  async stop(): Promise<void> {
    await this.jobs.close();
    await this.scheduler.stop();
  }
}

let attempt = 0;

/** Runs one job's graph; a job picked up again after a crash gets a fresh client id. */
function run(scheduler: DistributedScheduler, graph: Graph, outputs: readonly Key[], job: string): Promise<unknown[]> {
  return runGraph(scheduler, graph, outputs, `${job}:${++attempt}`);
}
