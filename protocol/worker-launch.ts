/**
 * How worker processes are launched: the options a worker process and a nanny process are started
 * with, and the environment variables that carry them. A floor, so that whoever starts the worker
 * runtime as a process (`weft worker`, a local cluster started by the client) shares one contract
 * with it without importing it.
 */
import type { WorkerId } from "./ids.js";
import type { LogLevel } from "./logger.js";

/**
 * Environment variable through which the nanny hands a worker process its options, as JSON. Not argv:
 * the options may hold the data-server token, and any user of the machine can read another's argv.
 */
export const WORKER_OPTIONS_ENV = "WEFT_WORKER_OPTIONS";

/**
 * What a worker process sends its nanny over their IPC channel once it has started: its task modules
 * loaded, its data server up, and registered with the cluster. The nanny gives up on a slot only
 * for workers that exit before this (they cannot start); one that started and died is replaced.
 */
export const WORKER_STARTED_MESSAGE = "weft-worker-started";

/** What one worker process is started with: the options of `WorkerProcess.start` that survive JSON. */
export interface WorkerLaunchOptions {
  /** Unique per process start: the control plane refuses an id it has declared dead. */
  readonly id: WorkerId;
  /** Redis URL, such as `redis://127.0.0.1:6379`. */
  readonly redis: string;
  /** Key prefix shared with the scheduler. Default `"weft"`. */
  readonly prefix?: string;
  /** Tasks run at once. Default: the number of CPUs. */
  readonly nthreads?: number;
  /** `threads` (default) or `main`; see `WorkerProcessOptions.executor`. */
  readonly executor?: "threads" | "main";
  /** Modules registering task functions, as URLs (relative paths would depend on the child's cwd). */
  readonly imports?: readonly string[];
  /** Interface the data server listens on. Default `127.0.0.1`. */
  readonly host?: string;
  /** Host peers use to reach the data server, when not `host` (see `DataServerOptions.advertise`). Default: derived from `host`. */
  readonly advertise?: string;
  /** Bearer token peers must present to the data server. Default: none. */
  readonly token?: string;
  /** Lifetime of a heartbeat in ms. Default 3,000. */
  readonly heartbeatTtlMs?: number;
  /** Directories the built-in file tasks may touch; see `WorkerProcessOptions.dataRoots`. Default: any. */
  readonly dataRoots?: readonly string[];
  /** Least severe level the worker logs. Default `"info"`. */
  readonly logLevel?: LogLevel;
  /** Resident memory in bytes the worker pauses near; see `WorkerProcessOptions.memoryLimit`. Default: none. */
  readonly memoryLimit?: number;
  /**
   * Longest time a stop may take, in ms, after which the worker exits anyway. Set by the nanny to its
   * own grace period: when the nanny is gone (killed), nobody else would end a stop that hangs, on an
   * unreachable Redis say. Default 10,000.
   */
  readonly stopGraceMs?: number;
}

/**
 * Environment variable through which a nanny process (`worker/nanny-main.ts`) gets its options, as
 * JSON; not argv, for the same reason as {@link WORKER_OPTIONS_ENV}.
 */
export const NANNY_OPTIONS_ENV = "WEFT_NANNY_OPTIONS";

/** What a nanny process is started with: the options of `Nanny.start` that survive JSON. */
export interface NannyLaunchOptions {
  /** Worker processes kept running. */
  readonly nprocs: number;
  /** Options of every worker process; the nanny gives each its own id. */
  readonly worker: Omit<WorkerLaunchOptions, "id" | "stopGraceMs">;
  /** Least severe level the nanny itself logs. Default `"info"`. */
  readonly logLevel?: LogLevel;
}

/**
 * Reads the JSON object in the environment variable `name` and removes the variable: task code runs
 * in the process and has no business with a token the options may hold (nor do the processes it
 * starts, which get their own options).
 *
 * @throws Error naming the variable when it is missing, not JSON, or not an object.
 * @example
 * ```ts
 * const options = takeLaunchOptions(WORKER_OPTIONS_ENV, "weft worker") as Partial<WorkerLaunchOptions>;
 * ```
 */
export function takeLaunchOptions(name: string, startedBy: string): Record<string, unknown> {
  const text = process.env[name];
  delete process.env[name];
  if (text === undefined) throw new Error(`${name} is not set: this process is started by ${startedBy}, not by hand`);
  let options: unknown;
  try {
    options = JSON.parse(text);
  } catch (error) {
    throw new Error(`${name} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof options !== "object" || options === null || Array.isArray(options)) throw new Error(`${name} must hold a JSON object`);
  return options as Record<string, unknown>;
}
