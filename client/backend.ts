import type { Key } from "../graph/task-spec.js";
import type { WorkerInfo } from "../protocol/job-api.js";
import type { Progress } from "./client-api.js";
import type { Computation } from "./collection.js";

/** One computation a {@link Client} hands to its backend. */
export interface BackendRun {
  /** The merged graph, its outputs and (for graphs of delayed values alone) its ordering index. */
  readonly computation: Computation;
  /**
   * Keep the outputs' results after delivering them, under the hold {@link onHold} names, until the
   * client releases them (what `persist` and `submit` do). Default: released once delivered.
   */
  readonly keep: boolean;
  /** Called with the name of the hold the results are kept under, once the backend has accepted the run. */
  readonly onHold?: (hold: string) => void;
  /** Called with the run's task counts as its tasks finish. Default: progress is not followed. */
  readonly onProgress?: (progress: Progress) => void;
  /** Timeout of each task without its own, in ms (see `JobOptions.taskTimeoutMs`). Default: none. */
  readonly taskTimeoutMs?: number;
  /**
   * Fail the run with a `NoWorkersError` once it has waited this long, in ms, with no worker able to
   * run its tasks (see `ClientOptions.noWorkersTimeoutMs`). Default: it waits for workers.
   */
  readonly noWorkersTimeoutMs?: number;
}

/**
 * Where a {@link Client} sends its computations: a scheduler in this process (`Client.local()`, or one
 * the program started, `Client.attach(scheduler)`), or a cluster's HTTP API (`Client.connect(url)`).
 * The client does the rest — collecting graphs, futures, keeping persisted results while the program
 * references them — the same way over every backend, as Temporal's client does over its connection.
 *
 * @example
 * ```ts
 * const values = await backend.run({ computation: collectComputation([total]), keep: false });
 * ```
 */
export interface ClientBackend {
  /**
   * True when tasks run in other processes (a cluster's workers): the client then scatters the data
   * collections hold in memory before the graphs that read it, and refuses closures, which cannot
   * run there. False for a scheduler whose tasks run in this process.
   */
  readonly remote: boolean;
  /**
   * Places `value` where tasks run, held under `key` (a worker's memory on a cluster), for graphs to
   * read as any held result; resolves with the name of the hold keeping it once it is held, to be
   * released as a kept run's is ({@link release}). Rejects with a `GraphError` when `key` is already
   * a task's result, or the value cannot go to the workers.
   */
  scatter(key: Key, value: unknown): Promise<string>;
  /**
   * Runs a computation; resolves with its outputs' values in `outputs` order. Rejects with a
   * `GraphError` naming the bad key when the graph is refused, or a `TaskError` when a task fails.
   */
  run(run: BackendRun): Promise<unknown[]>;
  /**
   * The program no longer references `keys` of a hold. `last` when nothing of the hold is referenced
   * any more: everything it keeps may go (a run still going is cancelled).
   */
  release(hold: string, keys: readonly Key[], last: boolean): Promise<void>;
  /**
   * The program is done with the values a run gave it, keeping `kept` (the values themselves, or what
   * it made of them); an in-process backend reuses the memory of the rest. Nothing to do where results
   * arrive as copies.
   */
  settle(values: readonly unknown[], kept: unknown): void;
  /** The workers, with their threads, tasks and results held. */
  workers(): Promise<WorkerInfo[]>;
  /** Stops what the backend started (a local scheduler's threads); a cluster is left running. */
  close(): Promise<void>;
}
