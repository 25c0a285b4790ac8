import type { CoreState } from "./core-state.js";
import type { TaskState, WorkerState } from "./task-state.js";

/**
 * The worker with room that would start `task` soonest: estimated start = its assigned work ÷ its
 * threads + time to fetch the inputs it lacks. A task with no inputs goes where its siblings are (see
 * `siblingsWorker`), else to the least loaded worker.
 * A worker holding inputs is chosen even without room when moving them would take longer than its
 * queue. Returns undefined when no worker can take the task; it then waits in the scheduler's queue.
 *
 * An input a worker is already fetching for another task counts as held there (see
 * `CoreState.transferMs`): two tasks reading the same two inputs, held on different workers, then go
 * to the same worker, which fetches the one it lacks once, instead of one to each worker, each
 * fetching the other's.
 *
 * Only the holders of the task's inputs, the workers fetching them and the least loaded worker are
 * costed: another worker lacks every input, so it cannot beat the least loaded one. That keeps a wide
 * fan-in (a sum over 10,000 inputs) linear in its inputs rather than in inputs × workers.
 */
export function chooseWorker(state: CoreState, task: TaskState): WorkerState | undefined {
  const leastLoaded = leastLoadedWithRoom(state);
  if (state.workers.size === 1) return leastLoaded;
  if (task.dependencies.length === 0) return siblingsWorker(state, task) ?? leastLoaded;

  let best = leastLoaded;
  let bestStart = leastLoaded === undefined ? Infinity : startTime(state, task, leastLoaded);
  const costed = new Set<WorkerState>();
  if (leastLoaded !== undefined) costed.add(leastLoaded);
  const consider = (candidate: WorkerState) => {
    // A paused worker takes nothing, however much of the input it holds.
    if (costed.has(candidate) || candidate.closing || candidate.paused) return;
    costed.add(candidate);
    const start = startTime(state, task, candidate);
    // A holder without room still takes the task when its queue drains sooner than what it holds
    // could move elsewhere: as in Dask, a task goes to its data rather than to a free worker that
    // would have to fetch megabytes of it first. Small inputs never outweigh a queue. Inputs it is
    // only fetching do not count here: they are not there yet, and are on their way from elsewhere.
    if (!state.hasRoom(candidate) && start >= heldInputsTransferMs(state, task, candidate)) return;
    if (start < bestStart || (start === bestStart && best !== undefined && candidate.seq < best.seq)) {
      best = candidate;
      bestStart = start;
    }
  };
  for (const dep of task.dependencies) {
    for (const holder of dep.whoHas) consider(holder);
    for (const fetcher of dep.fetching) consider(fetcher);
  }
  return best;
}

/** Dependents looked at per root task, and the most inputs a dependent may have to count: enough for blockwise graphs and trees. */
const SIBLING_SCAN = 8;

/**
 * For a task without inputs, the worker that holds or is computing the most of its *siblings* (the
 * other inputs of the tasks that will read it), if any: the task that reads both then finds them
 * together. `(x + x.T)` reads blocks `[i, j]` and `[j, i]`; dealt out in turn, each pair would
 * straddle two workers and cost a transfer (8 MB for a 1000×1000 float64 block). Dask's co-assignment
 * of root tasks serves the same end. The sibling's worker may be full: it takes up to twice its
 * capacity, a short wait that costs less than moving a block, and work stealing evens out the rest.
 */
function siblingsWorker(state: CoreState, task: TaskState): WorkerState | undefined {
  let best: WorkerState | undefined;
  let bestCount = 0;
  const counts = new Map<WorkerState, number>();
  const dependents = task.dependents;
  for (let d = 0; d < dependents.length && d < SIBLING_SCAN; d++) {
    const inputs = dependents[d].dependencies;
    // A wide fan-in (a sum over thousands of tasks) gathers from everywhere anyway: no reason to crowd
    // its inputs onto one worker.
    if (inputs.length > SIBLING_SCAN) continue;
    for (let i = 0; i < inputs.length; i++) {
      const sibling = inputs[i];
      if (sibling === task) continue;
      const worker = sibling.processingOn ?? sibling.whoHas[0];
      if (worker === undefined || worker.closing || worker.paused || worker.processing.length >= 2 * state.capacity(worker)) continue;
      const count = (counts.get(worker) ?? 0) + 1;
      counts.set(worker, count);
      if (count > bestCount) {
        best = worker;
        bestCount = count;
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

/**
 * The worker still taking work (not stopping) with the least work per thread, whether or not it has
 * room; a paused worker (at its memory limit) only when no other is left.
 */
export function leastLoadedRunning(state: CoreState): WorkerState | undefined {
  let best: WorkerState | undefined;
  for (const worker of state.workers.values()) {
    if (worker.closing) continue;
    if (best === undefined || (best.paused && !worker.paused)) {
      best = worker;
    } else if (worker.paused === best.paused && worker.occupancy / worker.nthreads < best.occupancy / best.nthreads) {
      best = worker;
    }
  }
  return best;
}
