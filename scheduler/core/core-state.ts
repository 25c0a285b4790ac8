import type { Key } from "../../graph/task-spec.js";
import type { SchedulerCommand } from "./commands.js";
import { DurationEstimates } from "./duration-estimates.js";
import type { WorkerId } from "../../protocol/ids.js";
import { QueueProgress } from "./queue-progress.js";
import { QUEUE_SEQ_LIMIT } from "./queue-score.js";
import { ReadyQueue } from "./ready-queue.js";
import type { ResolvedSchedulerConfig } from "./scheduler-config.js";
import type { TaskState, TaskStateName, WorkerState } from "./task-state.js";
import { UnclaimedResults } from "./unclaimed-results.js";

/** Called on every state change; tests use it to prove each transition of the table is exercised. */
export type TransitionObserver = (key: Key, from: TaskStateName, to: TaskStateName) => void;

/**
 * Everything the scheduling core knows, and the buffers one `handle` call fills. The transition
 * functions, worker choice and stealing all work on this one object; `SchedulerCore` is its face.
 */
export class CoreState {
  readonly tasks = new Map<Key, TaskState>();
  readonly workers = new Map<WorkerId, WorkerState>();
  readonly queue = new ReadyQueue();
  readonly durations: DurationEstimates;
  /** Commands produced by the event being handled. */
  commands: SchedulerCommand[] = [];
  /** Tasks that became ready during this event; placed on workers, in priority order, at its end. */
  readonly ready: TaskState[] = [];
  /** Tasks whose need may have ended; released or forgotten at the end of the event. */
  readonly releaseCandidates: TaskState[] = [];
  /** Submissions so far: the next graph's `generation`. */
  generation = 0;
  /**
   * How far the workers have got through each user priority's queue: where the next submission's
   * queue sequences start (see `queue-progress.ts`).
   */
  readonly progress = new QueueProgress();
  /**
   * Queue sequences available before the live tasks are renumbered: `QUEUE_SEQ_LIMIT` (2^32), or
   * less in tests that want to see a renumbering without submitting billions of tasks.
   */
  queueSeqLimit = QUEUE_SEQ_LIMIT;
  workerSeq = 0;
  /** Results workers hold that no known task claims yet (see `unclaimed-results.ts`). */
  readonly unclaimed = new UnclaimedResults();
  /** The time of the last `tick`, in ms: the core's only clock. */
  now = 0;
  /** Transitions under way, one inside another (see `MAX_TRANSITION_DEPTH`); 0 between events. */
  transitionDepth = 0;
  /** Bumped per traversal so a traversal can mark tasks (`TaskState.visitStamp`) without clearing marks afterwards. */
  visitStamp = 0;

  constructor(
    readonly config: ResolvedSchedulerConfig,
    readonly onTransition: TransitionObserver | undefined,
  ) {
    this.durations = new DurationEstimates(config.defaultTaskDurationMs);
  }

  emit(command: SchedulerCommand): void {
    this.commands.push(command);
  }

  /**
   * How many tasks a worker may hold at once: `nthreads × saturation`, raised for short tasks so each
   * thread holds about `fillMs` of work (capped at `maxTasksPerThread`); none for a stopping or a
   * paused worker.
   */
  capacity(worker: WorkerState): number {
    if (worker.closing || worker.paused) return 0;
    const { saturation, fillMs, maxTasksPerThread } = this.config;
    const bySaturation = Math.ceil(worker.nthreads * saturation);
    const perThread = Math.min(maxTasksPerThread, Math.floor(fillMs / Math.max(this.durations.average, 1e-6)));
    return Math.max(bySaturation, perThread * worker.nthreads);
  }

  hasRoom(worker: WorkerState): boolean {
    return worker.processing.length < this.capacity(worker);
  }

  /**
   * Milliseconds to bring the inputs of `task` that `worker` lacks; 0 when it holds them all. An input
   * the worker is already fetching for another task counts as held: that one transfer serves both.
   */
  transferMs(task: TaskState, worker: WorkerState): number {
    let bytes = 0;
    let fetches = 0;
    for (const dep of task.dependencies) {
      if (!dep.heldOrFetchedBy(worker)) {
        bytes += dep.nbytes;
        fetches++;
      }
    }
    if (fetches === 0) return 0;
    return this.config.transferLatencyMs + (bytes / this.config.bandwidth) * 1000;
  }
}
