import type { Key } from "../graph/task-spec.js";
import type { TaskCounts } from "../protocol/job-api.js";
import type { TaskStateName } from "./core/task-state.js";

/**
 * Counts a computation's tasks: those reported on (finished or erred) by that report, the others by
 * the scheduler's state. A task the scheduler no longer knows ran to its end before (when the
 * computation completed) or was dropped.
 */
export function countTasks(
  keys: readonly Key[],
  stateOf: (key: Key) => TaskStateName | undefined,
  reported: { readonly finished: ReadonlySet<Key>; readonly erred: ReadonlySet<Key> },
  completed = false,
): TaskCounts {
  const counts = { total: keys.length, waiting: 0, queued: 0, processing: 0, finished: 0, erred: 0, released: 0 };
  for (const key of keys) {
    if (reported.finished.has(key)) counts.finished++;
    else if (reported.erred.has(key)) counts.erred++;
    else {
      const state = stateOf(key);
      if (state === "memory") counts.finished++;
      else if (state === "erred") counts.erred++;
      else if (state === "waiting" || state === "queued" || state === "processing") counts[state]++;
      else if (completed) counts.finished++;
      else counts.released++;
    }
  }
  return counts;
}

/** The counts of a computation with no tasks (yet). */
export const NO_TASKS: TaskCounts = Object.freeze({ total: 0, waiting: 0, queued: 0, processing: 0, finished: 0, erred: 0, released: 0 });

/**
 * A computation's counts in its last report, once it has ended. Completed: every task not erred ran
 * to its end. Failed or cancelled: its tasks still waiting, queued or running are no longer computed
 * for it, and count as released. Either way nothing of it is shown running.
 *
 * @example
 * ```ts
 * finalCounts({ total: 3, waiting: 1, queued: 0, processing: 1, finished: 0, erred: 1, released: 0 }, false); // released: 2, processing: 0
 * ```
 */
export function finalCounts(tasks: TaskCounts, completed: boolean): TaskCounts {
  const open = tasks.waiting + tasks.queued + tasks.processing;
  return completed
    ? { ...tasks, waiting: 0, queued: 0, processing: 0, released: 0, finished: tasks.total - tasks.erred }
    : { ...tasks, waiting: 0, queued: 0, processing: 0, released: tasks.released + open };
}
