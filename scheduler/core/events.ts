import type { Key } from "../../graph/task-spec.js";
import type { ClientId, WorkerId } from "../../protocol/ids.js";
import type { TaskFailure } from "../../protocol/task-failure.js";

/** One task of a submitted graph, as far as the scheduler needs it: no function, no arguments. */
export interface SubmittedTask {
  readonly key: Key;
  readonly deps: readonly Key[];
  /** Position in the graph's ordering: lower runs first (see `orderGraph`). */
  readonly order: number;
  /** User priority: higher runs first, before `order` is consulted. Default 0. */
  readonly userPriority?: number;
  /** How many times to rerun the task when its function throws. Default 0. */
  readonly retries?: number;
  /** Groups tasks for duration estimates; usually the function name. Default: the key. */
  readonly prefix?: string;
  /**
   * What the shell needs to run the task (its function and arguments, in whatever form the shell
   * likes). The core never looks inside; it keeps it, as Dask's scheduler keeps a task's `run_spec`,
   * and hands it back with every `assign`, sparing the shell a table of its own.
   */
  readonly runSpec?: unknown;
  /**
   * The task places data a client sent (a scatter): its run spec carries the data only until the
   * task first finishes, after which the shell lets go of it. So once its result has been held, it
   * cannot be made again: when its last copy is lost it errs (and so does every task that needs it)
   * instead of being recomputed. Default false.
   */
  readonly scattered?: boolean;
}

/** Everything the scheduling core reacts to. Time enters only through `tick`. */
export type SchedulerEvent =
  | GraphSubmitted
  | KeysReleased
  | WorkerJoined
  | WorkerLeft
  | TaskStarted
  | TaskFinished
  | TaskErred
  | TaskMissingData
  | ResultsLost
  | StealAccepted
  | StealRefused
  | WorkerStopping
  | WorkerPaused
  | WorkerAccount
  | Tick;

/** A client submits tasks and names the keys it wants. Tasks already known are shared, not rerun. */
export interface GraphSubmitted {
  readonly type: "graph-submitted";
  readonly client: ClientId;
  readonly tasks: readonly SubmittedTask[];
  readonly wanted: readonly Key[];
  /**
   * The shell vouches that the new tasks form no cycle (it ran `validateGraph`, or built the graph so
   * that none can form), and the core skips its own check. Default `false`.
   */
  readonly acyclic?: boolean;
  /**
   * The dependencies that lie within `tasks`, as positions in `tasks`, when the shell has them (the
   * graph ordering computes them): task i's are `deps[depStart[i] .. depStart[i + 1])`, each once.
   * A task whose `deps` are all covered is linked without looking its dependencies up by key.
   */
  readonly links?: { readonly depStart: Int32Array; readonly deps: Int32Array };
}

/** A client no longer wants these keys (it has their results, or it cancels). */
export interface KeysReleased {
  readonly type: "keys-released";
  readonly client: ClientId;
  readonly keys: readonly Key[];
}

/** A worker is ready to take tasks. */
export interface WorkerJoined {
  readonly type: "worker-joined";
  readonly worker: WorkerId;
  /** Tasks the worker runs at once. */
  readonly nthreads: number;
}

/**
 * A worker is shutting down cleanly: it takes no new work and finishes what it has started. The
 * tasks it handed back unstarted (or never received) are placed elsewhere; a `worker-left` follows
 * once it is gone.
 */
export interface WorkerStopping {
  readonly type: "worker-stopping";
  readonly worker: WorkerId;
  /** Tasks assigned to it that it will not run. */
  readonly returned: readonly Key[];
}

/**
 * A worker stopped taking tasks for a while (its memory is at its limit), or started again. While
 * paused it counts as full: nothing new is sent to it, and what waits in its queue may be stolen by
 * other workers; what it runs goes on.
 */
export interface WorkerPaused {
  readonly type: "worker-paused";
  readonly worker: WorkerId;
  readonly paused: boolean;
}

/** A worker stopped, cleanly or not. */
export interface WorkerLeft {
  readonly type: "worker-left";
  readonly worker: WorkerId;
  /**
   * Tasks the worker had started and not finished when it left, when the shell knows them (for
   * example from the worker's in-flight list). Each counts as a death suspect; when absent, the tasks
   * reported by `task-started` are used.
   */
  readonly running?: readonly Key[];
}

/** A worker began running a task: from now on the task can no longer be stolen. */
export interface TaskStarted {
  readonly type: "task-started";
  readonly key: Key;
  readonly worker: WorkerId;
}

/** A task ran to completion on a worker, which now holds its result. */
export interface TaskFinished {
  readonly type: "task-finished";
  readonly key: Key;
  readonly worker: WorkerId;
  /** Size of the result in bytes, as held by the worker. */
  readonly nbytes: number;
  /** Time the function ran, in milliseconds. */
  readonly durationMs: number;
  /**
   * The result came inline with the report and the shell keeps a copy, so it outlives the worker: a
   * departing worker does not take it along. Default false.
   */
  readonly inline?: boolean;
}

/** A task's function threw (or its worker could not run it). */
export interface TaskErred {
  readonly type: "task-erred";
  readonly key: Key;
  readonly worker: WorkerId;
  readonly error: TaskFailure;
  readonly durationMs?: number;
}

/** A worker could not obtain a task's inputs: the named results are gone from the workers said to hold them. */
export interface TaskMissingData {
  readonly type: "task-missing-data";
  readonly key: Key;
  readonly worker: WorkerId;
  /** Each missing input, with the worker that was expected to hold it. */
  readonly missing: readonly { readonly key: Key; readonly worker: WorkerId }[];
}

/** Workers turned out not to hold results they were said to hold (a fetch found nothing). */
export interface ResultsLost {
  readonly type: "results-lost";
  readonly missing: readonly { readonly key: Key; readonly worker: WorkerId }[];
}

/** A steal moved the task, not yet started, from the victim's queue to the thief's: it will run on the thief. */
export interface StealAccepted {
  readonly type: "steal-accepted";
  readonly key: Key;
  readonly victim: WorkerId;
  readonly thief: WorkerId;
}

/** The victim of a steal had already started (or finished) the task; it stays there. */
export interface StealRefused {
  readonly type: "steal-refused";
  readonly key: Key;
  readonly victim: WorkerId;
}

/** A result a worker names in its account (see {@link WorkerAccount}). */
export interface AccountedResult {
  readonly key: Key;
  readonly nbytes: number;
  /** What computed it (`taskFingerprint` of function and arguments), "" when unknown (a copy). */
  readonly fingerprint: string;
}

/**
 * A worker's account of everything it has, sent when the cluster's generation changed: a new
 * scheduler took the role (the worker's results may serve the jobs it runs again), or Redis lost
 * its data (the queues and reports it held are gone, and this account says what survived). The
 * core adopts what it can, releases what nobody wants, and places again what was lost.
 */
export interface WorkerAccount {
  readonly type: "worker-account";
  readonly worker: WorkerId;
  /** Results it holds. */
  readonly held: readonly AccountedResult[];
  /** Tasks it runs, has taken, or has queued. */
  readonly assigned: readonly Key[];
  /**
   * Tasks the shell sent it before losing track of them (Redis lost its data): each still
   * processing there that the account neither holds nor has assigned was lost, and is placed again.
   * Default: none.
   */
  readonly unsure?: readonly Key[];
}

/** Periodic: lets the core rebalance work (stealing). `now` is in milliseconds. */
export interface Tick {
  readonly type: "tick";
  readonly now: number;
}
