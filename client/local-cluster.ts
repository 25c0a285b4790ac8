import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { jsonLogger, type LogLevel } from "../protocol/logger.js";
import { redisOutageLog } from "../protocol/redis/redis-reachability.js";
import { nodeEntry, withoutDebuggerFlags } from "../protocol/node-entry.js";
import { startRedisServer, type RedisServer } from "../protocol/redis/private-redis-server.js";
import { registeredTaskModules } from "../protocol/task-registry.js";
import { NANNY_OPTIONS_ENV, type NannyLaunchOptions } from "../protocol/worker-launch.js";
import { DistributedScheduler } from "../scheduler/distributed-scheduler.js";
import { generateApiToken } from "../scheduler/http/api-token.js";
import { SchedulerProcess } from "../scheduler/scheduler-process.js";

/** Options of the HTTP API of a {@link LocalCluster}. */
export interface LocalClusterHttpOptions {
  /** Interface to listen on. Default `127.0.0.1`: this machine only. */
  readonly host?: string;
  /** Port; 0 picks a free one. Default 0. */
  readonly port?: number;
  /** The bearer token every request must present. Default: a new random one, in {@link LocalCluster.api}. */
  readonly token?: string;
}

/** Options of {@link LocalCluster.start}. */
export interface LocalClusterOptions {
  /** Worker processes. Default: the number of CPUs, at most 4. */
  readonly workers?: number;
  /** Tasks each worker runs at once. Default: the number of CPUs ÷ workers, at least 1. */
  readonly threadsPerWorker?: number;
  /**
   * Modules the workers import to register task functions, as paths (relative to the current
   * directory) or `file:` URLs. Default: the module of every function registered with `task()` so
   * far, except the program's entry script (importing it would run the program again in every
   * worker): define tasks in modules of their own, imported before the cluster starts.
   */
  readonly imports?: readonly string[];
  /** Resident memory per worker in bytes, near which it takes no new tasks (see `weft worker --memory-limit`). Default: none. */
  readonly memoryLimit?: number;
  /**
   * The scheduler's HTTP API (with the durable jobs queue behind it), or `false` for neither: the
   * scheduler alone, for this program's clients. Default: on 127.0.0.1, a free port, a generated token.
   */
  readonly http?: LocalClusterHttpOptions | false;
  /**
   * A Redis to use, such as `redis://127.0.0.1:6379`; the cluster's keys then live under a prefix of
   * its own. Default: a private `redis-server` (from PATH) on a free port, started and stopped with the cluster.
   */
  readonly redis?: string;
  /** Least severe level the workers, their nanny and the scheduler log (JSON lines on stderr). Default `"warn"`. */
  readonly logLevel?: LogLevel;
  /**
   * Directories the built-in CSV, Parquet and Arrow IPC tasks of graphs sent to the HTTP API may read
   * and write (see `weft scheduler --data-root`). This program's own client is not restricted: it
   * submits in this process, not over HTTP. Default: none, so such graphs sent over HTTP get 403.
   */
  readonly dataRoots?: readonly string[];
  /** How long to wait for every worker to join, in ms. Default 60,000. */
  readonly startTimeoutMs?: number;
  /**
   * Receives each log line the nanny and its workers write (JSON). Default: they write to this
   * process's stderr.
   */
  readonly logOutput?: (line: string) => void;
}

/** Where a cluster's HTTP API listens, and its token. */
export interface LocalClusterApi {
  /** Base URL, such as `http://127.0.0.1:8786`. */
  readonly url: string;
  readonly token: string;
}

/** What {@link LocalCluster.stop} stops, in order. */
interface Parts {
  server?: RedisServer;
  nanny?: NannyProcess;
  scheduler?: { stop(): Promise<void> };
}

/**
 * A whole cluster on this machine, as Dask's `LocalCluster`: a private redis-server, the scheduler in
 * this process (with its HTTP API), and worker processes under a nanny process. `Client.cluster()`
 * and `weft up` start one. Everything it starts ends with this process, however it ends: the nanny
 * and the workers watch their parent over IPC, and the redis-server runs under a watchdog holding a
 * pipe from this process, so even a SIGKILL leaves nothing behind.
 *
 * The client layer never imports the worker runtime: the nanny is started by path
 * (`worker/nanny-main`), with its options, which may hold the data servers' token, in its
 * environment rather than its argv. The workers' data servers and the HTTP API listen on 127.0.0.1
 * and want tokens, generated for each cluster.
 *
 * @example
 * ```ts
 * const cluster = await LocalCluster.start({ workers: 2, threadsPerWorker: 1 });
 * console.log(cluster.api?.url); // http://127.0.0.1:40213
 * const client = Client.attach(cluster.scheduler);
 * await cluster.stop();
 * ```
 */
export class LocalCluster {
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly parts: Parts,
    /** The scheduler, in this process: what `Client.attach` takes. */
    readonly scheduler: DistributedScheduler,
    /** The HTTP API's address and token; undefined with `http: false`. */
    readonly api: LocalClusterApi | undefined,
    /** Worker processes. */
    readonly workers: number,
    /** Tasks each worker runs at once. */
    readonly threadsPerWorker: number,
  ) {}

  /**
   * Starts the cluster and resolves once every worker has joined the scheduler. Rejects, having
   * stopped whatever it started, when `redis-server` is not on PATH (saying which package to install),
   * when the workers cannot start (their log lines on stderr say why), or when they do not join
   * within `startTimeoutMs`.
   */
  static async start(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    const workers = options.workers ?? Math.min(availableParallelism(), 4);
    if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers must be a whole number >= 1, got ${workers}`);
    const threadsPerWorker = options.threadsPerWorker ?? Math.max(1, Math.floor(availableParallelism() / workers));
    if (!Number.isInteger(threadsPerWorker) || threadsPerWorker < 1) throw new RangeError(`threadsPerWorker must be a whole number >= 1, got ${threadsPerWorker}`);
    const imports = (options.imports ?? defaultImports()).map(moduleUrl);
    const logLevel = options.logLevel ?? "warn";
    const parts: Parts = {};
    try {
      parts.server = options.redis === undefined ? await startRedisServer({ neededBy: "a local cluster (Client.cluster, weft up)" }) : undefined;
      const redis = options.redis ?? parts.server!.url;
      // A Redis of its own needs no prefix; a shared one gets one no other cluster uses.
      const prefix = parts.server !== undefined ? "weft" : `weft-local-${process.pid}-${randomBytes(4).toString("hex")}`;
      const dataToken = randomBytes(24).toString("base64url");
      parts.nanny = startNanny(
        {
          nprocs: workers,
          logLevel,
          worker: { redis, prefix, nthreads: threadsPerWorker, imports, token: dataToken, logLevel, memoryLimit: options.memoryLimit },
        },
        options.logOutput,
      );
      const http =
        options.http === false
          ? undefined
          : { host: "127.0.0.1", port: 0, ...options.http, token: options.http?.token ?? generateApiToken(), dataRoots: options.dataRoots };
      const logger = jsonLogger({ level: logLevel, fields: { component: "scheduler" } });
      const schedulerOptions = { redis, prefix, token: dataToken, onError: (error: Error) => logger.warn("recovered from an error", { error }) };
      // Without the HTTP API, nothing submits durable jobs: the scheduler alone, as a program embedding it runs it.
      // A Redis outage is logged once each way, not once per connection and retry.
      const outageLog = redisOutageLog(logger, redis);
      const schedulerProcess =
        http === undefined
          ? undefined
          : await SchedulerProcess.start({
              ...schedulerOptions,
              http: { ...http, eventStreams: { logger } },
              onRedisUnreachable: outageLog.onUnreachable,
              onRedisReachable: outageLog.onReachable,
            });
      const scheduler = schedulerProcess?.scheduler ?? (await DistributedScheduler.start(schedulerOptions));
      parts.scheduler = schedulerProcess ?? scheduler;
      await waitForWorkers(scheduler, workers, parts.nanny, options.startTimeoutMs ?? 60_000);
      const api = http === undefined ? undefined : { url: schedulerProcess!.http!.url, token: http.token };
      return new LocalCluster(parts, scheduler, api, workers, threadsPerWorker);
    } catch (error) {
      await stopParts(parts);
      throw error;
    }
  }

  /**
   * Stops the scheduler (jobs submitted over HTTP and not finished are lost with the private Redis),
   * then the workers (each finishes its running tasks), then the redis-server. Safe to call twice.
   */
  stop(): Promise<void> {
    return (this.stopping ??= stopParts(this.parts));
  }

  /** One line saying what runs and where, for a program or a command to print. */
  describe(): string {
    const threads = `${this.threadsPerWorker} thread${this.threadsPerWorker === 1 ? "" : "s"}`;
    const api = this.api === undefined ? "no HTTP API" : `HTTP API at ${this.api.url}`;
    return `weft: local cluster of ${this.workers} worker${this.workers === 1 ? "" : "s"} × ${threads}; ${api}`;
  }
}

async function stopParts(parts: Parts): Promise<void> {
  await parts.scheduler?.stop();
  await parts.nanny?.stop();
  await parts.server?.stop();
}

/** The nanny process of a local cluster. */
interface NannyProcess {
  /** Resolves with a description of how it ended, whenever it does. */
  readonly exited: Promise<string>;
  /** SIGTERM (the workers finish their running tasks), SIGKILL if it takes far longer; resolves once it has exited. */
  stop(): Promise<void>;
}

/** How long a nanny may take to stop its workers before it is killed: their own grace (10 s) and some. */
const NANNY_STOP_GRACE_MS = 15_000;

function startNanny(options: NannyLaunchOptions, logOutput: ((line: string) => void) | undefined): NannyProcess {
  const { execArgv, entry } = nodeEntry("../worker/nanny-main.js", import.meta.url);
  // Detached: a Ctrl-C in a terminal reaches this process, which stops the cluster in order, and not
  // the nanny directly. The IPC channel is how the nanny notices this process is gone.
  const child: ChildProcess = spawn(process.execPath, [...withoutDebuggerFlags(process.execArgv), ...execArgv, entry], {
    env: { ...process.env, [NANNY_OPTIONS_ENV]: JSON.stringify(options) },
    stdio: ["ignore", logOutput === undefined ? "inherit" : "pipe", logOutput === undefined ? "inherit" : "pipe", "ipc"],
    detached: true,
  });
  if (logOutput !== undefined) {
    for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream, crlfDelay: Infinity }).on("line", logOutput);
  }
  const exited = new Promise<string>((resolveExit) => {
    child.once("exit", (code, signal) => resolveExit(signal !== null ? `was killed by ${signal}` : `exited with code ${code}`));
    child.once("error", (error) => {
      if (child.pid === undefined) resolveExit(`could not be started (${error.message})`);
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    exited,
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
        const forced = setTimeout(() => child.kill("SIGKILL"), NANNY_STOP_GRACE_MS);
        await exited;
        clearTimeout(forced);
      })()),
  };
}

/** Waits until the scheduler knows `count` workers; fails early when the nanny ends, and after `timeoutMs`. */
async function waitForWorkers(scheduler: DistributedScheduler, count: number, nanny: NannyProcess, timeoutMs: number): Promise<void> {
  let ended: string | undefined;
  void nanny.exited.then((how) => (ended = how));
  const deadline = Date.now() + timeoutMs;
  while (scheduler.workerIds.length < count) {
    if (ended !== undefined) {
      throw new Error(`the local cluster's worker processes could not start: their nanny ${ended}; their log lines above say why`);
    }
    if (Date.now() > deadline) throw new Error(`only ${scheduler.workerIds.length} of ${count} workers joined the local cluster within ${timeoutMs} ms`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 20));
  }
}

/** Every module with registered functions, but the program's entry script. */
function defaultImports(): string[] {
  const entry = process.argv[1] === undefined ? undefined : pathToFileURL(resolve(process.argv[1])).href;
  return registeredTaskModules().filter((module) => module !== entry);
}

/** A `file:` URL as given; a path resolved against the current directory, which must exist. */
function moduleUrl(module: string): string {
  if (module.startsWith("file:")) return module;
  const path = resolve(module);
  if (!existsSync(path)) throw new Error(`imports: no such module "${module}" (looked for ${path})`);
  return pathToFileURL(path).href;
}
