import Fastify, { type FastifyInstance, type FastifyServerFactory } from "fastify";
import { DataRoots } from "../../protocol/data-roots.js";
import { DEFAULT_HTTP_PORT } from "../../protocol/job-api.js";
import type { DistributedScheduler } from "../distributed-scheduler.js";
import type { JobService } from "../job-service.js";
import { ScatteredData } from "../scattered-data.js";
import { errorBodySchema, installErrorReplies } from "./api-error.js";
import { dataRoutes } from "./data-routes.js";
import { eventRoutes } from "./event-routes.js";
import { JobEventStreams, type JobEventStreamOptions } from "./job-event-streams.js";
import { healthRoutes } from "./health-routes.js";
import { jobListRoute } from "./job-list-route.js";
import { jobRoutes } from "./job-routes.js";
import { installBodyParsers } from "./body-parsers.js";
import { installDecimalQuery } from "./decimal-query.js";
import { clientErrorReply, frameworkErrorReply, installNotFoundReplies } from "./framework-errors.js";
import { DOCS_PREFIX, installOpenApi } from "./openapi.js";
import { installRedisGate, UNGUARDED, type RedisGuard } from "./redis-gate.js";
import { DEFAULT_RATE_LIMIT, installRequestGuards } from "./request-guards.js";
import { DEFAULT_JSON_RESULT_LIMIT } from "./result-formats.js";
import { workerRoutes } from "./worker-routes.js";

/** Default {@link HttpApiOptions.bodyLimitBytes}: 16 MiB. */
export const DEFAULT_BODY_LIMIT = 16 * 1024 * 1024;
/** Default {@link HttpApiOptions.dataLimitBytes}: 64 MiB. */
export const DEFAULT_DATA_LIMIT = 64 * 1024 * 1024;
/** Default {@link HttpApiOptions.maxTasks}. */
export const DEFAULT_MAX_TASKS = 100_000;
/** Longest path parameter (a job id, a hold id), in characters: longer ones get 414. */
export const MAX_PARAM_LENGTH = 200;
export { DEFAULT_RATE_LIMIT };
/** Default {@link HttpApiOptions.redisTimeoutMs}: 3 s. */
export const DEFAULT_REDIS_TIMEOUT_MS = 3_000;

/** Options of {@link startHttpApi}. */
export interface HttpApiOptions {
  readonly jobs: JobService;
  /** The bearer token every request but health, readiness and docs must present. Required. */
  readonly token: string;
  /** Interface to listen on. Default `127.0.0.1`: reachable from this machine only. */
  readonly host?: string;
  /** Port; 0 picks a free one. Default {@link DEFAULT_HTTP_PORT} (8786). */
  readonly port?: number;
  /** Largest request body, in bytes. Default {@link DEFAULT_BODY_LIMIT} (16 MiB). */
  readonly bodyLimitBytes?: number;
  /**
   * Largest body of a data upload (`POST /v1/data`: one table, or values by key), in bytes. The
   * scheduler holds an upload only until a worker does. Default {@link DEFAULT_DATA_LIMIT} (64 MiB).
   */
  readonly dataLimitBytes?: number;
  /** Most tasks in one submitted graph. Default {@link DEFAULT_MAX_TASKS} (100,000). */
  readonly maxTasks?: number;
  /**
   * Largest result sent as JSON, in bytes of JSON text: a larger one gets 406 `result-too-large`,
   * pointing to MessagePack or Arrow, which send it (JSON text is built whole in the scheduler's
   * memory, and held until the client reads it). Default {@link DEFAULT_JSON_RESULT_LIMIT} (64 MiB).
   */
  readonly maxJsonResultBytes?: number;
  /**
   * Requests one client may make per minute; a client is its token and address. Default
   * {@link DEFAULT_RATE_LIMIT} (60,000, about 1,000 per second: a flood is stopped, a busy client is not).
   */
  readonly rateLimitPerMinute?: number;
  /**
   * Bounds and batching of job event streams (`GET /v1/jobs/:id/events`): how much a subscriber may
   * leave unread, how long it may stay blocked, where its disconnection is logged. Defaults: see
   * {@link JobEventStreamOptions} (1 MiB, 60 s, batches every 100 ms, not logged).
   */
  readonly eventStreams?: JobEventStreamOptions;
  /**
   * Directories the built-in file tasks (CSV, Parquet, Arrow IPC readers and writers) of graphs
   * submitted over HTTP may read and write, below which symbolic links are resolved
   * (`file-access.ts`). Each must exist. Default: none, so such graphs are refused with 403.
   */
  readonly dataRoots?: readonly string[];
  /** Checks that Redis answers, for readiness; rejects (within a bound of its own) when it does not. */
  readonly pingRedis: () => Promise<void>;
  /**
   * Whether Redis answers: a request that needs Redis while it does not is refused at once with 503
   * `redis-unreachable` (see `redis-gate.ts`), and a submission waits for Redis at most
   * `redisTimeoutMs`. Default {@link UNGUARDED}: requests wait for Redis as long as it takes.
   */
  readonly redis?: RedisGuard;
  /**
   * Longest a submission waits for Redis to record its job, in ms: then it gets 503
   * `redis-unreachable` naming the job's id (the job may still be recorded once Redis answers: a
   * submission repeated with that id creates no second job). Default {@link DEFAULT_REDIS_TIMEOUT_MS} (3,000).
   */
  readonly redisTimeoutMs?: number;
  /** Called with errors that became 500 replies. Default: ignored. */
  readonly onError?: (error: Error) => void;
  /** Builds the app on this server (an `ApiListener` slot's) instead of a server of its own. Default: its own. */
  readonly serverFactory?: FastifyServerFactory;
}

/** A running HTTP API. */
export interface HttpApi {
  /** Base URL, such as `http://127.0.0.1:8786`. */
  readonly url: string;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

/**
 * Builds the HTTP API (see docs/http-api.md) without listening: fastify with JSON and MessagePack
 * bodies (prototype poisoning refused in both), schema validation, bearer-token auth, a per-client
 * rate limit, JSON error replies, and the OpenAPI document and docs page.
 */
export async function buildHttpApi(options: Omit<HttpApiOptions, "host" | "port">): Promise<FastifyInstance> {
  // First: a root that does not exist stops the start, before anything listens.
  const dataRoots = options.dataRoots === undefined || options.dataRoots.length === 0 ? undefined : DataRoots.of(options.dataRoots);
  const app = Fastify({
    bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT,
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    logger: false,
    // Event streams stay open until their job ends: closing the API must not wait for them.
    forceCloseConnections: true,
    // Requests carry job ids in their paths; 1 KiB of URL is plenty.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // The router's and Node's own error replies, in the API's error shape.
    frameworkErrors: frameworkErrorReply(MAX_PARAM_LENGTH),
    clientErrorHandler: clientErrorReply,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: "array", useDefaults: true, allErrors: false } },
    ...(options.serverFactory === undefined ? {} : { serverFactory: options.serverFactory }),
  });
  app.addSchema(errorBodySchema);
  installErrorReplies(app, options.onError ?? (() => undefined));
  installNotFoundReplies(app);
  installBodyParsers(app);
  installDecimalQuery(app);
  await installOpenApi(app, "0.1.0");
  await installRequestGuards(app, { token: options.token, rateLimitPerMinute: options.rateLimitPerMinute, publicPrefixes: [DOCS_PREFIX] });
  // After the token's check: a request without a valid one learns nothing of Redis.
  const redis = options.redis ?? UNGUARDED;
  installRedisGate(app, redis, (id) => options.jobs.knows(id));
  const scheduler: DistributedScheduler = options.jobs.scheduler;
  healthRoutes(app, scheduler, options.pingRedis);
  jobRoutes(app, options.jobs, {
    redisTimeoutMs: options.redisTimeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS,
    redis,
    maxTasks: options.maxTasks ?? DEFAULT_MAX_TASKS,
    maxJsonResultBytes: options.maxJsonResultBytes ?? DEFAULT_JSON_RESULT_LIMIT,
    dataRoots,
  });
  jobListRoute(app, options.jobs);
  await dataRoutes(app, new ScatteredData(scheduler), () => scheduler.workerIds.length > 0, {
    bodyLimitBytes: options.dataLimitBytes ?? DEFAULT_DATA_LIMIT,
  });
  eventRoutes(app, new JobEventStreams(options.jobs, options.eventStreams));
  workerRoutes(app, scheduler);
  return app;
}

/** Builds the HTTP API and listens; see {@link HttpApiOptions} for the defaults. */
export async function startHttpApi(options: HttpApiOptions): Promise<HttpApi> {
  const app = await buildHttpApi(options);
  await app.listen({ host: options.host ?? "127.0.0.1", port: options.port ?? DEFAULT_HTTP_PORT });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("the HTTP API did not get a TCP address");
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return { url: `http://${host}:${address.port}`, app, close: () => app.close() };
}
