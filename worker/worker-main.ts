/**
 * Entry point of one worker process, started by the `Nanny` of `weft worker` (`nanny.ts`), which passes
 * the options as JSON in the `WEFT_WORKER_OPTIONS` environment variable.
 *
 * Exit codes: 0 after a clean stop (SIGTERM, SIGINT, or the nanny gone); 1 when the worker could not
 * start, crashed, or did not stop within its grace period; 2 when the options are missing or
 * malformed; 3 when the scheduler declared the worker dead (frozen, cut off), so that the nanny starts
 * a fresh one under a new id.
 */
import { isLogLevel, jsonLogger, type Logger } from "../protocol/logger.js";
import { RedisReachability, redisOutageLog } from "../protocol/redis/redis-reachability.js";
import { takeLaunchOptions, WORKER_OPTIONS_ENV, WORKER_STARTED_MESSAGE, type WorkerLaunchOptions } from "../protocol/worker-launch.js";
import { WorkerProcess } from "./worker-process.js";

const EXIT_STOPPED = 0;
const EXIT_FAILED = 1;
const EXIT_BAD_OPTIONS = 2;
const EXIT_DECLARED_DEAD = 3;

async function main(): Promise<number> {
  let options: WorkerLaunchOptions;
  try {
    options = readOptions();
  } catch (error) {
    jsonLogger({ fields: { pid: process.pid } }).error((error as Error).message);
    return EXIT_BAD_OPTIONS;
  }
  const logger = jsonLogger({ level: options.logLevel, fields: { worker: options.id, pid: process.pid } });
  logFatalErrors(logger);

  // Handlers go in before the worker registers: a signal during start-up must still end in a clean
  // stop (marked stopping in Redis), not in a registration left to expire.
  let worker: WorkerProcess | undefined;
  let stopReason: string | undefined;
  const requestStop = (reason: string) => {
    if (stopReason !== undefined) return; // a repeated signal: the grace timer below, or the nanny, ends a stop that takes too long
    stopReason = reason;
    logger.info("worker stopping", { reason });
    void worker?.stop();
    const graceMs = options.stopGraceMs ?? 10_000;
    setTimeout(() => {
      logger.error("worker did not stop in time; exiting anyway", { reason, graceMs });
      process.exit(EXIT_FAILED);
    }, graceMs).unref();
  };
  process.on("SIGTERM", () => requestStop("SIGTERM"));
  process.on("SIGINT", () => requestStop("SIGINT"));
  process.on("disconnect", () => requestStop("supervisor gone"));

  // A Redis outage is said once, not once per connection and retry; its connections wait for Redis meanwhile.
  const reachability = new RedisReachability(options.redis, redisOutageLog(logger, options.redis));
  const onError = reachability.filter((error) => logger.warn("worker error", { error }));
  try {
    worker = await WorkerProcess.start({ ...options, logger, onError });
  } catch (error) {
    logger.error("worker failed to start", { error });
    return EXIT_FAILED;
  }
  logger.info("worker started", {
    nthreads: worker.nthreads,
    executor: options.executor ?? "threads",
    dataAddress: worker.dataAddress,
    imports: options.imports ?? [],
  });
  // Tells the nanny (when there is one) that this worker started: its exit from now on is no failure to start.
  if (process.send !== undefined && process.connected) process.send(WORKER_STARTED_MESSAGE, undefined, {}, () => undefined);
  if (stopReason !== undefined) void worker.stop();

  await worker.done;
  if (stopReason === undefined) {
    logger.error("the scheduler declared this worker dead; exiting so that a fresh worker takes its place");
    return EXIT_DECLARED_DEAD;
  }
  logger.info("worker stopped");
  return EXIT_STOPPED;
}

/** Reads and then removes the options (see `takeLaunchOptions`), and checks the ones every worker needs. */
function readOptions(): WorkerLaunchOptions {
  const options = takeLaunchOptions(WORKER_OPTIONS_ENV, '"weft worker"') as Partial<WorkerLaunchOptions>;
  if (typeof options.id !== "string" || options.id === "") throw new Error(`${WORKER_OPTIONS_ENV} has no worker id`);
  if (typeof options.redis !== "string" || options.redis === "") throw new Error(`${WORKER_OPTIONS_ENV} has no Redis URL`);
  if (options.logLevel !== undefined && !isLogLevel(options.logLevel)) throw new Error(`${WORKER_OPTIONS_ENV} has an unknown log level "${options.logLevel}"`);
  return options as WorkerLaunchOptions;
}

/** Crashes are logged as JSON like everything else, then end the process for the nanny to replace. */
function logFatalErrors(logger: Logger): void {
  const fatal = (kind: string) => (error: unknown) => {
    logger.error(`worker crashed: ${kind}`, { error });
    process.exit(EXIT_FAILED);
  };
  process.on("uncaughtException", fatal("uncaught exception"));
  process.on("unhandledRejection", fatal("unhandled rejection"));
}

// process.exit, not a natural end: the IPC channel to the nanny (and any handle a task module left
// open) would otherwise keep a stopped worker alive. Writes to stderr are synchronous for files and
// pipes on POSIX, so the last log lines are out by then.
void main().then((code) => process.exit(code));
