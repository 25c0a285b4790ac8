import type { CoreState } from "./core-state.js";
import type { TaskState, WorkerState } from "./task-state.js";

/**
 * The worker with room that would start `task` soonest: estimated start = its assigned work ÷ its
 * threads + time to fetch the inputs it lacks. A task with no inputs goes to the least loaded worker.
 * Returns undefined when no worker has room; the task then waits in the scheduler's queue.
 *
 * Only the holders of the task's inputs and the least loaded worker are costed: another worker lacks
 * every input, so it cannot beat the least loaded one. That keeps a wide fan-in (a sum over 10,000
 * inputs) linear in its inputs rather than in inputs × workers.
 */
export function chooseWorker(state: CoreState, task: TaskState): WorkerState | undefined {
  const leastLoaded = leastLoadedWithRoom(state);
  if (leastLoaded === undefined || task.dependencies.length === 0 || state.workers.size === 1) return leastLoaded;

  let best = leastLoaded;
  let bestStart = startTime(state, task, leastLoaded);
  const costed = new Set<WorkerState>([leastLoaded]);
  for (const dep of task.dependencies) {
    for (const holder of dep.whoHas) {
      if (costed.has(holder)) continue;
      costed.add(holder);
      if (!state.hasRoom(holder)) continue;
      const start = startTime(state, task, holder);
      if (start < bestStart || (start === bestStart && holder.seq < best.seq)) {
        best = holder;
        bestStart = start;
      }
    }
  }
  return best;
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
