import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { callsBorrowInputs, cutCalls, type CallHole } from "./call-holes.js";
import type { ExecutionOutcome, ExecutionRequest, Executor, HeldValues, OutcomeSink } from "./executor.js";
import { programEntryModule } from "../protocol/entry-module.js";
import { InlineExecutor } from "./inline-executor.js";
import type { PoolTag } from "./shared-block-pool.js";
import { SharedBlockLedger } from "./shared-block-ledger.js";
import { packTables, unpackTables } from "./table-transfer.js";
import { findTsx, startedWithTsx } from "./typescript-loader.js";
import { taskTimeoutFailure } from "../protocol/task-failure.js";
import { lookupTask } from "../protocol/task-registry.js";
import type { BatchDone, FromThread, RunBatch, TaskSettled, ThreadData, ThreadTask, ToThread } from "./thread-messages.js";

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
  /** Its number in the shared-memory pool: never reused, so a dead thread's buffers are never recycled into another. */
  readonly number: number;
  /** Tasks sent and not reported back. */
  inflight: number;
  /** Set once it has imported its start-up modules. */
  ready: boolean;
  /** The task with a timeout it runs, alone: it gets nothing else until that one ends. */
  timed: TimedRun | undefined;
}

/** A task with a timeout, running alone on its thread. */
interface TimedRun {
  /** Its batch (of one). */
  readonly batch: number;
  readonly timeoutMs: number;
  /** Set when the thread says it started the task. */
  timer: NodeJS.Timeout | undefined;
}

/** A batch sent to a thread and not fully reported back. */
interface OpenBatch {
  readonly id: number;
  readonly thread: PoolThread;
  readonly tasks: readonly ThreadTask[];
  /** Per task: 1 once its outcome is in. */
  readonly settled: Uint8Array;
  open: number;
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
 * before its first use. A function with no importable module — a closure passed to `delayed`, or a task
 * defined in the program's entry module, which a thread could not import without running the program
 * again — runs on the calling thread instead. Threads register tsx when the program runs with it, so
 * `.ts` task modules load there too. Large typed-array results come back in shared memory (see
 * `shareLargeBuffers`), so handing them to further tasks copies nothing, and their memory is reused
 * once no held result references it: the caller says what it holds through {@link heldValues} (see
 * `SharedBlockLedger`). Arrow tables travel as their IPC bytes in shared memory, encoded once per
 * table (see `packTables`).
 *
 * A task with a timeout (`ExecutionRequest.timeoutMs`) runs alone on a thread that has nothing else to
 * do, and its clock starts when the thread starts it. When it runs past its timeout, the thread is
 * terminated — synchronous code cannot be stopped any other way — the task fails with a
 * `TaskTimeoutError`, and a fresh thread takes the dead one's place, so the pool never keeps a
 * spinning thread it counts as free. {@link cancel} ends a running task the same way; the other
 * tasks the ended thread held (not reported yet) run again on another thread. A task that runs on
 * the calling thread instead (a closure) has the {@link InlineExecutor}'s timeouts: it fails when it
 * returns late.
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
  private pending: ThreadTask[] = [];
  private pendingHead = 0;
  /** Tasks with a timeout, waiting for a thread with nothing else to do (see {@link dispatchTimed}). */
  private timedPending: ThreadTask[] = [];
  private readonly inline: InlineExecutor;
  /** Modules every thread has been told to import. */
  private readonly imported = new Set<string>();
  /** Per function name: its module URL, or null when it can only run on this thread. */
  private readonly moduleOf = new Map<string, string | null>();
  private warnedEntryModule = false;
  private readonly batches = new Map<number, OpenBatch>();
  private batchSeq = 0;
  private averageMs = 1;
  private closed = false;
  private readonly batchMs: number;
  private readonly poolTag: PoolTag = [randomBytes(4).readUInt32LE(0), randomBytes(4).readUInt32LE(0)];
  private threadSeq = 0;
  private readonly ledger = new SharedBlockLedger(this.poolTag, (number, message) => {
    this.threads.find((thread) => thread.number === number)?.worker.postMessage(message);
  });
  /** Results the caller holds: their shared memory is reused once none does. */
  readonly heldValues: HeldValues = this.ledger;

  private constructor(
    private readonly sink: OutcomeSink,
    nthreads: number,
    batchMs: number,
  ) {
    this.nthreads = nthreads;
    this.batchMs = batchMs;
    this.inline = new InlineExecutor(sink);
  }

  /** Threads started and ready to run tasks: `nthreads`, except while a replacement starts. */
  get threadCount(): number {
    let ready = 0;
    for (const thread of this.threads) if (thread.ready) ready++;
    return ready;
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
      if (threadTask === undefined) (local ??= []).push(request);
      else if (threadTask.timeoutMs !== undefined) this.timedPending.push(threadTask);
      else this.pending.push(threadTask);
      // A function that may keep its inputs gets memory that is never reused.
      if (threadTask === undefined || !callsBorrowInputs(threadTask.fn, threadTask.holes)) this.ledger.escape(request.args);
    }
    if (newModules.length > 0) this.broadcast({ type: "import", modules: newModules });
    this.dispatch();
    if (local !== undefined) this.inline.run(local);
  }

  cancel(requests: readonly ExecutionRequest[]): void {
    if (requests.length === 0) return;
    const cancelled = new Set(requests);
    const waiting = (task: ThreadTask) => !cancelled.has(task.request);
    this.pending = this.pending.slice(this.pendingHead).filter(waiting);
    this.pendingHead = 0;
    this.timedPending = this.timedPending.filter(waiting);
    this.inline.cancel(requests);
    const running = new Set<PoolThread>();
    for (const open of this.batches.values()) {
      open.tasks.forEach((task, i) => {
        if (open.settled[i] === 0 && cancelled.has(task.request)) running.add(open.thread);
      });
    }
    for (const thread of running) this.endThread(thread, cancelled, undefined);
    if (running.size > 0) this.dispatch();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const thread of this.threads) clearTimeout(thread.timed?.timer);
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
    const cut = cutCalls(request.args);
    const holes = cut.holes?.map(packHoleTables);
    if (holes !== undefined && !holes.every((hole) => this.routeHole(hole, newModules))) return undefined;
    const args = packTables(cut.args) as readonly unknown[];
    const task: ThreadTask = holes === undefined ? { request, fn: request.fn, args } : { request, fn: request.fn, args, holes };
    return request.timeoutMs === undefined ? task : { ...task, timeoutMs: request.timeoutMs };
  }

  private routeHole(hole: CallHole, newModules: string[]): boolean {
    return this.routeFunction(hole.fn, newModules) && (hole.holes ?? []).every((inner) => this.routeHole(inner, newModules));
  }

  private routeFunction(name: string, newModules: string[]): boolean {
    let module = this.moduleOf.get(name);
    if (module === undefined) {
      module = lookupTask(name)?.module ?? null;
      if (module !== null && module === programEntryModule()) {
        this.warnEntryModuleTask(name, module);
        module = null;
      }
      this.moduleOf.set(name, module);
    }
    if (module === null) return false;
    if (!this.imported.has(module)) {
      this.imported.add(module);
      newModules.push(module);
    }
    return true;
  }

  /**
   * A thread that imported the program's entry module would run the whole program again, and start a
   * client of its own: tasks defined there run on this thread, as closures do. Said once.
   */
  private warnEntryModuleTask(name: string, module: string): void {
    if (this.warnedEntryModule) return;
    this.warnedEntryModule = true;
    process.emitWarning(
      `task "${name}" is defined in the program's entry module (${module}), which worker threads cannot import without ` +
        `running the whole program again: it and the other tasks defined there run on the calling thread, one at a time. ` +
        `To run them in parallel, define them in a module of their own and import it.`,
    );
  }

  /**
   * Sends pending tasks to threads. Each thread with room gets an equal share, at most one batch
   * (`target` tasks, about `batchMs` of work). A thread that is still busy gets a batch only when it
   * is worth a message (a quarter of a batch or more): otherwise, results arriving in small groups
   * would turn into ever smaller batches. It is never left idle while tasks wait, and a busy thread's
   * next report calls `dispatch` again, so nothing is held back for long.
   */
  private dispatch(): void {
    if (this.timedPending.length > 0) this.dispatchTimed();
    const pendingCount = this.pending.length - this.pendingHead;
    if (pendingCount === 0) return;
    const target = Math.max(1, Math.min(MAX_BATCH, Math.floor(this.batchMs / Math.max(this.averageMs, 1e-4))));
    const limit = BATCHES_PER_THREAD * target;
    // While tasks with a timeout wait for an idle thread, busy threads get no more work, so that they
    // become idle; else a steady stream of short tasks would keep every thread busy for ever.
    const limitFor = (thread: PoolThread) => (this.timedPending.length > 0 && thread.inflight > 0 ? 0 : limit);
    const eligible = this.threads
      .filter((thread) => thread.timed === undefined && thread.inflight < limitFor(thread))
      .sort((a, b) => a.inflight - b.inflight);
    if (eligible.length === 0) return;
    const share = Math.min(target, Math.ceil(pendingCount / eligible.length));
    const worthSending = Math.max(1, target >> 2);
    for (const thread of eligible) {
      const size = Math.min(share, limit - thread.inflight, this.pending.length - this.pendingHead);
      if (size <= 0) break;
      if (thread.inflight > 0 && size < worthSending) continue;
      const batch = this.pending.slice(this.pendingHead, this.pendingHead + size);
      this.pendingHead += size;
      this.send(thread, batch);
    }
    if (this.pendingHead === this.pending.length) {
      this.pending = [];
      this.pendingHead = 0;
    } else if (this.pendingHead > 4096 && this.pendingHead * 2 > this.pending.length) {
      this.pending.splice(0, this.pendingHead);
      this.pendingHead = 0;
    }
  }

  /** Gives each task with a timeout a thread of its own, among those with nothing to do. */
  private dispatchTimed(): void {
    for (const thread of this.threads) {
      if (this.timedPending.length === 0) return;
      if (thread.inflight > 0 || thread.timed !== undefined) continue;
      const task = this.timedPending.shift()!;
      this.send(thread, [task], task.timeoutMs);
    }
  }

  private send(thread: PoolThread, tasks: ThreadTask[], timeoutMs?: number): void {
    this.ledger.flush();
    if (thread.inflight === 0) thread.worker.ref();
    const message = toRunBatch(++this.batchSeq, tasks, timeoutMs !== undefined);
    try {
      thread.worker.postMessage(message);
    } catch {
      // Some task's arguments cannot be cloned: send the others, fail those.
      this.sendCloneable(thread, tasks, timeoutMs);
      return;
    }
    thread.inflight += tasks.length;
    this.batches.set(message.batch, { id: message.batch, thread, tasks, settled: new Uint8Array(tasks.length), open: tasks.length });
    if (timeoutMs !== undefined) thread.timed = { batch: message.batch, timeoutMs, timer: undefined };
  }

  /** The thread started its timed task: its clock runs from now. */
  private onStarted(thread: PoolThread, batch: number): void {
    const timed = thread.timed;
    if (timed === undefined || timed.batch !== batch || timed.timer !== undefined) return;
    timed.timer = setTimeout(() => this.expire(thread, timed), timed.timeoutMs);
  }

  /** A timed task ran past its timeout: it fails, and its thread is terminated and replaced. */
  private expire(thread: PoolThread, timed: TimedRun): void {
    const open = this.batches.get(timed.batch);
    if (thread.timed !== timed || open === undefined || open.settled[0] === 1) return;
    const request = open.tasks[0].request;
    const error = taskTimeoutFailure(request.key, timed.timeoutMs, "its worker thread was terminated and replaced");
    this.endThread(thread, undefined, { request, ok: false, error, durationMs: timed.timeoutMs });
    this.dispatch();
  }

  /**
   * Terminates a thread running a task that must not go on (timed out, or cancelled) and starts a
   * fresh one in its place. Of the tasks it held and had not reported: the cancelled ones are
   * dropped, `failed`'s task fails, and the others go back to the front of the queue, to run again
   * on another thread.
   */
  private endThread(thread: PoolThread, cancelled: ReadonlySet<ExecutionRequest> | undefined, failed: ExecutionOutcome | undefined): void {
    const index = this.threads.indexOf(thread);
    if (index < 0) return;
    this.threads.splice(index, 1);
    clearTimeout(thread.timed?.timer);
    thread.timed = undefined;
    const again: ThreadTask[] = [];
    for (const [id, open] of this.batches) {
      if (open.thread !== thread) continue;
      this.batches.delete(id);
      open.tasks.forEach((task, i) => {
        if (open.settled[i] === 1 || cancelled?.has(task.request) || task.request === failed?.request) return;
        if (task.timeoutMs !== undefined) this.timedPending.unshift(task);
        else again.push(task);
      });
    }
    thread.inflight = 0;
    // Its "exit" finds it gone from `threads` and is not taken for a death.
    void thread.worker.terminate();
    if (again.length > 0) this.pending = [...again, ...this.pending.slice(this.pendingHead)];
    if (again.length > 0) this.pendingHead = 0;
    this.replace();
    if (failed !== undefined) this.sink([failed]);
  }

  /** Starts a thread in place of one that is gone, and gives it work once it is ready. */
  private replace(): void {
    if (this.closed) return;
    this.spawn([...this.imported]).then(
      () => this.dispatch(),
      (spawnError: Error) => {
        // Closing the pool ends a replacement still starting: nothing to say then.
        if (!this.closed) process.emitWarning(`could not replace a worker thread: ${spawnError.message}`);
      },
    );
  }

  private sendCloneable(thread: PoolThread, tasks: ThreadTask[], timeoutMs: number | undefined): void {
    const good: ThreadTask[] = [];
    const bad: ExecutionOutcome[] = [];
    for (const task of tasks) {
      try {
        structuredClone(task.args);
        good.push(task);
      } catch (error) {
        bad.push({
          request: task.request,
          ok: false,
          error: {
            name: "DataCloneError",
            message: `the arguments of task "${task.request.key}" cannot be sent to a worker thread: ${(error as Error).message}`,
          },
          durationMs: 0,
        });
      }
    }
    if (good.length > 0) this.send(thread, good, timeoutMs);
    if (thread.inflight === 0) thread.worker.unref();
    this.sink(bad);
  }

  private broadcast(message: ToThread): void {
    for (const thread of this.threads) thread.worker.postMessage(message);
  }

  private spawn(imports: readonly string[]): Promise<void> {
    const number = this.threadSeq++;
    const worker = startThreadWorker({ imports, poolTag: this.poolTag, thread: number });
    const thread: PoolThread = { worker, number, inflight: 0, ready: false, timed: undefined };
    this.threads.push(thread);
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      worker.on("message", (message: FromThread) => {
        if (message.type === "ready") {
          ready = true;
          thread.ready = true;
          // An idle pool must not keep a program alive that has nothing left to do; `send` refs a
          // thread while it holds tasks.
          worker.unref();
          resolve();
        } else if (message.type === "done") {
          this.onDone(message);
        } else if (message.type === "settled") {
          this.onSettled(message);
        } else if (message.type === "started") {
          this.onStarted(thread, message.batch);
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

  private onDone(done: BatchDone): void {
    const open = this.batches.get(done.batch);
    if (open === undefined) return;
    const { tasks, settled } = open;
    const outcomes: ExecutionOutcome[] = [];
    const failed = new Map(done.failures ?? []);
    const later = new Set(done.later ?? []);
    let total = 0;
    for (let i = 0; i < tasks.length; i++) {
      if (later.has(i) || settled[i] === 1) continue;
      settled[i] = 1;
      const durationMs = done.durations[i];
      total += durationMs;
      const error = failed.get(i);
      outcomes.push(
        error === undefined
          ? { request: tasks[i].request, ok: true, value: unpackTables(done.values[i]), durationMs }
          : { request: tasks[i].request, ok: false, error, durationMs },
      );
    }
    if (outcomes.length > 0) this.averageMs += 0.2 * (total / outcomes.length - this.averageMs);
    this.finishOutcomes(open, outcomes);
  }

  private onSettled(message: TaskSettled): void {
    const open = this.batches.get(message.batch);
    if (open === undefined || open.settled[message.index] === 1) return;
    open.settled[message.index] = 1;
    const request = open.tasks[message.index].request;
    const outcome: ExecutionOutcome = message.ok
      ? { request, ok: true, value: unpackTables(message.value), durationMs: message.durationMs }
      : { request, ok: false, error: message.error, durationMs: message.durationMs };
    this.finishOutcomes(open, [outcome]);
  }

  private finishOutcomes(open: OpenBatch, outcomes: ExecutionOutcome[]): void {
    const { thread } = open;
    open.open -= outcomes.length;
    thread.inflight -= outcomes.length;
    if (open.open === 0) this.batches.delete(open.id);
    if (open.open === 0 && thread.timed?.batch === open.id) {
      clearTimeout(thread.timed.timer);
      thread.timed = undefined;
    }
    if (thread.inflight === 0) thread.worker.unref();
    this.sink(outcomes);
    this.dispatch();
  }

  private onThreadDied(thread: PoolThread, error: Error): void {
    const index = this.threads.indexOf(thread);
    if (index < 0) return;
    this.threads.splice(index, 1);
    const lost: ExecutionOutcome[] = [];
    for (const [id, open] of this.batches) {
      if (open.thread !== thread) continue;
      this.batches.delete(id);
      open.tasks.forEach((task, i) => {
        if (open.settled[i] === 1) return;
        lost.push({
          request: task.request,
          ok: false,
          error: { name: "WorkerThreadDied", message: `the worker thread running task "${task.request.key}" died: ${error.message}` },
          durationMs: 0,
        });
      });
    }
    thread.inflight = 0;
    clearTimeout(thread.timed?.timer);
    thread.timed = undefined;
    if (lost.length > 0) this.sink(lost);
    this.replace();
  }
}

/** The hole with Arrow tables in its arguments (and its inner holes') packed for the thread. */
function packHoleTables(hole: CallHole): CallHole {
  const args = packTables(hole.args) as readonly unknown[];
  const holes = hole.holes?.map(packHoleTables);
  return { ...hole, args, ...(holes && { holes }) };
}

/** Packs tasks into the parallel arrays a thread receives. */
function toRunBatch(batch: number, tasks: readonly ThreadTask[], timed: boolean): RunBatch {
  const fnTable: string[] = [];
  const fnIndex = new Uint16Array(tasks.length);
  const args: (readonly unknown[])[] = new Array(tasks.length);
  let holes: (readonly CallHole[] | null)[] | null = null;
  let lastFn: string | undefined;
  let lastIndex = 0;
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i];
    if (task.fn !== lastFn) {
      lastFn = task.fn;
      lastIndex = fnTable.indexOf(task.fn);
      if (lastIndex < 0) lastIndex = fnTable.push(task.fn) - 1;
    }
    fnIndex[i] = lastIndex;
    args[i] = task.args;
    if (task.holes !== undefined) {
      holes ??= new Array(tasks.length).fill(null);
      holes[i] = task.holes;
    }
  }
  return timed ? { type: "run", batch, fnTable, fnIndex, args, holes, timed } : { type: "run", batch, fnTable, fnIndex, args, holes };
}

/**
 * Starts a thread running `thread-entry`. A worker thread does not get the module loaders of the thread
 * that starts it (see `typescript-loader.ts`), so it first registers tsx when the program was started
 * with tsx, and when weft itself runs from TypeScript sources (tests).
 */
function startThreadWorker(workerData: ThreadData): Worker {
  const fromSource = import.meta.url.endsWith(".ts");
  const entry = new URL(fromSource ? "./thread-entry.ts" : "./thread-entry.js", import.meta.url);
  const apis = tsxApisForThreads(fromSource);
  if (apis.length === 0) return new Worker(entry, { workerData });
  const bootstrap = `(async () => {
    for (const api of ${JSON.stringify(apis)}) (await import(api)).register();
    await import(${JSON.stringify(entry.href)});
  })();`;
  return new Worker(bootstrap, { eval: true, workerData });
}

let tsxApis: readonly string[] | undefined;

/** The tsx ESM APIs a new thread calls `register()` from: the program's tsx, and weft's own when it runs from sources. */
function tsxApisForThreads(fromSource: boolean): readonly string[] {
  if (tsxApis === undefined) {
    const apis = new Set<string>();
    const program = startedWithTsx();
    if (program !== undefined) apis.add(program.registerApi);
    const own = fromSource ? findTsx(import.meta.url) : undefined;
    if (own !== undefined) apis.add(own.registerApi);
    tsxApis = [...apis];
  }
  return tsxApis;
}
