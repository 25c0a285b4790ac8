import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { findTsx, hasNativeTypeScript, isTypeScriptModule, nodeOptionFlags, startedWithTsx } from "../executor/typescript-loader.js";
import { jsonLogger, type Logger } from "../protocol/logger.js";
import type { WorkerId } from "../protocol/ids.js";
import { withoutDebuggerFlags } from "../protocol/node-entry.js";
import { WORKER_OPTIONS_ENV, WORKER_STARTED_MESSAGE, type WorkerLaunchOptions } from "../protocol/worker-launch.js";

/** A task module is TypeScript, and nothing could load it in a worker process. */
export class TypeScriptLoaderMissingError extends Error {
  override readonly name = "TypeScriptLoaderMissingError";

  constructor(
    /** The module's URL. */
    readonly module: string,
  ) {
    super(
      `${module} is TypeScript, and Node ${process.versions.node} cannot load it by itself: install tsx in its project ` +
        `(npm install --save-dev tsx), which the worker processes then load, or compile the module and import the .js file`,
    );
  }
}

/** Options of {@link Nanny.start}. */
export interface NannyOptions {
  /** Worker processes kept running. */
  readonly nprocs: number;
  /** Options of every worker process; each gets its own id. */
  readonly worker: Omit<WorkerLaunchOptions, "id" | "stopGraceMs">;
  /** Where the nanny reports starts, exits, restarts and give-ups. Default: JSON lines on stderr at `info`. */
  readonly logger?: Logger;
  /**
   * Start of every worker id; a slot number and a start count follow it. Default: the host name and
   * random hex, so that ids stay unique across nanny restarts on the same host too.
   */
  readonly idPrefix?: string;
  /**
   * Node flags of the worker processes. Default: this process's own (`process.execArgv`, as
   * `child_process.fork` does), so a weft started with tuned V8 flags or `--import tsx` starts its
   * workers the same way; debugger flags are left out, since two processes cannot share a port.
   */
  readonly execArgv?: readonly string[];
  /** How long {@link Nanny.stop} lets a worker finish its running tasks before SIGKILL, in ms. Default 10,000. */
  readonly stopGraceMs?: number;
  /** Environment variables of the worker processes, on top of this process's own. Default: none. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Receives each line the worker processes write to stdout or stderr (their JSON log lines), with the
   * slot and worker it came from. Default: the workers write to this process's own stdout and stderr.
   */
  readonly workerOutput?: (line: string, from: { readonly slot: number; readonly worker: WorkerId; readonly stream: "stdout" | "stderr" }) => void;
  /** Wait before the first restart of a slot, in ms; doubled for each further exit within the crash window. Default 250. */
  readonly restartDelayMs?: number;
  /** Longest wait before a restart, in ms. Default 5,000. */
  readonly maxRestartDelayMs?: number;
  /**
   * Workers of one slot that exit before they have started (registered with the cluster), within
   * {@link crashWindowMs}, after which the slot is given up: a worker that cannot start would only
   * crash again. A worker that started and then died (killed, out of memory) does not count: it is
   * replaced however often that happens. Default 5.
   */
  readonly maxCrashes?: number;
  /** See {@link maxCrashes}, in ms. Default 60,000. */
  readonly crashWindowMs?: number;
}

/** A worker process the nanny runs now. */
export interface NannyChild {
  /** Which of the `nprocs` places it fills, from 0. */
  readonly slot: number;
  readonly id: WorkerId;
  readonly pid: number;
  /**
   * Whether the worker has told the nanny it started (registered with the cluster). Its registration
   * reaches Redis a moment before this message reaches the nanny; an exit before it counts as a
   * failure to start.
   */
  readonly started: boolean;
}

interface Slot {
  readonly index: number;
  /** Processes started in this slot so far; part of the worker id. */
  starts: number;
  child: ChildProcess | undefined;
  id: WorkerId | undefined;
  startedAt: number;
  /** Resolves when the current child has exited (or failed to spawn). */
  exited: Promise<void>;
  /** Times of the unexpected exits within the crash window: the restart backs off on them. */
  crashes: number[];
  /** Times of the exits within the crash window of workers that had not started: the slot is given up on them. */
  failedStarts: number[];
  /** Whether the current worker has said it started (registered with the cluster). */
  workerStarted: boolean;
  restartTimer: NodeJS.Timeout | undefined;
  gaveUp: boolean;
}

/**
 * Supervises the worker processes of one machine, like Dask's nanny: starts `nprocs` workers, starts
 * a fresh one (with a new id) in place of one that exits unexpectedly, and stops them all on
 * {@link stop}. Repeated exits of a slot's workers back off (250 ms, doubling up to 5 s); after 5
 * workers within a minute that exited before they started, the slot is given up: a worker that
 * cannot start (a task module that throws on import, say) is reported instead of restarted forever.
 * A worker that started, registered and then died (killed by an operator or the OOM killer) is
 * always replaced, as Dask's nanny does: its death says nothing about whether the next one can
 * start. A worker that cannot reach Redis does not exit; it waits for Redis.
 *
 * TypeScript task modules (`imports` ending in `.ts`) load in the workers with the tsx this process
 * runs with, else the one installed in the module's project, else Node's own type stripping where it
 * has one; with none of these, {@link start} throws a {@link TypeScriptLoaderMissingError} instead of
 * starting workers that could only crash.
 *
 * The nanny does not talk to Redis. The scheduler notices a dead worker by its expired heartbeat and
 * recovers its tasks; the replacement is, to the scheduler, just a new worker.
 *
 * Workers run in their own process groups, so that a Ctrl-C in a terminal reaches the nanny only and the
 * nanny stops them in order. They hold an IPC channel to the nanny and stop by themselves when it
 * closes, so a nanny killed with SIGKILL leaves no worker behind.
 *
 * @example
 * ```ts
 * const nanny = Nanny.start({ nprocs: 2, worker: { redis: "redis://127.0.0.1:6379", nthreads: 4 } });
 * process.once("SIGTERM", () => void nanny.stop());
 * await nanny.done;
 * ```
 */
export class Nanny {
  /**
   * Resolves once no worker runs or will be restarted: after {@link stop}, or when every slot has
   * been given up.
   */
  readonly done: Promise<void>;
  private readonly slots: Slot[];
  private readonly logger: Logger;
  private readonly idPrefix: string;
  /** Node flags of the worker processes, loaders included. */
  private readonly execArgv: readonly string[];
  /** The worker processes' main module. */
  private readonly entry: string;
  private readonly stopGraceMs: number;
  private stopping: Promise<void> | undefined;
  private resolveDone!: () => void;

  private constructor(private readonly options: NannyOptions) {
    if (!Number.isInteger(options.nprocs) || options.nprocs < 1) throw new RangeError(`nprocs must be an integer >= 1, got ${options.nprocs}`);
    this.logger = options.logger ?? jsonLogger({ fields: { component: "nanny" } });
    this.idPrefix = options.idPrefix ?? `${hostname()}-${randomBytes(4).toString("hex")}`;
    const entry = workerEntry();
    const execArgv = [...(options.execArgv ?? withoutDebuggerFlags(process.execArgv)), ...entry.execArgv];
    this.execArgv = [...execArgv, ...typeScriptLoaderFlags(options.worker.imports ?? [], execArgv)];
    this.entry = entry.entry;
    this.stopGraceMs = options.stopGraceMs ?? 10_000;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.slots = Array.from({ length: options.nprocs }, (_, index) => ({
      index,
      starts: 0,
      child: undefined,
      id: undefined,
      startedAt: 0,
      exited: Promise.resolve(),
      crashes: [],
      failedStarts: [],
      workerStarted: false,
      restartTimer: undefined,
      gaveUp: false,
    }));
  }

  /**
   * Starts the worker processes. They register with the scheduler on their own, shortly after. Throws
   * {@link TypeScriptLoaderMissingError} when a TypeScript module among the imports has no loader.
   */
  static start(options: NannyOptions): Nanny {
    const nanny = new Nanny(options);
    for (const slot of nanny.slots) nanny.launch(slot);
    return nanny;
  }

  /** The worker processes running now, by slot. */
  children(): NannyChild[] {
    const running: NannyChild[] = [];
    for (const slot of this.slots) {
      if (slot.child?.pid !== undefined && slot.id !== undefined) running.push({ slot: slot.index, id: slot.id, pid: slot.child.pid, started: slot.workerStarted });
    }
    return running;
  }

  /**
   * Stops every worker: SIGTERM (a worker then takes no more tasks, finishes and reports its running
   * ones, and exits), SIGKILL for one still running after {@link NannyOptions.stopGraceMs}. Pending
   * restarts are cancelled. Resolves once every worker process has exited. Safe to call twice.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const slot of this.slots) clearTimeout(slot.restartTimer);
      const grace = this.stopGraceMs;
      await Promise.all(
        this.slots.map(async (slot) => {
          const child = slot.child;
          if (child === undefined) return;
          child.kill("SIGTERM");
          const forced = setTimeout(() => {
            this.logger.warn("worker did not stop in time; killing it", { slot: slot.index, worker: slot.id, workerPid: child.pid, graceMs: grace });
            child.kill("SIGKILL");
          }, grace);
          await slot.exited;
          clearTimeout(forced);
        }),
      );
      this.resolveDone();
    })();
    return this.stopping;
  }

  private launch(slot: Slot): void {
    slot.restartTimer = undefined;
    slot.starts++;
    const id = `${this.idPrefix}-${slot.index}-${slot.starts}`;
    const launch: WorkerLaunchOptions = { ...this.options.worker, id, stopGraceMs: this.stopGraceMs };
    const child = spawn(process.execPath, [...this.execArgv, this.entry], {
      env: { ...process.env, ...this.options.env, [WORKER_OPTIONS_ENV]: JSON.stringify(launch) },
      stdio: ["ignore", this.options.workerOutput === undefined ? "inherit" : "pipe", this.options.workerOutput === undefined ? "inherit" : "pipe", "ipc"],
      detached: true,
    });
    const output = this.options.workerOutput;
    if (output !== undefined) {
      for (const stream of ["stdout", "stderr"] as const) {
        const from = { slot: slot.index, worker: id, stream };
        createInterface({ input: child[stream]!, crlfDelay: Infinity }).on("line", (line) => output(line, from));
      }
    }
    slot.child = child;
    slot.id = id;
    slot.startedAt = Date.now();
    slot.workerStarted = false;
    // The worker says when it has started (registered): from then on, its exit is no failure to start.
    child.on("message", (message) => {
      if (message === WORKER_STARTED_MESSAGE && slot.child === child) slot.workerStarted = true;
    });
    slot.exited = new Promise<void>((resolve) => {
      let settled = false;
      const exited = (code: number | null, signal: NodeJS.Signals | null, error?: Error) => {
        if (settled) return;
        settled = true;
        slot.child = undefined;
        resolve();
        this.onExit(slot, id, child.pid, code, signal, error);
      };
      child.once("exit", (code, signal) => exited(code, signal));
      // Without a pid the process never started (EAGAIN, a missing executable), and no "exit" follows.
      child.on("error", (error) => {
        if (child.pid === undefined) exited(null, null, error);
        else this.logger.warn("worker process error", { slot: slot.index, worker: id, workerPid: child.pid, error });
      });
    });
    if (child.pid !== undefined) this.logger.info("worker process started", { slot: slot.index, worker: id, workerPid: child.pid });
  }

  private onExit(slot: Slot, id: WorkerId, pid: number | undefined, code: number | null, signal: NodeJS.Signals | null, error?: Error): void {
    if (this.stopping !== undefined) {
      this.logger.info("worker process exited", { slot: slot.index, worker: id, workerPid: pid, code, signal });
      return;
    }
    const now = Date.now();
    const windowMs = this.options.crashWindowMs ?? 60_000;
    slot.crashes = slot.crashes.filter((time) => now - time < windowMs);
    slot.crashes.push(now);
    slot.failedStarts = slot.failedStarts.filter((time) => now - time < windowMs);
    if (!slot.workerStarted) slot.failedStarts.push(now);
    const fields = { slot: slot.index, worker: id, workerPid: pid, code, signal, uptimeMs: now - slot.startedAt, started: slot.workerStarted, ...(error && { error }) };
    const maxCrashes = this.options.maxCrashes ?? 5;
    if (slot.failedStarts.length >= maxCrashes) {
      slot.gaveUp = true;
      const left = this.slots.filter((s) => !s.gaveUp).length;
      this.logger.error(
        `giving up on worker slot ${slot.index}: ${slot.failedStarts.length} workers exited before they started within ${windowMs / 1000} s; ` +
          `the last ${describeExit(code, signal, error)}. It is not restarted again; ${left} of ${this.slots.length} slots still run workers`,
        { ...fields, slotsLeft: left },
      );
      if (left === 0) {
        // Said plainly, once: this machine serves the cluster no more, and jobs wait for workers elsewhere.
        this.logger.error(
          `giving up on every worker slot (${this.slots.length}): in each, ${maxCrashes} workers exited before they started within ${windowMs / 1000} s, ` +
            `so this nanny runs no workers now and jobs wait for workers elsewhere (the scheduler reports them waiting for workers). ` +
            `The workers' own log lines say why they exited (a task module that throws on import, say); fix that and start the workers again`,
          { nprocs: this.slots.length, maxCrashes, crashWindowMs: windowMs },
        );
        this.resolveDone();
      }
      return;
    }
    // Doubling per recent crash: a crash after a long healthy run waits only the base delay, a crash loop slows down.
    const base = this.options.restartDelayMs ?? 250;
    const delay = Math.min(this.options.maxRestartDelayMs ?? 5_000, base * 2 ** (slot.crashes.length - 1));
    this.logger.warn(`worker process ${describeExit(code, signal, error)}; restarting it in ${delay} ms`, { ...fields, restartInMs: delay });
    slot.restartTimer = setTimeout(() => this.launch(slot), delay);
  }
}

/**
 * How to start `worker-main`. From compiled JavaScript, the `.js` file as it is. From TypeScript
 * sources (tests, `tsx`), the `.ts` file with weft's own tsx, which a child does not inherit unless
 * its parent was itself started with `--import tsx`; importing the loader twice is harmless.
 */
function workerEntry(): { execArgv: string[]; entry: string } {
  if (!import.meta.url.endsWith(".ts")) return { execArgv: [], entry: fileURLToPath(new URL("./worker-main.js", import.meta.url)) };
  const tsx = findTsx(import.meta.url);
  if (tsx === undefined) throw new Error("weft runs from its TypeScript sources, which need its devDependency tsx: run npm install");
  return { execArgv: ["--import", tsx.loader], entry: fileURLToPath(new URL("./worker-main.ts", import.meta.url)) };
}

/**
 * The flags that let worker processes import the TypeScript modules among `imports`, on top of
 * `execArgv`: none when there are none, or when `execArgv` already loads tsx (the nanny's own flags,
 * such as `node --import tsx`); else `--import` of the tsx installed in the project of the first
 * TypeScript module; else none when Node strips types itself (tsx comes first: it also finds `./x.ts`
 * imported as `./x.js`). Throws {@link TypeScriptLoaderMissingError} when nothing can load them,
 * rather than start workers that could only crash.
 */
function typeScriptLoaderFlags(imports: readonly string[], execArgv: readonly string[]): string[] {
  const typescript = imports.filter(isTypeScriptModule);
  if (typescript.length === 0 || startedWithTsx([...execArgv, ...nodeOptionFlags()]) !== undefined) return [];
  const tsx = findTsx(typescript[0]);
  if (tsx !== undefined) return ["--import", tsx.loader];
  if (hasNativeTypeScript()) return [];
  throw new TypeScriptLoaderMissingError(typescript[0]);
}


function describeExit(code: number | null, signal: NodeJS.Signals | null, error: Error | undefined): string {
  if (error !== undefined) return `could not be started (${error.message})`;
  if (signal !== null) return `was killed by ${signal}`;
  return `exited with code ${code}`;
}
