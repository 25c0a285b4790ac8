import { randomBytes } from "node:crypto";
import { availableParallelism, hostname } from "node:os";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Key } from "../graph/task-spec.js";
import type { WorkerId } from "../protocol/ids.js";
import { connectRedis } from "../protocol/redis/connect-redis.js";
import { ControlPlane, DEFAULT_HEARTBEAT_TTL_MS, MAX_TAKE_BATCH } from "../protocol/redis/control-plane.js";
import "../executor/builtin-tasks.js";
// Every built-in kernel family, so array and dataframe graphs run on any worker without --import.
import "../kernels/index.js";
import { DataClient } from "../protocol/data-client.js";
import { DataKeys, type DataKeyring } from "../protocol/data-auth.js";
import { SharedDataToken } from "../protocol/redis/data-token.js";
import { DataRoots, WORKER_DATA_ROOTS_ENV } from "../protocol/data-roots.js";
import { DataServer } from "./data-server.js";
import type { Executor } from "../executor/executor.js";
import { InlineExecutor } from "../executor/inline-executor.js";
import { ResultStore, type StoredResult } from "./result-store.js";
import { decodeTaskMessage } from "../protocol/task-message.js";
import { encodeReports, type TaskReport } from "../protocol/task-report.js";
import { TaskRunner } from "./task-runner.js";
import { registeredTaskNames } from "../protocol/task-registry.js";
import { importTaskModule } from "../protocol/task-module-loading.js";
import { ThreadPoolExecutor } from "../executor/thread-pool-executor.js";
import { decodeWorkerMessage } from "../protocol/worker-message.js";
import { encodeWorkerAccount, taskFingerprint, type HeldResult } from "../protocol/worker-account.js";
import type { HeartbeatReply } from "../protocol/redis/control-plane.js";
import type { Logger } from "../protocol/logger.js";

/** Work taken ahead of free threads, in ms of estimated run time per thread. */
const PREFETCH_MS = 5;
/** Default {@link WorkerProcessOptions.handOverMs}. */
const DEFAULT_HAND_OVER_MS = 5_000;
/** The duration assumed before any task has run here, in ms: long enough that nothing is taken ahead. */
const INITIAL_AVERAGE_MS = 50;
/** Fraction of `memoryLimit` at which the worker stops taking tasks (Dask's default pause fraction). */
const PAUSE_FRACTION = 0.8;
const PAUSED_RECHECK_MS = 50;
/** How often a worker with no room reads its inbox (cancels, releases) while no task ends, in ms. */
const FULL_INBOX_POLL_MS = 200;

let gc: (() => void) | undefined;

/** A full garbage collection, through V8's `gc` exposed on first use. */
function collectGarbage(): void {
  if (gc === undefined) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  gc();
}

/** Options of {@link WorkerProcess.start}. */
export interface WorkerProcessOptions {
  /** Redis URL, such as `redis://127.0.0.1:6379`. */
  readonly redis: string;
  /** Key prefix shared with the scheduler. Default `"weft"`. */
  readonly prefix?: string;
  /** Unique per process start. Default: host, pid and a random suffix. */
  readonly id?: WorkerId;
  /** Tasks run at once. Default: the number of CPUs. */
  readonly nthreads?: number;
  /**
   * `threads` (default): tasks run on a `worker_threads` pool, so a CPU-bound task never delays
   * heartbeats or the data server. `main`: on the main thread, for tasks that mostly await I/O or
   * must share the process's state; a task there that computes for longer than the heartbeat
   * lifetime silences the worker, which is then declared dead and its tasks retried elsewhere.
   */
  readonly executor?: "threads" | "main";
  /** Modules registering task functions, imported by the process and every thread. */
  readonly imports?: readonly (string | URL)[];
  /** Interface the data server listens on. Default `127.0.0.1`. */
  readonly host?: string;
  /** Host peers use to reach the data server, when not `host` (see `DataServerOptions.advertise`). Default: derived from `host`. */
  readonly advertise?: string;
  /**
   * The data token peers must prove they hold to fetch from the data server (and that this worker
   * signs its own fetches with). Default: the cluster's token in Redis under the prefix, made by the
   * first process that needed it (`protocol/redis/data-token.ts`). Give it to all of a cluster's
   * processes or to none.
   */
  readonly token?: string;
  /**
   * Directories the built-in file tasks (CSV, Parquet, Arrow IPC readers and writers) may touch,
   * checked right before each opens its file, with symbolic links resolved on this worker's own
   * filesystem (`protocol/data-roots.ts`); a task outside them fails naming the path. For workers
   * on other hosts than the scheduler, which checks graphs sent over HTTP against its own roots.
   * Default: any path (the scheduler's check, or none for a program's own graphs).
   */
  readonly dataRoots?: readonly string[];
  /** Lifetime of a heartbeat in ms; one is sent every third of it. Default 3,000. */
  readonly heartbeatTtlMs?: number;
  /**
   * On a clean stop, how long the worker waits, once its running tasks are done, for the scheduler
   * to copy the results only it holds to other workers, in ms. Default 5,000.
   */
  readonly handOverMs?: number;
  /**
   * Resident memory (RSS, bytes) the process should stay under. Once RSS reaches 80% of it, the worker
   * takes no new tasks (running ones finish and their inputs are freed) until it falls below again, as
   * a Dask worker pauses at the pause fraction of its `memory_limit`. It says so in its log (once
   * when it pauses, once when it resumes) and its heartbeat, and the scheduler sends it no work
   * meanwhile, handing what waits in its queue to other workers. Default: no limit.
   */
  readonly memoryLimit?: number;
  /** Called with errors the loop survives (a failed Redis call, say). Default: ignored. */
  readonly onError?: (error: Error) => void;
  /** Where the worker says what an operator should know (it paused at its memory limit, say). Default: nowhere. */
  readonly logger?: Logger;
}

/**
 * One worker process: takes its tasks from its Redis queue, runs them, keeps the results in memory
 * for peers (its data server) and reports each outcome on the events stream, in batches. Heartbeats
 * go out on a timer; when the scheduler has declared the worker dead, it stops at once, without
 * waiting for the tasks it was running: the scheduler has given them to other workers.
 *
 * @example
 * ```ts
 * const worker = await WorkerProcess.start({ redis: "redis://127.0.0.1:6379", imports: ["./tasks.js"] });
 * process.on("SIGTERM", () => worker.stop());
 * await worker.done;
 * ```
 */
export class WorkerProcess {
  /** Resolves when the worker has stopped, cleanly or because it was declared dead. */
  readonly done: Promise<void>;
  private running = 0;
  /** Tasks this worker has run to an outcome, for operators and tests. */
  completed = 0;
  private stopping = false;
  private reports: TaskReport[] = [];
  private flushing: Promise<void> | undefined;
  /**
   * Moving average of task durations. It starts pessimistic: until tasks prove short, the worker takes
   * only what its threads can start, and what it has not taken stays in its Redis queue, where an idle
   * worker can steal it.
   */
  private averageMs = INITIAL_AVERAGE_MS;
  /** Set by a clean {@link stop}, which retires the worker once its tasks are done. */
  private retireWhenDone = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private wakeLoop: (() => void) | undefined;
  private resolveDone!: () => void;
  private shuttingDown: Promise<void> | undefined;
  /** Registered function names, advertised with every heartbeat; fixed once the imports are done. */
  private functions: readonly string[] | undefined;
  /** Taking no tasks at its memory limit: said in the log when it changes, and in every heartbeat. */
  private pausedForMemory = false;
  /** The cluster generation the last heartbeat saw; when it changes, the worker sends its account. */
  private generation: string | undefined;
  /** Fingerprints of held results, computed on first need (an account), by result. */
  private readonly fingerprints = new WeakMap<object, string>();

  private constructor(
    readonly id: WorkerId,
    readonly nthreads: number,
    /** The results this worker holds. */
    readonly store: ResultStore,
    private readonly plane: ControlPlane,
    private readonly waiter: ControlPlane,
    private readonly server: DataServer,
    private readonly client: DataClient,
    private readonly runner: TaskRunner,
    private readonly executor: Executor,
    private readonly options: WorkerProcessOptions,
    private readonly sharedToken: SharedDataToken | undefined,
  ) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Starts the data server and the executor, registers with a first heartbeat, and starts taking tasks. */
  static async start(options: WorkerProcessOptions): Promise<WorkerProcess> {
    const id = options.id ?? `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
    const nthreads = options.nthreads ?? availableParallelism();
    if (options.dataRoots !== undefined && options.dataRoots.length > 0) {
      // Read by the file kernels, in this thread and in every thread started after this (threads copy the environment).
      process.env[WORKER_DATA_ROOTS_ENV] = JSON.stringify(DataRoots.of(options.dataRoots).dirs);
    }
    for (const module of options.imports ?? []) await importTaskModule(String(module), "worker process");
    const planeOptions = { prefix: options.prefix, heartbeatTtlMs: options.heartbeatTtlMs };
    const plane = new ControlPlane(connectRedis(options.redis, options.onError), planeOptions);
    const waiter = new ControlPlane(connectRedis(options.redis, options.onError), planeOptions);
    const store = new ResultStore();
    const shared = options.token === undefined ? await SharedDataToken.start(plane.redis, options.prefix, options.onError) : undefined;
    const keys: DataKeyring = shared?.keys ?? new DataKeys(options.token!);
    const server = await DataServer.start({ store, host: options.host, advertise: options.advertise, token: keys });
    const client = new DataClient({ token: keys });
    // Inputs fetched from peers stay as replicas, reported like results, as Dask's workers keep theirs:
    // the next task that reads them (the mirror block of a transposition, say) then runs here without a
    // second transfer, and the scheduler releases every copy when the key is no longer needed.
    let keeper: WorkerProcess | undefined;
    const runner = new TaskRunner({ store, client, onFetched: (key, value) => keeper?.holdCopy(key, value) });
    const executor: Executor =
      options.executor === "main"
        ? new InlineExecutor(runner.sink)
        : await ThreadPoolExecutor.start(runner.sink, { nthreads, imports: options.imports });
    runner.useExecutor(executor);
    store.track(executor.heldValues);
    const worker = new WorkerProcess(id, nthreads, store, plane, waiter, server, client, runner, executor, options, shared);
    keeper = worker;
    const first = await worker.heartbeat();
    if (first.state === "dead") throw new Error(`worker id ${id} was declared dead before; start with a new id`);
    // Nothing is held yet: the scheduler of this generation learns of this worker when it joins.
    worker.generation = first.generation;
    const ttl = options.heartbeatTtlMs ?? DEFAULT_HEARTBEAT_TTL_MS;
    worker.heartbeatTimer = setInterval(() => {
      worker.heartbeat().then(
        (reply) => worker.heard(reply),
        (error: Error) => options.onError?.(error),
      );
    }, Math.max(10, Math.floor(ttl / 3)));
    void worker.loop();
    return worker;
  }

  /** Where peers fetch this worker's results. */
  get dataAddress(): string {
    return this.server.address;
  }

  /**
   * Stops cleanly: takes no more tasks and hands its queued ones back to the scheduler, lets running
   * tasks finish and reports them, then retires from the registry and closes. Results it held are
   * recomputed by the scheduler where still needed.
   */
  async stop(): Promise<void> {
    if (this.stopping) return this.done;
    this.stopping = true;
    this.retireWhenDone = true;
    await this.plane.markStopping(this.id).catch((error: Error) => this.options.onError?.(error));
    await this.plane.wake(this.id).catch(() => undefined);
    this.wakeLoop?.();
    await this.done;
  }

  /** True while it takes no tasks because it is at its memory limit. */
  get paused(): boolean {
    return this.pausedForMemory;
  }

  /**
   * What a heartbeat learnt: declared dead, it stops at once; a new cluster generation (a new
   * scheduler took the role, or Redis lost its data and the scheduler noticed) gets this worker's
   * account, so that the scheduler knows what it holds and runs.
   */
  private heard(reply: HeartbeatReply): void {
    if (reply.state === "dead") {
      void this.shutdown({ abandonRunning: true });
      return;
    }
    if (reply.generation === this.generation || this.stopping) return;
    this.generation = reply.generation;
    // No generation: Redis lost its data and no scheduler has begun a new one yet; it will.
    if (reply.generation !== "") void this.sendAccount(reply.generation);
  }

  /** Tells the scheduler of `generation` what this worker holds and runs (see `protocol/worker-account.ts`). */
  private async sendAccount(generation: string): Promise<void> {
    const held: HeldResult[] = [];
    for (const [key, result] of this.store.entries()) held.push({ key, nbytes: result.nbytes, fingerprint: this.fingerprintOf(result) });
    const account = encodeWorkerAccount({ generation, held, running: this.runner.runningKeys() });
    try {
      await this.plane.sendAccount(this.id, account);
      this.options.logger?.info(`sent the scheduler an account of ${held.length} results held and ${this.running} tasks running (cluster generation ${generation})`, {
        generation,
        results: held.length,
        running: this.running,
      });
    } catch (error) {
      // Sent again at the next heartbeat.
      this.generation = undefined;
      this.options.onError?.(error as Error);
    }
  }

  private fingerprintOf(result: StoredResult): string {
    if (result.origin === undefined) return "";
    let fingerprint = this.fingerprints.get(result);
    if (fingerprint === undefined) this.fingerprints.set(result, (fingerprint = taskFingerprint(result.origin.fn, result.origin.args)));
    return fingerprint;
  }

  private heartbeat(): Promise<HeartbeatReply> {
    this.functions ??= registeredTaskNames();
    return this.plane.heartbeat({
      id: this.id,
      nthreads: this.nthreads,
      dataAddress: this.server.address,
      pid: process.pid,
      functions: this.functions,
      rssBytes: process.memoryUsage.rss(),
      paused: this.pausedForMemory,
      memoryLimitBytes: this.options.memoryLimit,
    });
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      try {
        const paused = this.checkMemory();
        const room = paused ? 0 : this.capacity() - this.running;
        // Messages and tasks in one round trip: both requests go out before either reply is read. The
        // order they are applied in does not matter: messages drop or copy results, and no task taken
        // here has started to read any.
        const [messages, tasks] = await Promise.all([
          this.plane.takeWorkerMessages(this.id, 1000),
          room > 0 ? this.plane.takeTasks(this.id, Math.min(room, MAX_TAKE_BATCH)) : [],
        ]);
        for (const raw of messages) this.apply(decodeWorkerMessage(raw));
        for (const task of tasks) this.start(decodeTaskMessage(task.payload));
        if (this.stopping) break;
        if (paused && this.running === 0) {
          // Paused with nothing running, no task end will wake the loop: collect garbage (freed results
          // may hold memory until the next collection) and look at memory again shortly.
          collectGarbage();
          await new Promise((resolve) => setTimeout(resolve, PAUSED_RECHECK_MS));
        } else if (paused || this.capacity() - this.running <= 0) {
          // Room is counted again: tasks may have finished while the requests were out. The inbox is
          // read again after a while even if no task ends: a cancel must reach a worker whose threads
          // are all stuck, or it would never be read.
          await this.taskEndOr(FULL_INBOX_POLL_MS);
        } else if (room > 0 && tasks.length === 0 && messages.length === 0) {
          await this.waiter.waitForWork(this.id, 1000);
        }
      } catch (error) {
        if (this.stopping) break;
        this.options.onError?.(error as Error);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    await this.shutdown();
  }

  /** Resolves when a running task ends, or after `ms`. */
  private taskEndOr(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        if (this.wakeLoop === wake) this.wakeLoop = undefined;
        resolve();
      }, ms);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      this.wakeLoop = wake;
    });
  }

  /**
   * True while resident memory is at or above the pause fraction of the memory limit. A change is
   * said once in the log, with the figures, and at once in a heartbeat, so that the scheduler stops
   * (or starts again) sending work without waiting for the next one.
   */
  private checkMemory(): boolean {
    const limit = this.options.memoryLimit;
    if (limit === undefined) return false;
    const rssBytes = process.memoryUsage.rss();
    const paused = rssBytes >= PAUSE_FRACTION * limit;
    if (paused === this.pausedForMemory) return paused;
    this.pausedForMemory = paused;
    const fields = {
      rssBytes,
      memoryLimitBytes: limit,
      pauseAtBytes: Math.floor(PAUSE_FRACTION * limit),
      managedBytes: this.store.nbytes,
      results: this.store.size,
      running: this.running,
    };
    const figures = `resident memory ${mebibytes(rssBytes)} (results held: ${mebibytes(this.store.nbytes)}) against a memory limit of ${mebibytes(limit)}`;
    if (paused) {
      this.options.logger?.warn(`worker paused: ${figures} is at or over the pause fraction ${PAUSE_FRACTION * 100}%; it takes no new tasks until memory falls below it`, fields);
    } else {
      this.options.logger?.info(`worker resumed: ${figures} is below the pause fraction ${PAUSE_FRACTION * 100}%; it takes tasks again`, fields);
    }
    void this.heartbeat().then(
      (reply) => this.heard(reply),
      (error: Error) => this.options.onError?.(error),
    );
    return paused;
  }

  /**
   * Tasks held at once: one per thread, plus about 5 ms of work per thread taken ahead when tasks are
   * short, so tiny tasks do not wait on a Redis round trip each. Long tasks are not taken ahead: a
   * taken task can no longer be stolen, and a round trip is nothing next to its run.
   */
  private capacity(): number {
    const ahead = Math.floor((PREFETCH_MS * this.nthreads) / Math.max(this.averageMs, 1e-3));
    return Math.min(MAX_TAKE_BATCH, this.nthreads + ahead);
  }

  private start(message: ReturnType<typeof decodeTaskMessage>): void {
    this.running++;
    void this.runner.run(message).then((report) => {
      this.running--;
      this.completed++;
      if (report.kind === "finished" || report.kind === "erred") this.averageMs += 0.1 * (report.durationMs - this.averageMs);
      this.reports.push(report);
      this.flushSoon();
      const wake = this.wakeLoop;
      this.wakeLoop = undefined;
      wake?.();
    });
  }

  private apply(message: ReturnType<typeof decodeWorkerMessage>): void {
    if (message.type === "replicate") {
      void this.copyFrom(message.from, message.keys);
      return;
    }
    // A cancelled task that is running is ended (its thread is terminated and replaced), so that
    // this worker does not go on spinning on work nobody wants while the scheduler counts it free.
    if (message.type === "cancel") this.runner.cancel(message.keys);
    for (const key of message.keys) this.store.delete(key);
  }

  /** Copies results from a stopping peer and reports each as held here. */
  private async copyFrom(address: string, keys: readonly Key[]): Promise<void> {
    try {
      const frames = await this.client.fetch(address, keys);
      frames.forEach((frame, i) => {
        if (frame.found) this.holdCopy(keys[i], frame.value);
      });
    } catch (error) {
      // The peer is gone: the scheduler recomputes what it held when it notices.
      this.options.onError?.(error as Error);
    }
  }

  /** Keeps a copy of a result computed elsewhere, and tells the scheduler this worker holds it. */
  holdCopy(key: Key, value: unknown): void {
    if (this.store.has(key)) return;
    const nbytes = this.store.put(key, value);
    this.reports.push({ kind: "finished", key, attempt: 0, nbytes, durationMs: 0 });
    this.flushSoon();
  }

  /**
   * A stopping worker's last duty: keep serving its results until the scheduler has copied each one
   * it still needs elsewhere and released it here, for at most `handOverMs`.
   */
  private async handOverResults(): Promise<void> {
    const deadline = Date.now() + (this.options.handOverMs ?? DEFAULT_HAND_OVER_MS);
    while (this.store.size > 0 && Date.now() < deadline) {
      const messages = await this.plane.takeWorkerMessages(this.id, 1000);
      for (const raw of messages) this.apply(decodeWorkerMessage(raw));
      if (messages.length === 0) await this.waiter.waitForWork(this.id, Math.max(1, Math.min(100, deadline - Date.now())));
    }
  }

  /** Reports go out in batches: one stream entry for everything that finished in the same tick. */
  private flushSoon(): void {
    if (this.flushing !== undefined) return;
    this.flushing = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      const reports = this.reports;
      this.reports = [];
      this.flushing = undefined;
      if (reports.length === 0) return;
      const keys: Key[] = reports.map((report) => report.key);
      try {
        await this.plane.finishTasks(this.id, keys, encodeReports(reports));
      } catch (error) {
        this.options.onError?.(error as Error);
      }
    });
  }

  /**
   * Stops taking tasks and closes everything. A clean stop first lets running tasks finish and reports
   * them; with `abandonRunning` (declared dead) it does not wait: their results would be ignored.
   */
  private shutdown(options: { readonly abandonRunning?: boolean } = {}): Promise<void> {
    this.shuttingDown ??= (async () => {
      this.stopping = true;
      while (options.abandonRunning !== true && (this.running > 0 || this.flushing !== undefined)) {
        await (this.flushing ?? new Promise((resolve) => setTimeout(resolve, 5)));
      }
      // Every task it took is finished and reported: hand its results over, then leave the registry
      // now rather than let the scheduler wait for the heartbeat to expire.
      if (this.retireWhenDone) {
        await this.handOverResults().catch((error: Error) => this.options.onError?.(error));
        await this.plane.recoverWorker(this.id).catch((error: Error) => this.options.onError?.(error));
      }
      clearInterval(this.heartbeatTimer);
      this.sharedToken?.stop();
      await this.executor.close();
      await this.server.close();
      this.client.close();
      this.plane.redis.disconnect();
      this.waiter.redis.disconnect();
      this.resolveDone();
    })();
    return this.shuttingDown;
  }
}

function mebibytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
