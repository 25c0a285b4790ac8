import type { Key } from "../graph/task-spec.js";
import type { ClientId, TaskFailure, WorkerId } from "./events.js";

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

/** The scheduler's record of one task. Mutated only through the transition table. */
export class TaskState {
  state: TaskStateName = "released";
  /** Keys of inputs, resolved once the graph is linked. */
  readonly dependencies: TaskState[] = [];
  /** Tasks that read this one's result; shrinks as they are forgotten. */
  readonly dependents = new Set<TaskState>();
  /** Dependents that still have to run and will read this result: while non-empty it is kept. */
  readonly waiters = new Set<TaskState>();
  /** Inputs not in memory yet (meaningful in `waiting`). */
  waitingOn = 0;
  /** Clients that asked for this key. */
  readonly wantedBy = new Set<ClientId>();
  processingOn: WorkerState | null = null;
  /** Duration estimate counted into the worker's occupancy when assigned, so exactly it is taken off again. */
  estimateMs = 0;
  /** Set by `task-started`: the worker began running it, so it cannot be stolen and its worker's death counts. */
  started = false;
  /** A steal request is out for this task. */
  stealingTo: WorkerState | null = null;
  readonly whoHas = new Set<WorkerState>();
  nbytes = 0;
  retriesLeft: number;
  /** Workers that died while running this task, oldest first. */
  readonly deaths: WorkerId[] = [];
  error: TaskFailure | null = null;
  /** Position in the ready queue's heap, or -1 when not queued. */
  heapIndex = -1;

  constructor(
    readonly key: Key,
    /** Groups tasks for duration estimates. */
    readonly prefix: string,
    /** Negated user priority, so that smaller is always earlier. */
    readonly userRank: number,
    /** Submission number: earlier graphs run first. */
    readonly generation: number,
    /** Position in its graph's ordering. */
    readonly order: number,
    retries: number,
  ) {
    this.retriesLeft = retries;
  }

  /** True when something still needs this task's result: a client, or a dependent yet to run. */
  get needed(): boolean {
    return this.wantedBy.size > 0 || this.waiters.size > 0;
  }
}

/** Smaller is earlier: user priority, then submission, then graph order. */
export function comparePriority(a: TaskState, b: TaskState): number {
  return a.userRank - b.userRank || a.generation - b.generation || a.order - b.order;
}

/** The scheduler's record of one worker. */
export class WorkerState {
  /** Tasks given to this worker and not finished. */
  readonly processing = new Set<TaskState>();
  /** Results this worker holds. */
  readonly hasWhat = new Set<TaskState>();
  /** Estimated milliseconds of work in `processing`. */
  occupancy = 0;
  /** Bytes of results held. */
  nbytes = 0;

  constructor(
    readonly id: WorkerId,
    readonly nthreads: number,
    /** Join order, the last tie-breaker between otherwise equal workers. */
    readonly seq: number,
  ) {}
}
