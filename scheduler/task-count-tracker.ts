import type { Key } from "../graph/task-spec.js";
import type { TaskCounts } from "../protocol/job-api.js";
import type { TaskStateName } from "./core/task-state.js";

// Where a task stands in a computation's counts: an index into `TaskTally.tally`.
const WAITING = 0;
const QUEUED = 1;
const PROCESSING = 2;
const FINISHED = 3;
const ERRED = 4;
const RELEASED = 5;
/**
 * Added to a standing a worker's report fixed (finished or erred): later state changes of the task
 * (its result released once its dependents ran, or recomputed after a worker died) no longer move it,
 * since the computation has seen it end.
 */
const REPORTED = 8;

/** The standing of a task in a state; a task the core does not know (any more) counts as released. */
function standingOf(state: TaskStateName | undefined): number {
  switch (state) {
    case "waiting":
      return WAITING;
    case "queued":
      return QUEUED;
    case "processing":
      return PROCESSING;
    case "memory":
      return FINISHED;
    case "erred":
      return ERRED;
    default:
      return RELEASED;
  }
}

/**
 * Keeps the task counts of the computations being followed as their tasks change state, so that a
 * progress report costs O(1) whatever the size of the computation, and each state change or worker
 * report O(computations following that task). The scheduler shell feeds it the core's transitions
 * (the core's `onTransition` hook: the core stays pure, the shell does the bookkeeping) and the
 * workers' reports, before the core sees them.
 *
 * @example
 * ```ts
 * const tracker = new TaskCountTracker((key) => core.stateOf(key));
 * const tally = tracker.follow();            // before submitting: reports may come at once
 * tally.setKeys(shell.submit(submission, handlers));
 * tally.counts();                            // { total, waiting, queued, processing, finished, erred, released }
 * tally.stop();
 * ```
 */
export class TaskCountTracker {
  /** The tallies following each key: one, or several when computations share a task. */
  private readonly byKey = new Map<Key, TaskTally | TaskTally[]>();
  /** Tallies whose keys are not known yet: they see every report, and keep those of their keys. */
  private readonly awaitingKeys = new Set<TaskTally>();

  constructor(
    /** The core's state of a task: read once per key when a tally learns its keys, never per report. */
    readonly stateOf: (key: Key) => TaskStateName | undefined,
  ) {}

  /** True while any computation is followed: the shell then hands over every worker report. */
  get following(): boolean {
    return this.byKey.size > 0 || this.awaitingKeys.size > 0;
  }

  /** Starts following a computation whose keys come later, with {@link TaskTally.setKeys}. */
  follow(): TaskTally {
    const tally = new TaskTally(this);
    this.awaitingKeys.add(tally);
    return tally;
  }

  /** A task of the core changed state (the core's `onTransition`). O(tallies following the key). */
  transitioned(key: Key, _from: TaskStateName, to: TaskStateName): void {
    if (this.byKey.size === 0) return;
    const followers = this.byKey.get(key);
    if (followers === undefined) return;
    const standing = standingOf(to);
    if (followers instanceof TaskTally) followers.move(key, standing);
    else for (const tally of followers) tally.move(key, standing);
  }

  /** A worker reported a task's end, before the core sees the report. */
  reported(key: Key, kind: "finished" | "erred"): void {
    const standing = (kind === "finished" ? FINISHED : ERRED) + REPORTED;
    for (const tally of this.awaitingKeys) tally.early(key, standing);
    const followers = this.byKey.get(key);
    if (followers === undefined) return;
    if (followers instanceof TaskTally) followers.move(key, standing);
    else for (const tally of followers) tally.move(key, standing);
  }

  /** @internal Called by {@link TaskTally.setKeys}. */
  attach(tally: TaskTally, keys: readonly Key[]): void {
    this.awaitingKeys.delete(tally);
    for (const key of keys) {
      const followers = this.byKey.get(key);
      if (followers === undefined) this.byKey.set(key, tally);
      else if (followers instanceof TaskTally) this.byKey.set(key, [followers, tally]);
      else followers.push(tally);
    }
  }

  /** @internal Called by {@link TaskTally.stop}. */
  detach(tally: TaskTally, keys: Iterable<Key>): void {
    this.awaitingKeys.delete(tally);
    for (const key of keys) {
      const followers = this.byKey.get(key);
      if (followers === tally) this.byKey.delete(key);
      else if (Array.isArray(followers)) {
        const at = followers.indexOf(tally);
        if (at >= 0) followers.splice(at, 1);
        if (followers.length === 1) this.byKey.set(key, followers[0]);
      }
    }
  }
}

/**
 * One computation's task counts, kept up to date by a {@link TaskCountTracker}. A task counts as
 * finished once a worker reported it finished (or the core holds its result), as erred once reported
 * erred (or the core says so); otherwise by its state in the core, released when the core no longer
 * knows it.
 *
 * @example
 * ```ts
 * const tally = shell.followCounts();
 * tally.setKeys(submittedKeys);
 * const { finished, total } = tally.counts(); // O(1)
 * tally.stop();
 * ```
 */
export class TaskTally {
  /** Each key's standing; undefined until the keys are known. */
  private standings: Map<Key, number> | undefined;
  /** Reports that came before the keys were known (the sync executor runs tasks while a graph is submitted). */
  private earlyReports: Map<Key, number> | undefined = new Map();
  /** Tasks per standing: waiting, queued, processing, finished, erred, released. */
  private readonly tally = [0, 0, 0, 0, 0, 0];
  private stopped = false;

  /** @internal Made by {@link TaskCountTracker.follow}. */
  constructor(private readonly tracker: TaskCountTracker) {}

  /**
   * The computation's tasks, once submitted: each one's state is read once, here (O(keys) once per
   * computation); from now on transitions and reports keep the counts.
   */
  setKeys(keys: readonly Key[]): void {
    if (this.stopped || this.standings !== undefined) return;
    const standings = new Map<Key, number>();
    const early = this.earlyReports!;
    this.earlyReports = undefined;
    for (const key of keys) {
      const standing = early.get(key) ?? standingOf(this.tracker.stateOf(key));
      standings.set(key, standing);
      this.tally[standing & ~REPORTED]++;
    }
    this.standings = standings;
    this.tracker.attach(this, keys);
  }

  /** The current counts: O(1). */
  counts(): TaskCounts {
    const t = this.tally;
    return { total: this.standings?.size ?? 0, waiting: t[WAITING], queued: t[QUEUED], processing: t[PROCESSING], finished: t[FINISHED], erred: t[ERRED], released: t[RELEASED] };
  }

  /** Stops following: the tracker forgets this computation's keys. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.tracker.detach(this, this.standings?.keys() ?? []);
  }

  /** @internal A key of this tally changed standing. */
  move(key: Key, standing: number): void {
    const standings = this.standings!;
    const was = standings.get(key);
    // A reported end is final; so is the first report (a late duplicate must not move it again).
    if (was === undefined || was === standing || was >= REPORTED) return;
    standings.set(key, standing);
    this.tally[was]--;
    this.tally[standing & ~REPORTED]++;
  }

  /** @internal A report that came before the keys were known. */
  early(key: Key, standing: number): void {
    if (!this.earlyReports!.has(key)) this.earlyReports!.set(key, standing);
  }
}
