/**
 * The program each worker thread of a `ThreadPoolExecutor` runs: it imports the modules that register
 * task functions, then runs batches of tasks and posts their outcomes back, one message per batch.
 */
import { parentPort, workerData } from "node:worker_threads";
import "./builtin-tasks.js";
import { callsBorrowInputs, fillHoles, type CallHole } from "./call-holes.js";
import { callFunction, UnknownFunctionError } from "./evaluate-task.js";
import { SharedBlockPool, useSharedBlockPool } from "./shared-block-pool.js";
import { shareLargeBuffers } from "./shared-buffers.js";
import { packTables, unpackTables } from "./table-transfer.js";
import { toTaskFailure, type TaskFailure } from "../protocol/task-failure.js";
import { importTaskModule } from "../protocol/task-module-loading.js";
import { isTypeScriptModule } from "./typescript-loader.js";
import type { BatchDone, FromThread, RunBatch, TaskSettled, ThreadData, ToThread } from "./thread-messages.js";

const port = parentPort!;
const imported = new Set<string>();
/** Modules whose import threw here, with why. */
const failedImports = new Map<string, TaskFailure>();
const data = workerData as ThreadData;
const pool = new SharedBlockPool(data.poolTag, data.thread);
useSharedBlockPool(pool);

/**
 * Messages are handled strictly in order: tasks wait for imports sent before them, and everything
 * waits for the start-up imports (the pool may send work before it hears "ready").
 */
let pending: Promise<void> = importModules(data.imports);

port.on("message", (message: ToThread) => {
  pending = pending.then(() => handle(message));
});

function handle(message: ToThread): Promise<void> | void {
  switch (message.type) {
    case "import":
      return importModules(message.modules);
    case "run":
      return runBatch(message);
    case "recycle":
      return pool.recycle(message.slots);
    case "forget":
      return pool.forget(message.slots);
  }
}

async function importModules(modules: readonly string[]): Promise<void> {
  for (const module of modules) {
    if (imported.has(module)) continue;
    imported.add(module);
    try {
      await importTaskModule(module, "worker thread");
    } catch (error) {
      const failure = importFailure(module, error);
      failedImports.set(module, failure);
      post({ type: "import-failed", module, error: failure });
    }
  }
}

/** Why `module` could not be imported, saying what to do when it is TypeScript and this thread cannot load it. */
function importFailure(module: string, error: unknown): TaskFailure {
  const failure = toTaskFailure(error);
  if ((error as { code?: unknown }).code !== "ERR_UNKNOWN_FILE_EXTENSION" || !isTypeScriptModule(module)) return failure;
  return {
    ...failure,
    message:
      `${module} is TypeScript, and worker threads load it only with the loader the program was started with: ` +
      `run the program with tsx (npx tsx main.ts, or node --import tsx main.ts), or compile it to JavaScript (${failure.message})`,
  };
}

/** A task whose function is missing here says which imports failed: the likely reason. */
function taskFailure(error: unknown): TaskFailure {
  const failure = toTaskFailure(error);
  if (!(error instanceof UnknownFunctionError) || failedImports.size === 0) return failure;
  const reasons = [...failedImports].map(([module, cause]) => `importing ${module} failed: ${cause.name}: ${cause.message}`);
  return { ...failure, message: `${failure.message}; in this thread, ${reasons.join("; ")}` };
}

/** Runs a task; its arguments are this thread's own copy, so fused calls' results are written into them. */
function runTask(fn: string, packedArgs: unknown[], packedHoles: readonly CallHole[] | null): unknown {
  const args = unpackTables(packedArgs) as unknown[];
  if (packedHoles === null) return callFunction(fn, args);
  const holes = packedHoles.map(unpackHoleTables);
  const filled = fillHoles(args, holes, callFunction);
  return filled === undefined ? callFunction(fn, args) : filled.then(() => callFunction(fn, args));
}

function unpackHoleTables(hole: CallHole): CallHole {
  const args = unpackTables(hole.args) as readonly unknown[];
  const holes = hole.holes?.map(unpackHoleTables);
  return { ...hole, args, ...(holes && { holes }) };
}

function runBatch(message: RunBatch): void {
  const n = message.args.length;
  const values: unknown[] = new Array(n);
  const durations = new Float64Array(n);
  let failures: [number, TaskFailure][] | null = null;
  let later: number[] | null = null;
  // A timed task's clock starts now, not when the batch was sent: imports queued before it may take a while.
  if (message.timed === true) post({ type: "started", batch: message.batch });
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    const fn = message.fnTable[message.fnIndex[i]];
    const holes = message.holes?.[i] ?? null;
    pool.beginTask();
    try {
      const value = runTask(fn, message.args[i] as unknown[], holes);
      if (value !== null && typeof value === "object" && typeof (value as PromiseLike<unknown>).then === "function") {
        // What it allocates from now on is not pooled; what it allocated so far may still be in use.
        pool.endTask(undefined, false);
        (later ??= []).push(i);
        settleLater(message.batch, i, value as PromiseLike<unknown>, start);
        continue;
      }
      values[i] = shareLargeBuffers(packTables(value));
    } catch (error) {
      (failures ??= []).push([i, taskFailure(error)]);
    }
    pool.endTask(values[i], callsBorrowInputs(fn, holes));
    durations[i] = performance.now() - start;
  }
  postDone({ type: "done", batch: message.batch, values, durations, failures, later });
}

function settleLater(batch: number, index: number, value: PromiseLike<unknown>, start: number): void {
  value.then(
    (resolved) => {
      const settled: TaskSettled = {
        type: "settled",
        batch,
        index,
        ok: true,
        value: shareLargeBuffers(packTables(resolved)),
        durationMs: performance.now() - start,
      };
      try {
        port.postMessage(settled);
      } catch (cloneError) {
        post({ type: "settled", batch, index, ok: false, error: unclonable(cloneError), durationMs: settled.durationMs });
      }
    },
    (error) => post({ type: "settled", batch, index, ok: false, error: taskFailure(error), durationMs: performance.now() - start }),
  );
}

/** Posts a batch's outcomes; a result that cannot be cloned fails its own task, not the batch. */
function postDone(done: BatchDone): void {
  try {
    port.postMessage(done);
    return;
  } catch {
    // Find the results that cannot be cloned.
  }
  const values = done.values.slice();
  const failures = done.failures?.slice() ?? [];
  for (let i = 0; i < values.length; i++) {
    if (values[i] === undefined) continue;
    try {
      structuredClone(values[i]);
    } catch (cloneError) {
      values[i] = undefined;
      failures.push([i, unclonable(cloneError)]);
    }
  }
  port.postMessage({ ...done, values, failures });
}

function unclonable(cloneError: unknown): TaskFailure {
  return {
    name: "DataCloneError",
    message: `the result cannot leave its worker thread: ${(cloneError as Error).message}`,
  };
}

function post(message: FromThread): void {
  port.postMessage(message);
}

await pending;
post({ type: "ready" });
