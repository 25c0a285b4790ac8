import { MAX_USER_PRIORITY, MIN_USER_PRIORITY } from "../../graph/task-spec.js";
import type { CoreState } from "./core-state.js";
import type { TaskState } from "./task-state.js";

/**
 * How a task's priority becomes the one number a worker's queue sorts by, and stays exact forever.
 *
 * A worker's queue is a Redis sorted set, and a sorted set sorts by one IEEE double: an integer
 * score is exact only below 2^53. The core orders tasks by three keys (`comparePriority`): user
 * priority, then submission, then position in the graph's ordering. Folding all three into a double
 * by fixed decimal scales (the old `rank·1e13 + generation·1e7 + order`) ran out of room: after 10^6
 * submissions the submission part spilled into the priority part, and a priority-1 task then sorted
 * after a priority-0 one; user priorities beyond ±900 were not exact either.
 *
 * The score now has two parts, each with a fixed number of bits:
 *
 * - the user priority, an integer bounded to ±1,000,000 ({@link MIN_USER_PRIORITY} …
 *   {@link MAX_USER_PRIORITY}, checked where graphs come in and again by the core), offset to be
 *   non-negative: 21 bits;
 * - a **queue sequence**, 32 bits: each submission reserves a contiguous run of sequence numbers, one
 *   per position of its ordering (`base + order`), so comparing sequences is comparing (submission,
 *   order) — the same order as `comparePriority`'s second and third keys.
 *
 * 21 + 32 = 53 bits: every score is an exact integer, so no two tasks ever compare wrongly. The
 * sequence is the only part that grows. When a submission would run it past {@link QUEUE_SEQ_LIMIT}
 * (after about 4·10^9 tasks), the core **renumbers**: every live task gets a new sequence 0, 1, 2, …
 * in its old sequence order, so relative order is kept, and every task sitting in a worker's queue
 * gets a `rescore` command with its new score (the shell rewrites it in Redis only where the task is
 * still queued; a task a worker already took is not touched, so nothing runs twice). Renumbering costs
 * O(n log n) in the live tasks, once per billions of tasks.
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
 * Gives the tasks one submission created their queue sequences, `base + order`, renumbering the live
 * tasks first when the run they need would pass `state.queueSeqLimit`.
 *
 * @throws Error when even after renumbering the live tasks and the new ones need more than
 *   `state.queueSeqLimit` sequences (4·10^9 tasks held at once with the default limit).
 */
export function assignQueueSequences(state: CoreState, created: readonly TaskState[]): void {
  if (created.length === 0) return;
  let span = 0;
  for (const task of created) if (task.order + 1 > span) span = task.order + 1;
  if (state.nextQueueSeq + span > state.queueSeqLimit) renumber(state);
  if (state.nextQueueSeq + span > state.queueSeqLimit) {
    throw new Error(
      `scheduler limit: ${state.nextQueueSeq} live tasks and a graph of ${span} positions need more than ` +
        `${state.queueSeqLimit} queue sequences; submit the graph in parts`,
    );
  }
  const base = state.nextQueueSeq;
  for (const task of created) task.queueSeq = base + task.order;
  state.nextQueueSeq = base + span;
}

/**
 * Gives every task that has a sequence a new one, 0, 1, 2, … in the old order, and sends the new
 * score of each task that may still sit in a worker's queue. Tasks of the submission being handled
 * have none yet (`queueSeq` is -1) and are left alone.
 */
function renumber(state: CoreState): void {
  const live: TaskState[] = [];
  for (const task of state.tasks.values()) if (task.queueSeq >= 0) live.push(task);
  live.sort((a, b) => a.queueSeq - b.queueSeq);
  for (let i = 0; i < live.length; i++) live[i].queueSeq = i;
  state.nextQueueSeq = live.length;
  for (const task of live) {
    const worker = task.processingOn;
    // A started task left its queue; a task being stolen sits on the victim or, once the steal went
    // through, on the thief: the shell rewrites the score wherever it still is.
    if (task.state !== "processing" || worker === null || task.started) continue;
    const workers = task.stealingTo === null ? worker.idList : [worker.id, task.stealingTo.id];
    state.emit({ type: "rescore", key: task.key, workers, priority: queueScore(task) });
  }
}
