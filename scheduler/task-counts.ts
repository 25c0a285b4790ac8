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
