import type { Key } from "../../graph/task-spec.js";
import type { TaskPrefix } from "./duration-estimates.js";
import type { PriorityLevel } from "./queue-progress.js";
import type { ClientId, WorkerId } from "../../protocol/ids.js";
import type { TaskFailure } from "../../protocol/task-failure.js";

/**
 * Where a task is in its life, as the scheduler sees it.
 *
 * - `released`: known, but not needed now, or its result was dropped.
 * - `waiting`: needed; some input is not in memory yet.
 * - `queued`: needed and ready, waiting in the scheduler for a worker with room.
 * - `processing`: given to a worker.
 * - `memory`: its result is held by at least one worker.
 * - `erred`: it failed, itself or through an input.
 * - `forgotten`: dropped from the scheduler; only ever the target of a transition.
 */
export type TaskStateName = "released" | "waiting" | "queued" | "processing" | "memory" | "erred" | "forgotten";

/**
 * The empty task list that tasks without inputs or dependents share, so half of a tree reduction's
 * tasks allocate no arrays. Never mutated: `addDependent` and `addDependency` replace it.
 */
const NO_TASKS: TaskState[] = [];
const NO_WORKERS: WorkerState[] = [];

/**
 * The scheduler's record of one task. Its `state` changes only through the transition table
 * (`transition` in `transitions.ts`), which keeps the books of both ends in step. The books shared
 * with workers change only through one pair each: holders through {@link TaskState.addReplica} and
 * {@link TaskState.removeReplica} (which also count the worker's results and bytes), the worker's
 * queue through `placeOn` and `unassign`. Facts that events bring — `started`, `stealingTo`,
 * `keptByShell`, `scattered`, `irreplaceable`, `retriesLeft`, `deaths`, `wantedBy`, pending replicas — are set by the core's event
 * handlers; `validateCoreState` checks that all of it agrees.
 */
export class TaskState {
  state: TaskStateName = "released";
  /** Inputs, linked when the graph is submitted; the shared {@link NO_TASKS} when there are none. */
  dependencies: TaskState[] = NO_TASKS;
  /**
   * Tasks that read this one's result. Forgotten dependents stay in the array until it is compacted
   * (see {@link TaskState.dropDependent}); code that walks it looks at their state anyway.
   */
  dependents: TaskState[] = NO_TASKS;
  /** Dependents not forgotten: while non-zero, this task is kept so that they could be recomputed. */
  dependentCount = 0;
  /**
   * Dependents that still have to run and will read this result — those waiting, queued or processing.
   * While non-zero the result is kept. A count rather than a set: membership follows from the
   * dependents' states, and the transitions keep it in step.
   */
  waiterCount = 0;
  /** Inputs not in memory yet (meaningful in `waiting`). */
  waitingOn = 0;
  /** Clients that asked for this key; null until one does (most tasks are never asked for). */
  wantedBy: Set<ClientId> | null = null;
  processingOn: WorkerState | null = null;
  /** Duration estimate counted into the worker's occupancy when assigned, so exactly it is taken off again. */
  estimateMs = 0;
  /** Set by `task-started`: the worker began running it, so it cannot be stolen and its worker's death counts. */
  started = false;
  /** A steal request is out for this task. */
  stealingTo: WorkerState | null = null;
  /** Workers holding the result: usually one, so an array beats a set. Shared and empty until one does. */
  whoHas: WorkerState[] = NO_WORKERS;
  /**
   * Pending replicas: workers given a task that reads this result, which will fetch it from a holder
   * (and then keep it and report it, becoming holders). Only steers the transfer estimate, so a task
   * reading this result follows the copy already on its way instead of ordering a second one; a stale
   * entry costs a worse estimate, never a wrong result. Empty outside `memory`, never lists a holder.
   * Shared and empty until one does.
   */
  fetching: WorkerState[] = NO_WORKERS;
  /** In memory, the shell holds a copy of the result (it came inline), so it survives its holders. */
  keptByShell = false;
  /** Submitted as scattered data (see `SubmittedTask.scattered`). */
  scattered = false;
  /**
   * The result cannot be made again: scattered data whose task has finished once, so the shell no
   * longer has the data. Needed after its last copy was lost, the task errs instead of running.
   */
  irreplaceable = false;
  nbytes = 0;
  retriesLeft: number;
  /** Workers that died while running this task, oldest first; null until one does. */
  deaths: WorkerId[] | null = null;
  error: TaskFailure | null = null;
  /** Position in `processingOn.processing`, or -1. */
  processingIndex = -1;
  /** Position in the ready queue's heap, or -1 when not queued. */
  heapIndex = -1;
  /**
   * Where the task stands in its priority's queue, jobs taking turns: the start of its submission
   * plus its graph order (see `queue-score.ts` and `queue-progress.ts`); -1 until the submission
   * that created the task is accepted.
   */
  queueSeq = -1;
  /** The queue of the task's user priority, whose progress it advances when assigned; null until it has a sequence. */
  level: PriorityLevel | null = null;
  /** Marks tasks during one traversal (see `CoreState.visitStamp`), instead of a visited set per traversal. */
  visitStamp = 0;

  constructor(
    readonly key: Key,
    /** Groups tasks for duration estimates. */
    readonly prefix: TaskPrefix,
    /** Negated user priority, so that smaller is always earlier. */
    readonly userRank: number,
    /**
     * Submission number: tells a submission's own tasks apart, and breaks a tie between tasks of two
     * jobs at one queue sequence (the older job first).
     */
    readonly generation: number,
    /** Position in its graph's ordering. */
    readonly order: number,
    retries: number,
    /** The shell's description of how to run the task; opaque to the core. */
    readonly runSpec: unknown,
  ) {
    this.retriesLeft = retries;
  }

  /** True when something still needs this task's result: a client, or a dependent yet to run. */
  get needed(): boolean {
    return this.waiterCount > 0 || (this.wantedBy !== null && this.wantedBy.size > 0);
  }

  /** True when some client asked for this key. */
  get wanted(): boolean {
    return this.wantedBy !== null && this.wantedBy.size > 0;
  }

  holds(worker: WorkerState): boolean {
    return this.whoHas.includes(worker);
  }

  /**
   * `worker` now holds a copy of the result: it joins the holders, and the worker's result count and
   * bytes grow by it. With {@link removeReplica}, the only way either book changes. Set `nbytes`
   * first: it is what the worker is charged.
   */
  addReplica(worker: WorkerState): void {
    if (this.whoHas === NO_WORKERS) this.whoHas = [worker];
    else this.whoHas.push(worker);
    worker.resultCount++;
    worker.nbytes += this.nbytes;
  }

  /** `worker` no longer holds the result; false when it did not. Its result count and bytes shrink by it. */
  removeReplica(worker: WorkerState): boolean {
    const index = this.whoHas.indexOf(worker);
    if (index < 0) return false;
    this.whoHas.splice(index, 1);
    worker.resultCount--;
    worker.nbytes -= this.nbytes;
    return true;
  }

  /** Removes every holder, as {@link removeReplica} does each; returns who they were. */
  removeAllReplicas(): WorkerState[] {
    const holders = this.whoHas;
    this.whoHas = NO_WORKERS;
    for (const worker of holders) {
      worker.resultCount--;
      worker.nbytes -= this.nbytes;
    }
    return holders;
  }

  /** True when `worker` holds the result or is fetching it for a task assigned to it. */
  heldOrFetchedBy(worker: WorkerState): boolean {
    return this.whoHas.includes(worker) || this.fetching.includes(worker);
  }

  /** Records that `worker` is fetching the result; a worker already recorded is not listed twice. */
  addFetcher(worker: WorkerState): void {
    if (this.fetching === NO_WORKERS) this.fetching = [worker];
    else if (!this.fetching.includes(worker)) this.fetching.push(worker);
  }

  /** Forgets that `worker` is fetching the result, if it was recorded. */
  dropFetcher(worker: WorkerState): void {
    if (this.fetching.length === 0) return;
    const index = this.fetching.indexOf(worker);
    if (index >= 0) this.fetching.splice(index, 1);
  }

  /** Forgets every pending replica. */
  clearFetchers(): void {
    this.fetching = NO_WORKERS;
  }

  addDependent(dependent: TaskState): void {
    if (this.dependents === NO_TASKS) this.dependents = [dependent];
    else this.dependents.push(dependent);
    this.dependentCount++;
  }

  /** Links inputs, each once, in the given order. */
  linkDependencies(dependencies: readonly TaskState[]): void {
    this.dependencies = dependencies.length === 0 ? NO_TASKS : (dependencies as TaskState[]);
    for (const dependency of dependencies) dependency.addDependent(this);
  }

  /**
   * A dependent was forgotten. Compacts the array once forgotten entries are the majority, so a
   * long-lived result read by many short-lived graphs does not accumulate them.
   */
  dropDependent(): void {
    this.dependentCount--;
    if (this.dependents.length > 8 && this.dependentCount * 2 < this.dependents.length) {
      this.dependents = this.dependents.filter((d) => d.state !== "forgotten");
    }
  }

  /** Rolls back a link made by a submission that was then refused. */
  unlinkDependent(dependent: TaskState): void {
    const index = this.dependents.lastIndexOf(dependent);
    if (index >= 0) {
      this.dependents.splice(index, 1);
      this.dependentCount--;
    }
  }
}

/**
 * Smaller is earlier: user priority, then queue sequence (jobs of one priority take turns; within a
 * job it follows the graph order, see `queue-progress.ts`), then submission (the older job wins a
 * tie). Tasks of one submission and priority differ in sequence exactly as they do in `order`.
 */
export function comparePriority(a: TaskState, b: TaskState): number {
  return a.userRank - b.userRank || a.queueSeq - b.queueSeq || a.generation - b.generation;
}

/** The scheduler's record of one worker. */
export class WorkerState {
  /**
   * Tasks given to this worker and not finished. An array with each task's position kept in
   * `processingIndex`, so removal is a swap with the last element rather than a hash-set delete.
   */
  readonly processing: TaskState[] = [];
  /**
   * Number of results this worker holds; which ones is derived from the tasks' `whoHas` when needed.
   * Changed only by `TaskState.addReplica` and `removeReplica`, as is {@link nbytes}.
   */
  resultCount = 0;
  /** Estimated milliseconds of work in `processing`. */
  occupancy = 0;
  /** Bytes of results held. */
  nbytes = 0;
  /** Shutting down cleanly: it gets no new work and finishes what it started. */
  closing = false;
  /** Takes no tasks for now (at its memory limit): it counts as full, and its queue may be stolen. */
  paused = false;

  /** `[id]`, shared by the commands about results only this worker holds (the common case). */
  readonly idList: readonly WorkerId[];

  constructor(
    readonly id: WorkerId,
    readonly nthreads: number,
    /** Join order, the last tie-breaker between otherwise equal workers. */
    readonly seq: number,
  ) {
    this.idList = Object.freeze([id]);
  }
}
