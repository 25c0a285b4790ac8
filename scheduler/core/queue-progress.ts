/**
 * How far the workers have got through the queue of each user priority, so that a job submitted now
 * starts where the queue is now, not behind every job submitted before it.
 *
 * A task's queue sequence (see `queue-score.ts`) is `start + order`: `start` is where its submission
 * entered the queue of its user priority, `order` its position in its graph's ordering. With the
 * start fixed by submission alone (one contiguous run of sequences per graph, as before), a 1-task
 * job sent while a 4,000-task job ran sorted after every task of that job and waited for all of it.
 * Here a submission starts at its level's **progress + 1**, the progress being the largest sequence
 * of that level handed to a worker so far. So:
 *
 * - the i-th task (in graph order) of every job running at one priority holds sequence
 *   `progress-at-its-submission + 1 + i`: jobs submitted together take turns, one task each
 *   ("round-robin by rank", the interleaving Dask gets from giving graphs submitted within its
 *   `fifo-timeout` the same `generation`), and a job submitted later, while an earlier one is half
 *   done, joins the turns at the front of what is left of it instead of after it. The older job wins
 *   a tie, so a small job waits for about one task of each job already running, whatever their size;
 * - within a job, sequences follow its graph order exactly, so the memory-friendly depth-first order
 *   of `graph/order.ts` is kept: a task whose inputs finished late (its sequence is below the
 *   progress by then) goes before the job's later roots, and before jobs submitted since.
 *
 * Each user priority has its own progress: a higher-priority job running in between must not push
 * the next ordinary job behind the ordinary jobs still running. A level is kept while some live task
 * (known to the core, not forgotten) holds a sequence of it, and dropped with its last one, so the
 * map holds at most one entry per priority in use; a level created afresh starts at 0, since no task
 * of its priority is left to compare with.
 *
 * Everything here is O(1) per task: a task holds its {@link PriorityLevel}, so noting an assignment
 * or forgetting a task is a field update, not a map lookup.
 *
 * A known limit of scores fixed at submission (which is what lets the workers' Redis queues follow
 * the same order with no per-take logic): a job that ran narrow for a while (one long chain) falls
 * behind the progress and, when it widens, gets back its share in a burst — its tasks then run before
 * the jobs submitted since, until it has caught up. The burst is at most the turns it missed while it
 * had nothing ready (Dask's static `(priority, generation, order)` has the same property).
 */

/**
 * The queue of one user priority: its progress and how many live tasks hold one of its sequences.
 * Tasks hold their level (`TaskState.level`); {@link QueueProgress} creates and drops levels.
 *
 * @example
 * ```ts
 * const level = new QueueProgress().level(-5); // priority 5
 * level.progress; // -1: nothing of priority 5 handed out yet, so a job submitted now starts at 0
 * ```
 */
export class PriorityLevel {
  /**
   * The largest queue sequence of this priority handed to a worker so far; -1 before any. The next
   * submission's tasks of this priority start at `progress + 1`.
   */
  progress = -1;
  /** Live tasks holding a sequence of this priority. */
  tasks = 0;

  constructor(
    /** The negated user priority (`TaskState.userRank`) of the level. */
    readonly userRank: number,
  ) {}
}

/**
 * The {@link PriorityLevel}s in use, by user priority.
 *
 * @example
 * ```ts
 * const progress = new QueueProgress();
 * const level = progress.level(0); // priority 0: a new level starts at 0
 * level.tasks++; // a task of a 4,000-task job gets sequence 0 + its order
 * progress.served(level, 1_000); // ... and the workers have been given up to sequence 1,000
 * progress.startOf(0); // 1001: a job submitted now starts here, level with the big job's next task (order 1,001)
 * ```
 */
export class QueueProgress {
  private readonly levels = new Map<number, PriorityLevel>();
  /** The level last looked up: a submission's tasks mostly share one priority. */
  private last: PriorityLevel | undefined;

  /** The first sequence a submission's tasks of this user rank get now: the level's progress + 1, or 0 for a level not in use. */
  startOf(userRank: number): number {
    return (this.get(userRank)?.progress ?? -1) + 1;
  }

  /** The level of this user rank, created (with progress -1 and no tasks) when not in use. */
  level(userRank: number): PriorityLevel {
    let level = this.get(userRank);
    if (level === undefined) {
      level = new PriorityLevel(userRank);
      this.levels.set(userRank, level);
      this.last = level;
    }
    return level;
  }

  /** A task of `level` with sequence `seq` was handed to a worker: the level's progress reaches it. */
  served(level: PriorityLevel, seq: number): void {
    if (seq > level.progress) level.progress = seq;
  }

  /** A task holding a sequence of `level` was forgotten; the level goes with its last task. */
  drop(level: PriorityLevel): void {
    if (--level.tasks > 0) return;
    this.levels.delete(level.userRank);
    if (this.last === level) this.last = undefined;
  }

  /** The levels in use. */
  values(): IterableIterator<PriorityLevel> {
    return this.levels.values();
  }

  /** Number of levels in use. */
  get size(): number {
    return this.levels.size;
  }

  /** The level of this user rank, or undefined when none is in use. */
  get(userRank: number): PriorityLevel | undefined {
    // -0 and 0 are one priority: `===` and the map's keys agree on that.
    if (this.last !== undefined && this.last.userRank === userRank) return this.last;
    const level = this.levels.get(userRank);
    if (level !== undefined) this.last = level;
    return level;
  }
}
