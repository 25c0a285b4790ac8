import type { TaskCounts } from "../protocol/job-api.js";

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
