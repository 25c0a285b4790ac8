import { MAX_USER_PRIORITY, MIN_USER_PRIORITY } from "../../graph/task-spec.js";
import type { CoreState } from "./core-state.js";
import type { PriorityLevel } from "./queue-progress.js";
import type { TaskState } from "./task-state.js";

/**
 * How a task's priority becomes the one number a worker's queue sorts by, and stays exact forever.
 *
 * A worker's queue is a Redis sorted set, and a sorted set sorts by one IEEE double: an integer
 * score is exact only below 2^53. The core orders tasks by three keys (`comparePriority`): user
 * priority, then queue sequence, then submission (the older job first, among tasks of one sequence).
 * Folding keys into a double by fixed decimal scales (the old `rank·1e13 + generation·1e7 + order`)
 * ran out of room: after 10^6 submissions the submission part spilled into the priority part, and a
 * priority-1 task then sorted after a priority-0 one; user priorities beyond ±900 were not exact either.
 *
 * The score has two parts, each with a fixed number of bits:
 *
 * - the user priority, an integer bounded to ±1,000,000 ({@link MIN_USER_PRIORITY} …
 *   {@link MAX_USER_PRIORITY}, checked where graphs come in and again by the core), offset to be
 *   non-negative: 21 bits;
 * - a **queue sequence**, 32 bits, that makes jobs of one priority take turns (see
 *   `queue-progress.ts`): a submission's task of graph order `order` gets `start + order`, where
 *   `start` is one past the largest sequence of its priority handed to a worker so far. The i-th tasks
 *   of jobs submitted together share a sequence, so they alternate; a job submitted while another
 *   runs starts level with that job's next task, so it does not wait for the rest of it; and within a
 *   job, sequences follow the graph order.
 *
 * The worker queues sort by this score, and the core's ready queue by the same keys, so both follow
 * the same fair order and a worker takes tasks with no per-take logic in Lua. Tasks of two jobs at one
 * sequence have one score: Redis orders them by key, the core by submission; both are fair.
 *
 * 21 + 32 = 53 bits: every score is an exact integer, so no two tasks ever compare wrongly. Sequences
 * grow with the work done (the progress moves about one sequence per task run) and start again from 0
 * when no live task of the priority is left. When a submission's sequences would pass
 * {@link QUEUE_SEQ_LIMIT} (after about 4·10^9 tasks run while the priority was never idle), the core
 * **renumbers**:
 * the live tasks' sequences become 0, 1, 2, … in their old order, equal ones staying equal (tasks of
 * jobs taking turns), and each priority's progress moves with them, so a job submitted after the
 * renumbering still starts at the front of what is left; every task sitting in a worker's queue gets a
 * `rescore` command with its new score (the shell rewrites it in Redis only where the task is still
 * queued; a task a worker already took is not touched, so nothing runs twice).
 *
 * What it costs: a submission gives each of its tasks a sequence in O(1) and rescores nothing, since
 * no queued task's sequence changes when a job arrives; assigning or forgetting a task updates its
 * priority's progress in O(1). Only a renumbering touches queued tasks: O(n log n) in the live tasks,
 * plus one `rescore` per task waiting in a worker's queue (a few per thread: see
 * `CoreState.capacity`), once per billions of tasks.
 *
 * The submission counter of the core (`generation`) is a plain JavaScript number compared in memory,
 * exact up to 2^53 submissions; only the packed score needed a bounded part.
 */

/** Sequences per renumbering: the sequence part of a score is below this. 2^32. */
export const QUEUE_SEQ_LIMIT = 2 ** 32;

/** Added to the negated user priority so the priority part is never negative: 2^20 > 1,000,000. */
const RANK_OFFSET = 2 ** 20;
// The priority part must fit in the 21 bits left beside the sequence: widening the user range breaks exactness.
if (MAX_USER_PRIORITY >= RANK_OFFSET || -MIN_USER_PRIORITY >= RANK_OFFSET) {
  throw new Error(`user priorities of ±${MAX_USER_PRIORITY} do not fit the queue score's priority part (±${RANK_OFFSET})`);
}

/**
 * The score of a task with negated user priority `userRank` and queue sequence `seq`: smaller runs
 * first. Exact (below 2^53) for every `userRank` within ±{@link MAX_USER_PRIORITY} and `seq` below
 * {@link QUEUE_SEQ_LIMIT}.
 *
 * @example
 * packQueueScore(-1, 5_000_000_000 % QUEUE_SEQ_LIMIT) < packQueueScore(0, 0); // true: priority 1 first
 */
export function packQueueScore(userRank: number, seq: number): number {
  return (userRank + RANK_OFFSET) * QUEUE_SEQ_LIMIT + seq;
}

/** The score a task goes into a worker's queue with. */
export function queueScore(task: TaskState): number {
  return packQueueScore(task.userRank, task.queueSeq);
}

/**
 * Gives the tasks one submission created their queue sequences, `start + order`, where `start` is one
 * past the progress of the task's priority (see `queue-progress.ts`); renumbers the live tasks first
 * when the sequences needed would pass `state.queueSeqLimit`.
 *
 * @throws Error when even after renumbering the live tasks and the new ones need more than
 *   `state.queueSeqLimit` sequences (4·10^9 tasks held at once with the default limit).
 * @example
 * ```ts
 * // A 4,000-task job runs and the workers have been given its tasks up to order 999 ...
 * assignQueueSequences(state, [small]); // small.queueSeq: the big job's sequence of order 1,000
 * ```
 */
export function assignQueueSequences(state: CoreState, created: readonly TaskState[]): void {
  if (created.length === 0) return;
  if (sequencesNeeded(state, created) > state.queueSeqLimit) renumber(state);
  const needed = sequencesNeeded(state, created);
  if (needed > state.queueSeqLimit) {
    throw new Error(
      `scheduler limit: the live tasks and a graph of ${created.length} tasks need ${needed} queue sequences, more than ` +
        `${state.queueSeqLimit}; submit the graph in parts`,
    );
  }
  const { progress } = state;
  let level: PriorityLevel | undefined;
  let start = 0;
  for (const task of created) {
    if (level === undefined || level.userRank !== task.userRank) {
      // Read before the level is created: a level not in use starts at 0.
      start = progress.startOf(task.userRank);
      level = progress.level(task.userRank);
    }
    task.queueSeq = start + task.order;
    task.level = level;
    level.tasks++;
  }
}

/** One past the largest sequence the submission's tasks would get now. */
function sequencesNeeded(state: CoreState, created: readonly TaskState[]): number {
  let needed = 0;
  let rank = NaN;
  let start = 0;
  for (const task of created) {
    if (task.userRank !== rank) {
      rank = task.userRank;
      start = state.progress.startOf(rank);
    }
    if (start + task.order + 1 > needed) needed = start + task.order + 1;
  }
  return needed;
}

/**
 * Gives every task that has a sequence a new one, 0, 1, 2, … in the old order (equal ones stay
 * equal: tasks of jobs taking turns), moves each priority's progress along (to the new sequence of
 * the last live sequence at or below it, so what was above it still is), and sends the new score of
 * each task that may still sit in a worker's queue. Tasks of the submission being handled have none
 * yet (`queueSeq` is -1) and are left alone.
 */
function renumber(state: CoreState): void {
  const live: TaskState[] = [];
  for (const task of state.tasks.values()) if (task.queueSeq >= 0) live.push(task);
  live.sort((a, b) => a.queueSeq - b.queueSeq);
  /** The distinct old sequences, ascending: the new sequence of old sequence `distinct[i]` is i. */
  const distinct: number[] = [];
  for (const task of live) {
    if (distinct.length === 0 || distinct[distinct.length - 1] !== task.queueSeq) distinct.push(task.queueSeq);
    task.queueSeq = distinct.length - 1;
  }
  for (const level of state.progress.values()) level.progress = countAtMost(distinct, level.progress) - 1;
  state.queue.resequence();
  for (const task of live) {
    const worker = task.processingOn;
    // A started task left its queue; a task being stolen sits on the victim or, once the steal went
    // through, on the thief: the shell rewrites the score wherever it still is.
    if (task.state !== "processing" || worker === null || task.started) continue;
    const workers = task.stealingTo === null ? worker.idList : [worker.id, task.stealingTo.id];
    state.emit({ type: "rescore", key: task.key, workers, priority: queueScore(task) });
  }
}

/** How many of the ascending `values` are at most `limit`: a binary search. */
function countAtMost(values: readonly number[], limit: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (values[middle] <= limit) low = middle + 1;
    else high = middle;
  }
  return low;
}
