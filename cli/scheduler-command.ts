import { parseArgs } from "node:util";
import { SchedulerProcess } from "../scheduler/scheduler-process.js";
import { dataTokenFromEnv, parseCount, parseRedisUrl, redactPassword } from "./command-arguments.js";
import { isLogLevel, jsonLogger, LOG_LEVELS } from "./logger.js";

function usage(): string {
  return `usage: weft scheduler --redis URL [options]

Runs the scheduler: takes submitted graphs from the durable jobs queue in Redis and runs them on
the workers that registered there. Graphs it had not finished when it stopped or crashed are
picked up again by the next scheduler started. SIGINT or SIGTERM stops it.

options:
  --redis              Redis URL of the deployment, such as redis://127.0.0.1:6379 (required)
  --prefix             Redis key prefix shared with the workers (default weft)
  --token              bearer token of the workers' data servers (default: $WEFT_DATA_TOKEN, else none)
  --tick-ms            how often workers are checked and stealing is planned (default 100)
  --retention-seconds  how long a finished job's state and result stay queryable (default 3600)
  --lock-ms            how soon a crashed scheduler's jobs are picked up again (default 10000)
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
        prefix: { type: "string", default: "weft" },
        token: { type: "string" },
        "tick-ms": { type: "string", default: "100" },
        "retention-seconds": { type: "string", default: "3600" },
        "lock-ms": { type: "string", default: "10000" },
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
  const redis = parseRedisUrl("scheduler", values.redis);
  const tickMs = parseCount("scheduler", "--tick-ms", values["tick-ms"]);
  const retentionSeconds = parseCount("scheduler", "--retention-seconds", values["retention-seconds"]);
  const lockDurationMs = parseCount("scheduler", "--lock-ms", values["lock-ms"]);
  if (redis === null || tickMs === null || retentionSeconds === null || lockDurationMs === null) return 2;
  const level = values["log-level"];
  if (!isLogLevel(level)) {
    console.error(`weft scheduler: unknown log level "${level}"; use ${LOG_LEVELS.join(", ")}`);
    return 2;
  }
  if (values.prefix === "") {
    console.error("weft scheduler: --prefix must not be empty");
    return 2;
  }

  const logger = jsonLogger({ level, fields: { component: "scheduler", pid: process.pid } });
  const scheduler = await SchedulerProcess.start({
    redis,
    prefix: values.prefix,
    token: values.token ?? dataTokenFromEnv(),
    tickMs,
    retentionSeconds,
    lockDurationMs,
    onError: (error) => logger.warn("recovered from an error", { error }),
  });
  logger.info("weft scheduler running", { redis: redactPassword(redis), prefix: values.prefix });
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    for (const name of ["SIGINT", "SIGTERM"] as const) process.once(name, resolve);
  });
  logger.info("stopping", { signal });
  await scheduler.stop();
  logger.info("weft scheduler stopped");
  return 0;
}
