import { parseArgs } from "node:util";
import { resolveApiToken } from "../scheduler/http/api-token.js";
import { DEFAULT_HTTP_PORT } from "../protocol/job-api.js";
import { DEFAULT_BODY_LIMIT, DEFAULT_DATA_LIMIT, DEFAULT_MAX_TASKS, DEFAULT_RATE_LIMIT } from "../scheduler/http/http-api.js";
import { DEFAULT_JSON_RESULT_LIMIT } from "../scheduler/http/result-formats.js";
import { SchedulerProcess, type SchedulerHttpOptions } from "../scheduler/scheduler-process.js";
import { dataTokenFromEnv, parseCount, parseDataRoots, parsePort, parseSeconds, redactPassword } from "./command-arguments.js";
import { chooseRedis, DEFAULT_REDIS_TIMEOUT_SECONDS, DEFAULT_REDIS_URL, reachRedis, REDIS_PASSWORD_ENV, REDIS_URL_ENV, withRedisPassword } from "./reach-redis.js";
import { isLogLevel, jsonLogger, LOG_LEVELS } from "../protocol/logger.js";
import { DEFAULT_LEASE_TTL_MS, describeHolder, MIN_LEASE_TTL_MS } from "../protocol/redis/scheduler-lease.js";
import { redisOutageLog } from "../protocol/redis/redis-reachability.js";
import { PortInUseError } from "../scheduler/http/api-listener.js";
import { SchedulerRoleTakenError, type LeaseLostError } from "../scheduler/scheduler-role.js";

/**
 * Exit code of a scheduler that lost the scheduler role to another (it froze or was cut off past its
 * lease): it stopped acting, and a supervisor restarting it makes it a standby.
 */
export const EXIT_LEASE_LOST = 3;

function usage(): string {
  return `usage: weft scheduler [--redis URL] [options]

Runs the scheduler: takes submitted graphs from the durable jobs queue in Redis and runs them on
the workers that registered there, and serves the HTTP API (docs/http-api.md). Graphs it had not
finished when it stopped or crashed are picked up again by the next scheduler started. SIGINT or
SIGTERM stops it. It waits at most --redis-timeout for Redis at start-up, then exits 1 saying why.
(For everything on this machine at once, with a Redis of its own: weft up.)

One scheduler acts per Redis and prefix: it holds a lease in Redis, renewed every third of
--lease-ms, and every write it makes carries the lease's epoch, which Redis checks. A second
scheduler stands by (logging once who holds the lease; no jobs, no reads) and takes over when that
lease lapses or is released; with --no-standby it exits 1 instead. A standby serves the HTTP API
at once: /v1/health answers 200, /v1/ready and every other route 503 "standby" naming the
scheduler holding the lease. Two schedulers on one host need two --http-port values: a scheduler
whose port is taken exits 1 at once, naming it.

While Redis does not answer, the scheduler logs one warning (and one line when it answers again),
its connections wait for Redis, jobs resume when it is back, and HTTP requests that need Redis get
503 "redis-unreachable" at once (/v1/ready too). A scheduler that
finds another took its lease (it froze or was cut off longer than --lease-ms) stops acting at once,
logs an error and exits ${EXIT_LEASE_LOST}: restarted, it stands by.

The HTTP API needs a bearer token: --api-token, else WEFT_TOKEN, else the token saved in the state
directory, else a new one, saved there (mode 0600) and printed once on stderr.

options:
  --redis              Redis URL of the deployment (default: ${REDIS_URL_ENV}, else ${DEFAULT_REDIS_URL})
  --redis-timeout      seconds to wait for Redis to answer at start-up (default ${DEFAULT_REDIS_TIMEOUT_SECONDS})
  --redis-password-file  file whose first line is the Redis password (default: ${REDIS_PASSWORD_ENV}, else
                       the URL's); either keeps it out of command lines, which every user can read.
                       rediss:// URLs use TLS; NODE_EXTRA_CA_CERTS=ca.pem trusts a CA of your own
  --prefix             Redis key prefix shared with the workers (default weft)
  --http-port          port of the HTTP API; 0 picks a free one (default ${DEFAULT_HTTP_PORT})
  --host               interface of the HTTP API (default 127.0.0.1: this machine only)
  --no-http            do not serve the HTTP API
  --api-token          bearer token of the HTTP API (default: WEFT_TOKEN, or the saved token)
  --state-dir          where the generated API token is saved (default: WEFT_STATE_DIR, else
                       $XDG_STATE_HOME/weft, else ~/.local/state/weft)
  --body-limit         largest request body in bytes (default ${DEFAULT_BODY_LIMIT})
  --data-limit         largest data upload (POST /v1/data) in bytes (default ${DEFAULT_DATA_LIMIT})
  --max-tasks          most tasks in one submitted graph (default ${DEFAULT_MAX_TASKS})
  --json-result-limit  largest result sent as JSON, in bytes; larger ones get 406 and are sent as
                       MessagePack or Arrow on request (default ${DEFAULT_JSON_RESULT_LIMIT})
  --rate-limit         requests per minute per client (default ${DEFAULT_RATE_LIMIT})
  --data-root          directory the built-in CSV, Parquet and Arrow IPC tasks of graphs sent over
                       HTTP may read and write (symbolic links resolved); repeatable. Default: none,
                       so such graphs are refused with 403 (docs/security.md)
  --token              data token of the workers' data servers (default: $WEFT_DATA_TOKEN, else the
                       cluster's own, made once and kept in Redis under --prefix)
  --tick-ms            how often workers are checked and stealing is planned (default 100)
  --retention-seconds  how long a finished job's state and result stay queryable (default 3600)
  --lock-ms            how soon a crashed scheduler's jobs are picked up again (default 10000)
  --no-workers-warning seconds a running job may wait for a worker able to run it (none joined,
                       all gone or paused) before its status and events say so (default 10)
  --lease-ms           lifetime of the scheduler lease: how soon a standby replaces a scheduler
                       that crashed or froze (default ${DEFAULT_LEASE_TTL_MS}, at least ${MIN_LEASE_TTL_MS})
  --no-standby         exit 1 if another scheduler holds the lease, instead of standing by
  --log-level          ${LOG_LEVELS.join(" | ")} (default info); logs are JSON lines on stderr`;
}

/** `weft scheduler ...`: runs the scheduler until SIGINT or SIGTERM. */
export async function schedulerCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        redis: { type: "string" },
        "redis-timeout": { type: "string", default: String(DEFAULT_REDIS_TIMEOUT_SECONDS) },
        "redis-password-file": { type: "string" },
        prefix: { type: "string", default: "weft" },
        token: { type: "string" },
        "http-port": { type: "string", default: String(DEFAULT_HTTP_PORT) },
        host: { type: "string", default: "127.0.0.1" },
        "no-http": { type: "boolean", default: false },
        "api-token": { type: "string" },
        "state-dir": { type: "string" },
        "body-limit": { type: "string", default: String(DEFAULT_BODY_LIMIT) },
        "data-limit": { type: "string", default: String(DEFAULT_DATA_LIMIT) },
        "max-tasks": { type: "string", default: String(DEFAULT_MAX_TASKS) },
        "json-result-limit": { type: "string", default: String(DEFAULT_JSON_RESULT_LIMIT) },
        "rate-limit": { type: "string", default: String(DEFAULT_RATE_LIMIT) },
        "data-root": { type: "string", multiple: true, default: [] },
        "tick-ms": { type: "string", default: "100" },
        "retention-seconds": { type: "string", default: "3600" },
        "lock-ms": { type: "string", default: "10000" },
        "no-workers-warning": { type: "string", default: "10" },
        "lease-ms": { type: "string", default: String(DEFAULT_LEASE_TTL_MS) },
        "no-standby": { type: "boolean", default: false },
        "log-level": { type: "string", default: "info" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    console.error(`weft scheduler: ${(error as Error).message}\n\n${usage()}`);
    return 2;
  }
  const { values } = parsed;
  if (values.help) {
    console.log(usage());
    return 0;
  }
  const chosen = chooseRedis("scheduler", values.redis);
  const redis = chosen === null ? null : withRedisPassword("scheduler", chosen, values["redis-password-file"]);
  const redisTimeout = parseSeconds("scheduler", "--redis-timeout", values["redis-timeout"]);
  const tickMs = parseCount("scheduler", "--tick-ms", values["tick-ms"]);
  const retentionSeconds = parseCount("scheduler", "--retention-seconds", values["retention-seconds"]);
  const lockDurationMs = parseCount("scheduler", "--lock-ms", values["lock-ms"]);
  const leaseMs = parseCount("scheduler", "--lease-ms", values["lease-ms"]);
  const port = parsePort("scheduler", "--http-port", values["http-port"]);
  const bodyLimitBytes = parseCount("scheduler", "--body-limit", values["body-limit"]);
  const dataLimitBytes = parseCount("scheduler", "--data-limit", values["data-limit"]);
  const maxTasks = parseCount("scheduler", "--max-tasks", values["max-tasks"]);
  const maxJsonResultBytes = parseCount("scheduler", "--json-result-limit", values["json-result-limit"]);
  const rateLimitPerMinute = parseCount("scheduler", "--rate-limit", values["rate-limit"]);
  const noWorkersWarning = parseSeconds("scheduler", "--no-workers-warning", values["no-workers-warning"]);
  if (noWorkersWarning === null) return 2;
  if (redis === null || redisTimeout === null || tickMs === null || retentionSeconds === null || lockDurationMs === null || leaseMs === null) return 2;
  if (leaseMs < MIN_LEASE_TTL_MS) {
    console.error(`weft scheduler: --lease-ms must be at least ${MIN_LEASE_TTL_MS}, got ${leaseMs}`);
    return 2;
  }
  if (port === null || bodyLimitBytes === null || dataLimitBytes === null || maxTasks === null || rateLimitPerMinute === null) return 2;
  if (maxJsonResultBytes === null) return 2;
  const level = values["log-level"];
  if (!isLogLevel(level)) {
    console.error(`weft scheduler: unknown log level "${level}"; use ${LOG_LEVELS.join(", ")}`);
    return 2;
  }
  if (values.prefix === "") {
    console.error("weft scheduler: --prefix must not be empty");
    return 2;
  }
  const dataRoots = parseDataRoots("scheduler", values["data-root"]);
  if (dataRoots === null) return 2;

  const logger = jsonLogger({ level, fields: { component: "scheduler", pid: process.pid } });
  if (!(await reachRedis("scheduler", redis, redisTimeout, logger))) return 1;
  let http: SchedulerHttpOptions | undefined;
  if (!values["no-http"]) {
    let resolved;
    try {
      resolved = await resolveApiToken({ flag: values["api-token"], stateDir: values["state-dir"] });
    } catch (error) {
      console.error(`weft scheduler: ${(error as Error).message}`);
      return 2;
    }
    if (resolved.source === "generated") {
      // Printed once, at the first start; later starts read the file.
      console.error(`weft scheduler: generated the HTTP API token, saved to ${resolved.file} (readable by this user only):\n${resolved.token}`);
    }
    http = { token: resolved.token, host: values.host, port, bodyLimitBytes, dataLimitBytes, maxTasks, maxJsonResultBytes, rateLimitPerMinute, dataRoots, eventStreams: { logger } };
  }
  // Listened to before start-up: a standby waits in it, and must stop on a signal too.
  const standingBy = new AbortController();
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    for (const name of ["SIGINT", "SIGTERM"] as const) {
      process.once(name, (signal: NodeJS.Signals) => {
        standingBy.abort();
        resolve(signal);
      });
    }
  });
  let lost!: (error: LeaseLostError) => void;
  const lostLease = new Promise<LeaseLostError>((resolve) => (lost = resolve));
  const where = { redis: redactPassword(redis.url), prefix: values.prefix };
  let scheduler: SchedulerProcess;
  let listening: string | undefined;
  const outageLog = redisOutageLog(logger, redis.url);
  try {
    scheduler = await SchedulerProcess.start({
      http,
      onListening: (url) => {
        listening = url;
        logger.info("serving the HTTP API", { http: url });
      },
      onRedisUnreachable: outageLog.onUnreachable,
      onRedisReachable: outageLog.onReachable,
      redis: redis.url,
      prefix: values.prefix,
      token: values.token ?? dataTokenFromEnv(),
      tickMs,
      retentionSeconds,
      lockDurationMs,
      noWorkersWarningMs: noWorkersWarning * 1000,
      lease: {
        ttlMs: leaseMs,
        standby: !values["no-standby"],
        signal: standingBy.signal,
        onStandby: (holder) =>
          logger.warn("standing by: another scheduler holds the lease", { ...where, http: listening ?? "off", holder: describeHolder(holder) }),
        onLost: lost,
      },
      onError: (error) => logger.warn("recovered from an error", { error }),
      logger,
    });
  } catch (error) {
    if (error instanceof PortInUseError) {
      console.error(`weft scheduler: ${error.message}; exiting`);
      return 1;
    }
    if (error instanceof SchedulerRoleTakenError) {
      console.error(`weft scheduler: ${error.message} (Redis ${where.redis}); not standing by, as --no-standby asks`);
      return 1;
    }
    if (standingBy.signal.aborted) {
      logger.info("stopped while standing by", { signal: await signalled });
      return 0;
    }
    throw error;
  }
  const { role } = scheduler.scheduler;
  if (role.previous !== undefined) logger.info("took over the scheduler lease", { epoch: role.epoch, previous: describeHolder(role.previous) });
  logger.info("weft scheduler running", { ...where, http: scheduler.http?.url ?? "off", dataRoots, epoch: role.epoch });
  const ended = await Promise.race([signalled, lostLease]);
  if (typeof ended !== "string") {
    logger.error("lost the scheduler lease: stopped acting; exiting so that a restart stands by", {
      epoch: ended.epoch,
      holder: ended.holder === undefined ? undefined : describeHolder(ended.holder),
      reason: ended.message,
    });
    // A deposed scheduler must not linger: what is left to close gets a few seconds.
    setTimeout(() => process.exit(EXIT_LEASE_LOST), 5_000).unref();
    await scheduler.stop().catch(() => undefined);
    return EXIT_LEASE_LOST;
  }
  logger.info("stopping", { signal: ended });
  await scheduler.stop();
  logger.info("weft scheduler stopped");
  return 0;
}
