/**
 * The program each worker thread of a `ThreadPoolExecutor` runs: it imports the modules that register
 * task functions, then runs batches of tasks and posts their outcomes back, one message per batch.
 */
import { parentPort, workerData } from "node:worker_threads";
import "./builtin-tasks.js";
import { fillHoles } from "./call-holes.js";
import { callFunction } from "./evaluate-task.js";
import { shareLargeBuffers } from "./shared-buffers.js";
import { toTaskFailure } from "./task-failure.js";
import type { FromThread, ThreadOutcome, ThreadTask, ToThread } from "./thread-messages.js";

const port = parentPort!;
const imported = new Set<string>();

/**
 * Messages are handled strictly in order: tasks wait for imports sent before them, and everything
 * waits for the start-up imports (the pool may send work before it hears "ready").
 */
let pending: Promise<void> = importModules((workerData as { imports: string[] }).imports);

port.on("message", (message: ToThread) => {
  pending = pending.then(() => handle(message));
});

async function handle(message: ToThread): Promise<void> {
  if (message.type === "import") {
    await importModules(message.modules);
  } else {
    runBatch(message.tasks);
  }
}

async function importModules(modules: readonly string[]): Promise<void> {
  for (const module of modules) {
    if (imported.has(module)) continue;
    imported.add(module);
    try {
      await import(module);
    } catch (error) {
      post({ type: "import-failed", module, error: toTaskFailure(error) });
    }
  }
}

/** Runs a task; its arguments are this thread's own copy, so fused calls' results are written into them. */
function runTask(task: ThreadTask): unknown {
  const args = task.args as unknown[];
  if (task.holes === undefined) return callFunction(task.fn, args);
  const filled = fillHoles(args, task.holes, callFunction);
  return filled === undefined ? callFunction(task.fn, args) : filled.then(() => callFunction(task.fn, args));
}

function runBatch(tasks: readonly ThreadTask[]): void {
  const outcomes: ThreadOutcome[] = [];
  for (const task of tasks) {
    const start = performance.now();
    try {
      const value = runTask(task);
      if (value !== null && typeof value === "object" && typeof (value as PromiseLike<unknown>).then === "function") {
        (value as PromiseLike<unknown>).then(
          (resolved) => post({ type: "done", outcomes: [success(task.key, resolved, start)] }),
          (error) => post({ type: "done", outcomes: [failure(task.key, error, start)] }),
        );
        continue;
      }
      outcomes.push(success(task.key, value, start));
    } catch (error) {
      outcomes.push(failure(task.key, error, start));
    }
  }
  // Async tasks report on their own when they settle; the thread goes on with the next batch meanwhile
  // (the pool bounds how many tasks a thread holds).
  if (outcomes.length > 0) post({ type: "done", outcomes });
}

function success(key: string, value: unknown, start: number): ThreadOutcome {
  return { key, ok: true, value: shareLargeBuffers(value), durationMs: performance.now() - start };
}

function failure(key: string, error: unknown, start: number): ThreadOutcome {
  return { key, ok: false, error: toTaskFailure(error), durationMs: performance.now() - start };
}

/** Posts a message; a result that cannot be cloned fails its own task, not the batch. */
function post(message: FromThread): void {
  try {
    port.postMessage(message);
  } catch (error) {
    if (message.type !== "done" || message.outcomes.length === 0) throw error;
    for (const outcome of message.outcomes) {
      try {
        port.postMessage({ type: "done", outcomes: [outcome] });
      } catch (cloneError) {
        port.postMessage({
          type: "done",
          outcomes: [
            {
              key: outcome.key,
              ok: false,
              error: {
                name: "DataCloneError",
                message: `the result of task "${outcome.key}" cannot leave its worker thread: ${(cloneError as Error).message}`,
              },
              durationMs: outcome.durationMs,
            },
          ],
        });
      }
    }
  }
}

await pending;
post({ type: "ready" });
