import type { Worker } from "bullmq";
import type { FastifyInstance } from "fastify";
import type { Redis } from "ioredis";
import { DEFAULT_HTTP_PORT } from "../protocol/job-api.js";
import { connectRedis } from "../protocol/redis/connect-redis.js";
import { RedisReachability, RedisUnavailableError } from "../protocol/redis/redis-reachability.js";
import { DEFAULT_LEASE_TTL_MS, SchedulerLease, type LeaseHolder } from "../protocol/redis/scheduler-lease.js";
import { DistributedScheduler, type DistributedSchedulerOptions } from "./distributed-scheduler.js";
import { GraphJobs, processGraphJobs, type GraphJobsWorkerOptions } from "./graph-jobs.js";
import { ApiListener } from "./http/api-listener.js";
import { buildHttpApi, DEFAULT_REDIS_TIMEOUT_MS, type HttpApi, type HttpApiOptions } from "./http/http-api.js";
import type { RedisGuard } from "./http/redis-gate.js";
import { buildStandbyApi, type StandbyState } from "./http/standby-api.js";
import { JobService, type JobServiceOptions } from "./job-service.js";
import type { LeaseLostError } from "./scheduler-role.js";

/** Options of the HTTP API a scheduler process serves (see `HttpApiOptions`). */
export type SchedulerHttpOptions = Omit<HttpApiOptions, "jobs" | "pingRedis" | "onError" | "redis" | "serverFactory">;

/** Options of {@link SchedulerProcess.start}. */
export interface SchedulerProcessOptions
  extends DistributedSchedulerOptions,
    Pick<GraphJobsWorkerOptions, "concurrency" | "retentionSeconds" | "lockDurationMs">,
    Pick<JobServiceOptions, "progressIntervalMs"> {
  /**
   * Serve the HTTP API with these options: from the start, while the scheduler takes the scheduler
   * role or stands by (health 200, everything else 503 saying so), and in full once it holds the
   * role. Default: no HTTP API.
   */
  readonly http?: SchedulerHttpOptions;
  /**
   * How long a running job may wait for a worker able to run its tasks before its status and events
   * say so, in ms (see `JobServiceOptions.noWorkersWarningMs`). Default 10,000.
   */
  readonly noWorkersWarningMs?: number;
  /** Called once the HTTP API listens, with its URL: before the role is taken, so a standby says where it serves. Default: none. */
  readonly onListening?: (url: string) => void;
  /**
   * Called once per Redis outage, when Redis stops answering, with the first connection error; the
   * connection errors of every retry are not passed to `onError` (see `RedisReachability`). Default: none.
   */
  readonly onRedisUnreachable?: (error: Error) => void;
  /** Called once per Redis outage, when Redis answers again, with how long it did not, in ms. Default: none. */
  readonly onRedisReachable?: (downMs: number) => void;
}

/**
 * The scheduler process: a {@link DistributedScheduler} fed by the durable jobs queue, and the HTTP
 * API when asked. Each job is one submitted graph; its outputs' values become the job's result. Stop
 * it and start another (or crash and restart): the jobs it had not finished are picked up again.
 *
 * While Redis does not answer, the process says so once (`onRedisUnreachable`) and once when it
 * answers again (`onRedisReachable`); meanwhile its connections wait for Redis (running jobs resume
 * when it is back), and HTTP requests that need Redis are refused at once with 503
 * `redis-unreachable` instead of waiting.
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
    private readonly reachability: RedisReachability,
  ) {}

  /**
   * Serves the HTTP API (if asked) at once, takes the scheduler role (standing by while another
   * scheduler holds it; see `DistributedSchedulerOptions.lease`), then takes jobs and serves the
   * full API. A standby takes no jobs, and its API answers 503 `standby` naming the scheduler that
   * holds the role. Should the role be lost, the process stops taking jobs at once.
   *
   * @throws PortInUseError (from `http/api-listener.ts`) when the HTTP API's port is taken, before anything else starts.
   */
  static async start(options: SchedulerProcessOptions): Promise<SchedulerProcess> {
    const reachability = new RedisReachability(options.redis, { onUnreachable: options.onRedisUnreachable, onReachable: options.onRedisReachable });
    const onError = reachability.filter(options.onError);
    const pinger = connectRedis(options.redis, onError);
    const redisTimeoutMs = options.http?.redisTimeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS;
    const guard: RedisGuard = {
      check: (outcome) => {
        reachability.check(outcome);
        // Broken this instant (Redis killed, say): the connection knows before a reconnection fails.
        if (pinger.status !== "ready") throw new RedisUnavailableError(reachability.shown, `its connection is ${pinger.status}`, undefined, false, outcome);
      },
      within: (call, timeoutMs, outcome) => reachability.within(call, timeoutMs, outcome),
    };
    let state: StandbyState = { phase: "starting" };
    let standby: { listener: ApiListener; app: FastifyInstance } | undefined;
    let scheduler: DistributedScheduler | undefined;
    const cleanUp = async () => {
      await standby?.app.close();
      await standby?.listener.close();
      await scheduler?.stop();
      pinger.disconnect();
      reachability.stop();
    };
    try {
      if (options.http !== undefined) {
        standby = await serveStandby(options, pinger, guard, redisTimeoutMs, () => state);
        options.onListening?.(standby.listener.url);
      }
      let stopTakingJobs: (() => void) | undefined;
      const onLost = options.lease?.onLost ?? options.onError;
      const lease = {
        ...options.lease,
        onStandby: (holder: LeaseHolder) => {
          state = { phase: "standby", holder, redis: true };
          options.lease?.onStandby?.(holder);
        },
        onLost: (error: LeaseLostError) => {
          stopTakingJobs?.();
          onLost?.(error);
        },
      };
      let jobsLostData: (() => void) | undefined;
      scheduler = await DistributedScheduler.start({
        ...options,
        onError,
        lease,
        onRedisLostData: () => {
          options.onRedisLostData?.();
          jobsLostData?.();
        },
      });
      state = { phase: "starting" };
      // The jobs its predecessor ran come back from the queue: they reuse the results workers kept.
      await scheduler.accountsIn;
      const connection = () => connectRedis(options.redis, onError);
      const queue = new GraphJobs({ connection, prefix: options.prefix });
      const jobs = new JobService(scheduler, queue, { progressIntervalMs: options.progressIntervalMs, noWorkersWarningMs: options.noWorkersWarningMs });
      jobsLostData = () => void jobs.redisLostData().catch((error: Error) => onError(error));
      const processor = processGraphJobs({ ...options, connection }, (graph, outputs, jobId, job) => jobs.run(graph, outputs, jobId, job));
      stopTakingJobs = () => void processor.worker.close(true).catch(() => undefined);
      processor.worker.on("error", (error) => onError(error));
      processor.worker.on("completed", (job) => jobs.recorded(job.id!));
      let http: HttpApi | undefined;
      try {
        await processor.worker.waitUntilReady();
        if (standby !== undefined) http = await serveFully(standby, options.http!, jobs, pinger, guard, redisTimeoutMs, onError);
      } catch (error) {
        await processor.close();
        await queue.close();
        jobs.close();
        throw error;
      }
      return new SchedulerProcess(scheduler, jobs, http, processor, queue, pinger, reachability);
    } catch (error) {
      await cleanUp();
      throw error;
    }
  }

  /** Stops serving HTTP and taking jobs (those running go back to the queue for the next scheduler), and stops. */
  async stop(): Promise<void> {
    await this.http?.close();
    await this.processor.close();
    await this.queue.close();
    this.pinger.disconnect();
    this.jobs.close();
    await this.scheduler.stop();
    this.reachability.stop();
  }
}

/**
 * Listens for the HTTP API and serves the standby's app there until the full API replaces it: 503
 * `starting`, or `standby` naming the scheduler holding the role, read from its lease at each
 * request (within `redisTimeoutMs`; the last one seen when Redis does not answer).
 */
async function serveStandby(
  options: SchedulerProcessOptions,
  pinger: Redis,
  guard: RedisGuard,
  redisTimeoutMs: number,
  current: () => StandbyState,
): Promise<{ listener: ApiListener; app: FastifyInstance }> {
  const http = options.http!;
  const listener = await ApiListener.listen(http.host ?? "127.0.0.1", http.port ?? DEFAULT_HTTP_PORT);
  try {
    const lease = new SchedulerLease(pinger, { prefix: options.prefix, ttlMs: options.lease?.ttlMs });
    const slot = listener.slot();
    const app = await buildStandbyApi({
      token: http.token,
      rateLimitPerMinute: http.rateLimitPerMinute,
      serverFactory: slot.serverFactory,
      leaseTtlMs: options.lease?.ttlMs ?? DEFAULT_LEASE_TTL_MS,
      onError: options.onError,
      state: async () => {
        const now = current();
        if (now.phase !== "standby") return now;
        try {
          guard.check("");
          return { phase: "standby", holder: await guard.within(lease.holder(), redisTimeoutMs, ""), redis: true };
        } catch {
          return { phase: "standby", holder: now.holder, redis: false };
        }
      },
    });
    await app.ready();
    slot.activate();
    return { listener, app };
  } catch (error) {
    await listener.close();
    throw error;
  }
}

/** Builds the full HTTP API on the standby's listener and switches requests to it. */
async function serveFully(
  standby: { listener: ApiListener; app: FastifyInstance },
  http: SchedulerHttpOptions,
  jobs: JobService,
  pinger: Redis,
  guard: RedisGuard,
  redisTimeoutMs: number,
  onError: (error: Error) => void,
): Promise<HttpApi> {
  const slot = standby.listener.slot();
  const outcome = "the scheduler cannot run jobs";
  const app = await buildHttpApi({
    ...http,
    jobs,
    redis: guard,
    // Bounded, and refused at once while Redis is known down: a probe always gets its answer in time.
    pingRedis: async () => {
      guard.check(outcome);
      await guard.within(pinger.ping(), redisTimeoutMs, outcome);
    },
    onError,
    serverFactory: slot.serverFactory,
  });
  await app.ready();
  slot.activate();
  return {
    url: standby.listener.url,
    app,
    close: async () => {
      await app.close();
      await standby.app.close();
      await standby.listener.close();
    },
  };
}
