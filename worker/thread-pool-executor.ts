import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { cutCalls, type CallHole } from "./call-holes.js";
import type { ExecutionOutcome, ExecutionRequest, Executor, OutcomeSink } from "./executor.js";
import { InlineExecutor } from "./inline-executor.js";
import { lookupTask } from "./task-registry.js";
import type { FromThread, ThreadOutcome, ThreadTask, ToThread } from "./thread-messages.js";

/** Options of {@link ThreadPoolExecutor}. */
export interface ThreadPoolOptions {
  /** Number of worker threads. Default: the number of CPUs (`os.availableParallelism()`). */
  readonly nthreads?: number;
  /**
   * Modules every thread imports at start, to register task functions. Modules of functions registered
   * with `task()` are found and imported on first use without being listed here.
   */
  readonly imports?: readonly (string | URL)[];
  /**
   * Milliseconds of work to send a thread in one message, judged from measured task durations: big
   * enough that messaging does not dominate tiny tasks, small enough that one thread does not hoard
   * work. Default 2.
   */
  readonly batchMs?: number;
}

interface PoolThread {
  worker: Worker;
  /** Tasks sent and not reported back. */
  readonly inflight: Map<string, ThreadTask>;
}

/** A thread holds up to this many batches, so the next is there when one finishes. */
const BATCHES_PER_THREAD = 2;
const MAX_BATCH = 1000;

/**
 * Runs tasks on a pool of `worker_threads`: the `threads` executor.
 *
 * Ready tasks go out in batches sized from measured durations (about `batchMs` of work each), at most
 * two per thread, so a thread always has its next batch while the scheduler works. Functions are found
 * in threads by name: each thread imports the module that registered a function (recorded by `task()`)
 * before its first use. A function with no importable module — a closure passed to `delayed` — runs on
 * the calling thread instead. Large typed-array results come back in shared memory (see
 * `shareLargeBuffers`), so handing them to further tasks copies nothing.
 *
 * @example
 * ```ts
 * const pool = await ThreadPoolExecutor.start((outcomes) => console.log(outcomes), { nthreads: 4 });
 * pool.run([{ key: "k", fn: "weft.add", args: [1, 2] }]);
 * ```
 */
export class ThreadPoolExecutor implements Executor {
  readonly nthreads: number;
  private readonly threads: PoolThread[] = [];
  private readonly pending: ThreadTask[] = [];
  private pendingHead = 0;
  private readonly inline: InlineExecutor;
  /** Modules every thread has been told to import. */
  private readonly imported = new Set<string>();
  /** Per function name: its module URL, or null when it can only run on this thread. */
  private readonly moduleOf = new Map<string, string | null>();
  private averageMs = 1;
  private closed = false;
  private readonly batchMs: number;

  private constructor(
    private readonly sink: OutcomeSink,
    nthreads: number,
    batchMs: number,
  ) {
    this.nthreads = nthreads;
    this.batchMs = batchMs;
    this.inline = new InlineExecutor(sink);
  }

  /** Starts the threads and resolves once each has imported its modules. */
  static async start(sink: OutcomeSink, options: ThreadPoolOptions = {}): Promise<ThreadPoolExecutor> {
    const nthreads = options.nthreads ?? availableParallelism();
    if (!Number.isInteger(nthreads) || nthreads < 1) throw new RangeError(`nthreads must be an integer >= 1, got ${nthreads}`);
    const pool = new ThreadPoolExecutor(sink, nthreads, options.batchMs ?? 2);
    const imports = (options.imports ?? []).map((m) => (m instanceof URL ? m.href : m));
    for (const module of imports) pool.imported.add(module);
    await Promise.all(Array.from({ length: nthreads }, () => pool.spawn(imports)));
    return pool;
  }

  run(requests: readonly ExecutionRequest[]): void {
    if (this.closed) throw new Error("the thread pool is closed");
    let local: ExecutionRequest[] | undefined;
    const newModules: string[] = [];
    for (const request of requests) {
      const threadTask = this.prepare(request, newModules);
      if (threadTask !== undefined) this.pending.push(threadTask);
      else (local ??= []).push(request);
    }
    if (newModules.length > 0) this.broadcast({ type: "import", modules: newModules });
    this.dispatch();
    if (local !== undefined) this.inline.run(local);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.inline.close();
    await Promise.all(this.threads.map((thread) => thread.worker.terminate()));
    this.threads.length = 0;
  }

  /**
   * The request as a thread takes it, with the modules of its functions queued for import; undefined
   * when a function it calls exists only on this thread.
   */
  private prepare(request: ExecutionRequest, newModules: string[]): ThreadTask | undefined {
    if (!this.routeFunction(request.fn, newModules)) return undefined;
    const { args, holes } = cutCalls(request.args);
    if (holes !== undefined && !holes.every((hole) => this.routeHole(hole, newModules))) return undefined;
    return holes === undefined ? { key: request.key, fn: request.fn, args } : { key: request.key, fn: request.fn, args, holes };
  }

  private routeHole(hole: CallHole, newModules: string[]): boolean {
    return this.routeFunction(hole.fn, newModules) && (hole.holes ?? []).every((inner) => this.routeHole(inner, newModules));
  }

  private routeFunction(name: string, newModules: string[]): boolean {
    let module = this.moduleOf.get(name);
    if (module === undefined) {
      module = lookupTask(name)?.module ?? null;
      this.moduleOf.set(name, module);
    }
    if (module === null) return false;
    if (!this.imported.has(module)) {
      this.imported.add(module);
      newModules.push(module);
    }
    return true;
  }

  private dispatch(): void {
    const target = Math.max(1, Math.min(MAX_BATCH, Math.floor(this.batchMs / Math.max(this.averageMs, 1e-4))));
    const limit = BATCHES_PER_THREAD * target;
    while (this.pending.length > this.pendingHead) {
      let thread: PoolThread | undefined;
      for (const candidate of this.threads) {
        if (candidate.inflight.size >= limit) continue;
        if (thread === undefined || candidate.inflight.size < thread.inflight.size) thread = candidate;
      }
      if (thread === undefined) break;
      const fairShare = Math.ceil((this.pending.length - this.pendingHead) / this.threads.length);
      const size = Math.min(target, limit - thread.inflight.size, fairShare);
      const batch = this.pending.slice(this.pendingHead, this.pendingHead + size);
      this.pendingHead += size;
      this.send(thread, batch);
    }
    if (this.pendingHead === this.pending.length) {
      this.pending.length = 0;
      this.pendingHead = 0;
    } else if (this.pendingHead > 4096 && this.pendingHead * 2 > this.pending.length) {
      this.pending.splice(0, this.pendingHead);
      this.pendingHead = 0;
    }
  }

  private send(thread: PoolThread, batch: ThreadTask[]): void {
    if (thread.inflight.size === 0) thread.worker.ref();
    for (const request of batch) thread.inflight.set(request.key, request);
    try {
      thread.worker.postMessage({ type: "run", tasks: batch } satisfies ToThread);
      return;
    } catch {
      // Some argument cannot be cloned; find which, one task at a time.
    }
    for (const request of batch) {
      try {
        thread.worker.postMessage({ type: "run", tasks: [request] } satisfies ToThread);
      } catch (error) {
        thread.inflight.delete(request.key);
        this.sink([
          {
            key: request.key,
            ok: false,
            error: {
              name: "DataCloneError",
              message: `the arguments of task "${request.key}" cannot be sent to a worker thread: ${(error as Error).message}`,
            },
            durationMs: 0,
          },
        ]);
      }
    }
  }

  private broadcast(message: ToThread): void {
    for (const thread of this.threads) thread.worker.postMessage(message);
  }

  private spawn(imports: readonly string[]): Promise<void> {
    const worker = startThreadWorker(imports);
    const thread: PoolThread = { worker, inflight: new Map() };
    this.threads.push(thread);
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      worker.on("message", (message: FromThread) => {
        if (message.type === "ready") {
          ready = true;
          // An idle pool must not keep a program alive that has nothing left to do; `send` refs a
          // thread while it holds tasks.
          worker.unref();
          resolve();
        } else if (message.type === "done") {
          this.onDone(thread, message.outcomes);
        } else if (message.type === "import-failed") {
          process.emitWarning(`worker thread could not import ${message.module}: ${message.error.message}`);
        }
      });
      worker.on("error", (error) => {
        if (!ready) reject(error);
        else this.onThreadDied(thread, error);
      });
      worker.on("exit", (code) => {
        if (!ready) reject(new Error(`worker thread exited with code ${code} while starting`));
        else if (!this.closed) this.onThreadDied(thread, new Error(`worker thread exited with code ${code}`));
      });
    });
  }

  private onDone(thread: PoolThread, outcomes: readonly ThreadOutcome[]): void {
    let total = 0;
    for (const outcome of outcomes) {
      thread.inflight.delete(outcome.key);
      total += outcome.durationMs;
    }
    if (thread.inflight.size === 0) thread.worker.unref();
    this.averageMs += 0.2 * (total / outcomes.length - this.averageMs);
    this.sink(outcomes as ExecutionOutcome[]);
    this.dispatch();
  }

  private onThreadDied(thread: PoolThread, error: Error): void {
    const index = this.threads.indexOf(thread);
    if (index < 0) return;
    this.threads.splice(index, 1);
    const lost = [...thread.inflight.values()];
    thread.inflight.clear();
    if (lost.length > 0) {
      this.sink(
        lost.map((request) => ({
          key: request.key,
          ok: false as const,
          error: { name: "WorkerThreadDied", message: `the worker thread running task "${request.key}" died: ${error.message}` },
          durationMs: 0,
        })),
      );
    }
    if (!this.closed) {
      this.spawn([...this.imported]).then(
        () => this.dispatch(),
        (spawnError: Error) => process.emitWarning(`could not replace a dead worker thread: ${spawnError.message}`),
      );
    }
  }
}

/**
 * Starts a thread running `thread-entry`. When weft itself runs from TypeScript sources (tests, `tsx`),
 * the thread first registers tsx's loader, since a worker thread does not inherit the parent's.
 */
function startThreadWorker(imports: readonly string[]): Worker {
  const fromSource = import.meta.url.endsWith(".ts");
  const entry = new URL(fromSource ? "./thread-entry.ts" : "./thread-entry.js", import.meta.url);
  const workerData = { imports };
  if (!fromSource) return new Worker(entry, { workerData });
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm/api")).href.replace(/\.cjs$/, ".mjs");
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}
