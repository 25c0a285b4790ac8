import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { Nanny, TypeScriptLoaderMissingError } from "../worker/nanny.js";
import { dataTokenFromEnv, parseCount, parseDataRoots, parseImports, parseMemoryLimit, parseSeconds, redactPassword } from "./command-arguments.js";
import { chooseRedis, DEFAULT_REDIS_TIMEOUT_SECONDS, DEFAULT_REDIS_URL, reachRedis, REDIS_PASSWORD_ENV, REDIS_URL_ENV, withRedisPassword } from "./reach-redis.js";
import { isLogLevel, jsonLogger, LOG_LEVELS } from "../protocol/logger.js";

const EXECUTORS = ["threads", "main"] as const;

function usage(): string {
  return `usage: weft worker [--redis URL] [--nthreads N] [--nprocs P] [--import ./tasks.js ...] [options]

Starts P worker processes that take tasks from the scheduler through Redis, and supervises them:
one that dies is replaced by a fresh worker (backing off, and giving up on a slot whose workers
keep exiting before they have started). SIGINT or SIGTERM stops them cleanly: each hands back its
queued tasks and finishes its running ones. It waits at most --redis-timeout for Redis at
start-up, then exits 1 saying why.

options:
  --redis      Redis URL of the deployment (default: ${REDIS_URL_ENV}, else ${DEFAULT_REDIS_URL})
  --redis-timeout  seconds to wait for Redis to answer at start-up (default ${DEFAULT_REDIS_TIMEOUT_SECONDS})
  --redis-password-file  file whose first line is the Redis password (default: ${REDIS_PASSWORD_ENV},
               else the URL's); either keeps it out of command lines, which every user can read.
               rediss:// URLs use TLS; NODE_EXTRA_CA_CERTS=ca.pem trusts a CA of your own
  --nprocs     worker processes (default 1)
  --nthreads   tasks each process runs at once (default: CPU count / nprocs, at least 1)
  --import     module registering task functions, loaded by every worker; repeatable. A .ts module
               is loaded with the tsx installed in its project (or the one weft was started with)
  --prefix     Redis key prefix shared with the scheduler (default weft)
  --host       interface the workers' data servers listen on (default 127.0.0.1)
  --advertise  host name or address peers use to reach the data servers (default: --host, or this
               machine's first external IPv4 address when --host is 0.0.0.0 or ::)
  --token      data token peers must prove they hold to fetch from the data servers (default:
               $WEFT_DATA_TOKEN, else the cluster's own, made once and kept in Redis under --prefix);
               prefer the environment variable: other users of the machine can read command lines
  --memory-limit  resident memory per process, such as 512MB or 2GB: a process at 80% of it takes
               no new tasks until its memory falls (default: no limit)
  --data-root  directory the built-in CSV, Parquet and Arrow IPC tasks may read and write, checked
               on this host (symbolic links resolved) before each opens its file; repeatable.
               Default: any (the scheduler checks graphs sent over HTTP against its own roots)
  --executor   threads | main: run tasks on a worker_threads pool or the main thread (default threads;
               main suits tasks that await I/O: a long computation there silences heartbeats)
  --log-level  ${LOG_LEVELS.join(" | ")} (default info); logs are JSON lines on stderr`;
}

/** `weft worker ...`: runs a supervised set of worker processes until SIGINT or SIGTERM. */
export async function workerCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        redis: { type: "string" },
        "redis-timeout": { type: "string", default: String(DEFAULT_REDIS_TIMEOUT_SECONDS) },
        "redis-password-file": { type: "string" },
        nthreads: { type: "string" },
        nprocs: { type: "string", default: "1" },
        import: { type: "string", multiple: true, default: [] },
        prefix: { type: "string", default: "weft" },
        host: { type: "string", default: "127.0.0.1" },
        token: { type: "string" },
        advertise: { type: "string" },
        executor: { type: "string", default: "threads" },
        "memory-limit": { type: "string" },
        "data-root": { type: "string", multiple: true, default: [] },
        "log-level": { type: "string", default: "info" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    return refuse(`${(error as Error).message}\n\n${usage()}`);
  }
  const { values } = parsed;
  if (values.help) {
    console.log(usage());
    return 0;
  }
  const chosen = chooseRedis("worker", values.redis);
  const redis = chosen === null ? null : withRedisPassword("worker", chosen, values["redis-password-file"]);
  const redisTimeout = parseSeconds("worker", "--redis-timeout", values["redis-timeout"]);
  const nprocs = parseCount("worker", "--nprocs", values.nprocs);
  const nthreads =
    values.nthreads === undefined
      ? Math.max(1, Math.floor(availableParallelism() / (nprocs ?? 1)))
      : parseCount("worker", "--nthreads", values.nthreads);
  if (redis === null || redisTimeout === null || nprocs === null || nthreads === null) return 2;
  const executor = values.executor as (typeof EXECUTORS)[number];
  if (!EXECUTORS.includes(executor)) return refuse(`unknown executor "${values.executor}"; use ${EXECUTORS.join(" or ")}`);
  const logLevel = values["log-level"];
  if (!isLogLevel(logLevel)) return refuse(`unknown log level "${logLevel}"; use ${LOG_LEVELS.join(", ")}`);
  if (values.prefix === "") return refuse("--prefix must not be empty");
  const memoryLimit = parseMemoryLimit("worker", values["memory-limit"]);
  const imports = parseImports("worker", values.import);
  const dataRoots = parseDataRoots("worker", values["data-root"]);
  if (memoryLimit === null || imports === null || dataRoots === null) return 2;

  const logger = jsonLogger({ level: logLevel, fields: { component: "nanny", pid: process.pid } });
  logger.info("weft worker starting", { redis: redactPassword(redis.url), prefix: values.prefix, nprocs, nthreads, executor, imports });
  if (!(await reachRedis("worker", redis, redisTimeout, logger))) return 1;
  let nanny: Nanny;
  try {
    nanny = Nanny.start({
      nprocs,
      logger,
      worker: { redis: redis.url, prefix: values.prefix, nthreads, executor, imports, host: values.host, advertise: values.advertise, token: values.token ?? dataTokenFromEnv(), logLevel, memoryLimit, dataRoots },
    });
  } catch (error) {
    if (error instanceof TypeScriptLoaderMissingError) return refuse(`--import ${values.import[imports.indexOf(error.module)]}: ${error.message}`);
    throw error;
  }

  // Listeners stay until the workers are down: a second Ctrl-C (or the same signal forwarded by the
  // tuned-node parent) must not kill the nanny halfway and orphan the workers. A worker slow to stop
  // is SIGKILLed by the nanny after its grace period instead.
  let onSignal!: (signal: NodeJS.Signals) => void;
  const signalled = new Promise<NodeJS.Signals>((resolveSignal) => (onSignal = resolveSignal));
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, onSignal);
  try {
    const signal = await Promise.race([signalled, nanny.done.then(() => undefined)]);
    if (signal === undefined) {
      logger.error("every worker process failed repeatedly; exiting");
      return 1;
    }
    logger.info("stopping workers", { signal });
    await nanny.stop();
    logger.info("weft worker stopped");
    return 0;
  } finally {
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.off(signal, onSignal);
  }
}

function refuse(message: string): number {
  console.error(`weft worker: ${message}`);
  return 2;
}
