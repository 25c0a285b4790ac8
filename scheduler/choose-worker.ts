import type { CoreState } from "./core-state.js";
import type { TaskState, WorkerState } from "./task-state.js";

/**
 * The worker with room that would start `task` soonest: estimated start = its assigned work ÷ its
 * threads + time to fetch the inputs it lacks. A task with no inputs goes to the least loaded worker.
 * A worker holding inputs is chosen even without room when moving them would take longer than its
 * queue. Returns undefined when no worker can take the task; it then waits in the scheduler's queue.
 *
 * Only the holders of the task's inputs and the least loaded worker are costed: another worker lacks
 * every input, so it cannot beat the least loaded one. That keeps a wide fan-in (a sum over 10,000
 * inputs) linear in its inputs rather than in inputs × workers.
 */
export function chooseWorker(state: CoreState, task: TaskState): WorkerState | undefined {
  const leastLoaded = leastLoadedWithRoom(state);
  if (task.dependencies.length === 0 || state.workers.size === 1) return leastLoaded;

  let best = leastLoaded;
  let bestStart = leastLoaded === undefined ? Infinity : startTime(state, task, leastLoaded);
  const costed = new Set<WorkerState>();
  if (leastLoaded !== undefined) costed.add(leastLoaded);
  for (const dep of task.dependencies) {
    for (const holder of dep.whoHas) {
      if (costed.has(holder) || holder.closing) continue;
      costed.add(holder);
      const start = startTime(state, task, holder);
      // A holder without room still takes the task when its queue drains sooner than what it holds
      // could move elsewhere: as in Dask, a task goes to its data rather than to a free worker that
      // would have to fetch megabytes of it first. Small inputs never outweigh a queue.
      if (!state.hasRoom(holder) && start >= heldInputsTransferMs(state, task, holder)) continue;
      if (start < bestStart || (start === bestStart && best !== undefined && holder.seq < best.seq)) {
        best = holder;
        bestStart = start;
      }
    }
  }
  return best;
}

/** Milliseconds to move the inputs of `task` that `holder` holds to a worker that has none of them. */
function heldInputsTransferMs(state: CoreState, task: TaskState, holder: WorkerState): number {
  let bytes = 0;
  for (const dep of task.dependencies) if (dep.holds(holder)) bytes += dep.nbytes;
  return state.config.transferLatencyMs + (bytes / state.config.bandwidth) * 1000;
}

/** Estimated milliseconds until `worker` could start `task`. */
export function startTime(state: CoreState, task: TaskState, worker: WorkerState): number {
  return worker.occupancy / worker.nthreads + state.transferMs(task, worker);
}

function leastLoadedWithRoom(state: CoreState): WorkerState | undefined {
  let best: WorkerState | undefined;
  let bestLoad = Infinity;
  for (const worker of state.workers.values()) {
    if (!state.hasRoom(worker)) continue;
    const load = worker.occupancy / worker.nthreads;
    if (
      best === undefined ||
      load < bestLoad ||
      (load === bestLoad &&
        (worker.processing.length < best.processing.length ||
          (worker.processing.length === best.processing.length && worker.seq < best.seq)))
    ) {
      best = worker;
      bestLoad = load;
    }
  }
  return best;
}

/** The worker still taking work (not stopping) with the least work per thread, whether or not it has room. */
export function leastLoadedRunning(state: CoreState): WorkerState | undefined {
  let best: WorkerState | undefined;
  for (const worker of state.workers.values()) {
    if (worker.closing) continue;
    if (best === undefined || worker.occupancy / worker.nthreads < best.occupancy / best.nthreads) best = worker;
  }
  return best;
}
