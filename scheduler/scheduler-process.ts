import type { Worker } from "bullmq";
import type { Redis } from "ioredis";
import { connectRedis } from "../protocol/redis/connect-redis.js";
import { DistributedScheduler, type DistributedSchedulerOptions } from "./distributed-scheduler.js";
import { GraphJobs, processGraphJobs, type GraphJobsWorkerOptions } from "./graph-jobs.js";
import { startHttpApi, type HttpApi, type HttpApiOptions } from "./http/http-api.js";
import { JobService, type JobServiceOptions } from "./job-service.js";
import type { LeaseLostError } from "./scheduler-role.js";

/** Options of the HTTP API a scheduler process serves (see `HttpApiOptions`). */
export type SchedulerHttpOptions = Omit<HttpApiOptions, "jobs" | "pingRedis" | "onError">;

/** Options of {@link SchedulerProcess.start}. */
export interface SchedulerProcessOptions
  extends DistributedSchedulerOptions,
    Pick<GraphJobsWorkerOptions, "concurrency" | "retentionSeconds" | "lockDurationMs">,
    Pick<JobServiceOptions, "progressIntervalMs"> {
  /** Serve the HTTP API with these options. Default: no HTTP API. */
  readonly http?: SchedulerHttpOptions;
  /**
   * How long a running job may wait for a worker able to run its tasks before its status and events
   * say so, in ms (see `JobServiceOptions.noWorkersWarningMs`). Default 10,000.
   */
  readonly noWorkersWarningMs?: number;
}

/**
 * The scheduler process: a {@link DistributedScheduler} fed by the durable jobs queue, and the HTTP
 * API when asked. Each job is one submitted graph; its outputs' values become the job's result. Stop
 * it and start another (or crash and restart): the jobs it had not finished are picked up again.
 *
 * @example
 * ```ts
 * const scheduler = await SchedulerProcess.start({ redis: "redis://127.0.0.1:6379", http: { token } });
 * console.log(scheduler.http?.url); // http://127.0.0.1:8786
 * process.on("SIGTERM", () => scheduler.stop());
 * ```
 */
export class SchedulerProcess {
  private constructor(
    readonly scheduler: DistributedScheduler,
    /** The jobs this process runs, as the HTTP API sees them. */
    readonly jobs: JobService,
    /** The HTTP API, when started with `http`. */
    readonly http: HttpApi | undefined,
    private readonly processor: { readonly worker: Worker; close(): Promise<void> },
    private readonly queue: GraphJobs,
    private readonly pinger: Redis,
  ) {}

  /**
   * Takes the scheduler role (standing by while another scheduler holds it; see
   * `DistributedSchedulerOptions.lease`), then takes jobs and serves the HTTP API: a standby does
   * neither. Should the role be lost, the process stops taking jobs at once.
   */
  static async start(options: SchedulerProcessOptions): Promise<SchedulerProcess> {
    let stopTakingJobs: (() => void) | undefined;
    const onLost = options.lease?.onLost ?? options.onError;
    const lease = {
      ...options.lease,
      onLost: (error: LeaseLostError) => {
        stopTakingJobs?.();
        onLost?.(error);
      },
    };
    let jobsLostData: (() => void) | undefined;
    const scheduler = await DistributedScheduler.start({
      ...options,
      lease,
      onRedisLostData: () => {
        options.onRedisLostData?.();
        jobsLostData?.();
      },
    });
    // The jobs its predecessor ran come back from the queue: they reuse the results workers kept.
    await scheduler.accountsIn;
    const connection = () => connectRedis(options.redis, options.onError);
    const queue = new GraphJobs({ connection, prefix: options.prefix });
    const jobs = new JobService(scheduler, queue, { progressIntervalMs: options.progressIntervalMs, noWorkersWarningMs: options.noWorkersWarningMs });
    jobsLostData = () => void jobs.redisLostData().catch((error: Error) => options.onError?.(error));
    const processor = processGraphJobs({ ...options, connection }, (graph, outputs, jobId, job) => jobs.run(graph, outputs, jobId, job));
    stopTakingJobs = () => void processor.worker.close(true).catch(() => undefined);
    processor.worker.on("error", (error) => options.onError?.(error));
    processor.worker.on("completed", (job) => jobs.recorded(job.id!));
    await processor.worker.waitUntilReady();
    const pinger = connection();
    let http: HttpApi | undefined;
    if (options.http !== undefined) {
      try {
        http = await startHttpApi({
          ...options.http,
          jobs,
          pingRedis: async () => void (await pinger.ping()),
          onError: options.onError,
        });
      } catch (error) {
        await processor.close();
        await queue.close();
        pinger.disconnect();
        jobs.close();
        await scheduler.stop();
        throw error;
      }
    }
    return new SchedulerProcess(scheduler, jobs, http, processor, queue, pinger);
  }

  /** Stops serving HTTP and taking jobs (those running go back to the queue for the next scheduler), and stops. */
  async stop(): Promise<void> {
    await this.http?.close();
    await this.processor.close();
    await this.queue.close();
    this.pinger.disconnect();
    this.jobs.close();
    await this.scheduler.stop();
  }
}
