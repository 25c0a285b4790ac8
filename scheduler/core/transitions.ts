import type { CoreState } from "./core-state.js";
import { queueScore } from "./queue-score.js";
import type { TaskFailure } from "../../protocol/task-failure.js";
import type { TaskState, TaskStateName, WorkerState } from "./task-state.js";

/** What a transition may need besides the task: the worker involved, the result size, the failure. */
export interface TransitionArgs {
  readonly worker?: WorkerState;
  readonly nbytes?: number;
  readonly error?: TaskFailure;
}

type TransitionFn = (state: CoreState, task: TaskState, args: TransitionArgs) => void;

/**
 * Every state change the scheduler makes, keyed `from->to`. Nothing else assigns `task.state`: a
 * change not in this table is a bug and throws. Each entry keeps the bookkeeping of both ends in step
 * (worker sets, waiter counts, holders), which `validateCoreState` checks.
 */
export const TRANSITIONS = {
  /** Needed now: count the inputs to wait for; ready at once when all are in memory; erred if one failed. */
  "released->waiting": (state, task) => {
    let waitingOn = 0;
    let failed: TaskState | undefined;
    for (const dep of task.dependencies) {
      dep.waiterCount++;
      if (dep.state !== "memory") waitingOn++;
      if (dep.state === "erred") failed ??= dep;
    }
    setState(state, task, "waiting");
    task.waitingOn = waitingOn;
    if (failed !== undefined) {
      transition(state, task, "erred", { error: blameOf(failed) });
    } else if (waitingOn === 0) {
      state.ready.push(task);
    }
  },

  /**
   * A new task claims a result a worker already holds, computed for an earlier scheduler by the same
   * computation (see `worker-accounts.ts`): nothing waits on a task of the submission being created.
   */
  "released->memory": (state, task, { worker, nbytes }) => {
    task.nbytes = nbytes ?? 0;
    task.addReplica(worker!);
    setState(state, task, "memory");
  },

  "waiting->processing": (state, task, { worker }) => {
    assign(state, task, worker!);
    setState(state, task, "processing");
  },

  "waiting->queued": (state, task) => {
    state.queue.push(task);
    setState(state, task, "queued");
  },

  "queued->processing": (state, task, { worker }) => {
    state.queue.remove(task);
    assign(state, task, worker!);
    setState(state, task, "processing");
  },

  /** An input was lost while the task sat in the queue. */
  "queued->waiting": (state, task) => {
    state.queue.remove(task);
    setState(state, task, "waiting");
    task.waitingOn = countMissingInputs(task);
  },

  "processing->memory": (state, task, { worker, nbytes }) => {
    const w = worker!;
    unassign(task);
    task.nbytes = nbytes ?? 0;
    task.addReplica(w);
    setState(state, task, "memory");
    stopWaitingOnInputs(state, task);
    for (const dependent of task.dependents) {
      if (dependent.state === "waiting" && --dependent.waitingOn === 0) state.ready.push(dependent);
    }
    if (task.wanted) {
      state.emit({
        type: "result",
        key: task.key,
        clients: [...task.wantedBy!],
        workers: w.idList,
        nbytes: task.nbytes,
        runSpec: task.runSpec,
      });
    }
    if (!task.needed) state.releaseCandidates.push(task);
  },

  /**
   * Rescheduled: its worker died, it is retried after an error, or an input went missing. An input
   * that erred meanwhile (scattered data lost while the task ran) fails it.
   */
  "processing->waiting": (state, task) => {
    unassign(task);
    setState(state, task, "waiting");
    task.waitingOn = countMissingInputs(task);
    const failed = task.dependencies.find((dep) => dep.state === "erred");
    if (failed !== undefined) transition(state, task, "erred", { error: blameOf(failed) });
    else if (task.waitingOn === 0) state.ready.push(task);
  },

  "processing->erred": (state, task, { error }) => {
    unassign(task);
    fail(state, task, error!);
  },

  /** No longer needed while running: tell the worker to drop it. */
  "processing->released": (state, task) => {
    const worker = task.processingOn!;
    unassign(task);
    state.emit({ type: "cancel", key: task.key, worker: worker.id, runSpec: task.runSpec });
    setState(state, task, "released");
    stopWaitingOnInputs(state, task);
    state.releaseCandidates.push(task);
  },

  /**
   * The result is dropped: either nothing needs it, or its last holder left. In the second case the
   * dependents that counted on it wait again (and those already sent to a worker are called back,
   * unless they started and may already have fetched it).
   */
  "memory->released": (state, task) => {
    // A fetch still under way ends in a replica report the core answers with a release.
    task.clearFetchers();
    if (task.whoHas.length > 0 || task.keptByShell) {
      task.keptByShell = false;
      const holders = task.removeAllReplicas();
      const workers = holders.length === 1 ? holders[0].idList : holders.map((w) => w.id);
      state.emit({ type: "release", key: task.key, workers, runSpec: task.runSpec });
    }
    setState(state, task, "released");
    if (task.waiterCount === 0) {
      state.releaseCandidates.push(task);
      return;
    }
    for (const waiter of task.dependents) {
      if (waiter.state === "waiting") {
        waiter.waitingOn++;
      } else if (waiter.state === "queued") {
        transition(state, waiter, "waiting");
      } else if (waiter.state === "processing" && !waiter.started) {
        const worker = waiter.processingOn!;
        transition(state, waiter, "waiting");
        state.emit({ type: "cancel", key: waiter.key, worker: worker.id, runSpec: waiter.runSpec });
      }
    }
    state.releaseCandidates.push(task);
  },

  "waiting->released": (state, task) => {
    setState(state, task, "released");
    stopWaitingOnInputs(state, task);
    state.releaseCandidates.push(task);
  },

  "queued->released": (state, task) => {
    state.queue.remove(task);
    setState(state, task, "released");
    stopWaitingOnInputs(state, task);
    state.releaseCandidates.push(task);
  },

  /** An input failed. */
  "waiting->erred": (state, task, { error }) => {
    fail(state, task, error!);
  },

  /**
   * Needed, but its result cannot be made again (scattered data whose last copy was lost, see
   * `TaskState.irreplaceable`): it fails, and so does everything waiting for it. It reads no inputs.
   */
  "released->erred": (state, task, { error }) => {
    fail(state, task, error!, false);
  },

  "released->forgotten": (state, task) => forget(state, task),

  "erred->forgotten": (state, task) => forget(state, task),
} satisfies Record<string, TransitionFn>;

/** The name of a transition in {@link TRANSITIONS}, e.g. `"waiting->processing"`. */
export type TransitionName = keyof typeof TRANSITIONS;

/** Every transition of the table. */
export const TRANSITION_NAMES = Object.keys(TRANSITIONS) as TransitionName[];

/** The table as `from -> to -> fn`, so a transition is two property reads, not a string built per call. */
const BY_STATE: Partial<Record<TaskStateName, Partial<Record<TaskStateName, TransitionFn>>>> = {};
for (const name of TRANSITION_NAMES) {
  const [from, to] = name.split("->") as [TaskStateName, TaskStateName];
  (BY_STATE[from] ??= {})[to] = TRANSITIONS[name];
}

const NO_ARGS: TransitionArgs = {};
const NO_INPUTS: readonly unknown[] = Object.freeze([]);

/**
 * How deep transitions may nest: a transition that makes another (`released->waiting` failing at once,
 * `memory->released` sending its dependents back to waiting) goes two deep. Anything near this bound
 * is a loop between table entries, stopped here with an error that names it instead of a stack overflow.
 */
export const MAX_TRANSITION_DEPTH = 8;

/**
 * Moves `task` to `to` through the table; throws for a change the table does not allow, and for
 * transitions nested deeper than {@link MAX_TRANSITION_DEPTH}.
 */
export function transition(state: CoreState, task: TaskState, to: TaskStateName, args: TransitionArgs = NO_ARGS): void {
  const fn = BY_STATE[task.state]?.[to];
  if (fn === undefined) throw new Error(`scheduler bug: no transition ${task.state}->${to} for task "${task.key}"`);
  if (state.transitionDepth >= MAX_TRANSITION_DEPTH) {
    throw new Error(
      `scheduler bug: transitions nested ${MAX_TRANSITION_DEPTH} deep at ${task.state}->${to} for task "${task.key}": ` +
        `the transition table loops`,
    );
  }
  state.transitionDepth++;
  try {
    fn(state, task, args);
  } finally {
    state.transitionDepth--;
  }
}

function setState(state: CoreState, task: TaskState, to: TaskStateName): void {
  const from = task.state;
  task.state = to;
  state.onTransition?.(task.key, from, to);
}

function assign(state: CoreState, task: TaskState, worker: WorkerState): void {
  task.started = false;
  placeOn(state, task, worker);
  // Jobs submitted from now on start level with this task's successors (see queue-progress.ts).
  state.progress.served(task.level!, task.queueSeq);
  state.emit({
    type: "assign",
    key: task.key,
    worker: worker.id,
    priority: queueScore(task),
    runSpec: task.runSpec,
    inputs: task.dependencies.length === 0 ? NO_INPUTS : task.dependencies.map((dep) => dep.runSpec),
  });
}

/**
 * Moves a processing task to another worker's books without a command: a steal already moved it
 * between the workers' queues. It stays `processing`, so this is not a state transition.
 */
export function moveToWorker(state: CoreState, task: TaskState, worker: WorkerState): void {
  const victim = task.processingOn!;
  unassign(task);
  forgetFetches(task, victim);
  placeOn(state, task, worker);
}

/** Puts `task` on `worker`'s books: its queue, its occupancy, and the inputs it will fetch. */
function placeOn(state: CoreState, task: TaskState, worker: WorkerState): void {
  const estimate = state.durations.of(task.prefix);
  task.processingOn = worker;
  task.estimateMs = estimate;
  task.processingIndex = worker.processing.length;
  worker.processing.push(task);
  worker.occupancy += estimate;
  noteFetches(task, worker);
}

/**
 * `worker` was given `task`: it will fetch each input it does not hold (and keep it), so record it as
 * a pending replica of each. Inputs the shell holds travel inline with the task, never fetched.
 */
function noteFetches(task: TaskState, worker: WorkerState): void {
  for (const dep of task.dependencies) {
    if (dep.state === "memory" && !dep.keptByShell && !dep.holds(worker)) dep.addFetcher(worker);
  }
}

/**
 * A steal took `task` from `victim` before it started, so the victim fetches nothing for it: drop its
 * pending replicas that no other task it was given still reads.
 */
function forgetFetches(task: TaskState, victim: WorkerState): void {
  for (const dep of task.dependencies) {
    if (!dep.fetching.includes(victim)) continue;
    if (!dep.dependents.some((other) => other.processingOn === victim)) dep.dropFetcher(victim);
  }
}

function unassign(task: TaskState): void {
  const worker = task.processingOn!;
  const list = worker.processing;
  const last = list.pop()!;
  if (last !== task) {
    list[task.processingIndex] = last;
    last.processingIndex = task.processingIndex;
  }
  task.processingIndex = -1;
  worker.occupancy = list.length === 0 ? 0 : worker.occupancy - task.estimateMs;
  task.processingOn = null;
  task.started = false;
  task.stealingTo = null;
}

function countMissingInputs(task: TaskState): number {
  let missing = 0;
  for (const dep of task.dependencies) if (dep.state !== "memory") missing++;
  return missing;
}

/** The task will not read its inputs any more; inputs nobody else needs can go. */
function stopWaitingOnInputs(state: CoreState, task: TaskState): void {
  for (const dep of task.dependencies) {
    if (--dep.waiterCount === 0 && !dep.wanted) state.releaseCandidates.push(dep);
  }
}

/**
 * Marks `task` erred and, iteratively, every dependent waiting on it, blaming the original failure.
 * `waitedOnInputs`: the task was counted as a waiter of its inputs (it was waiting or running).
 */
function fail(state: CoreState, task: TaskState, error: TaskFailure, waitedOnInputs = true): void {
  markErred(state, task, error, waitedOnInputs);
  const blame = blameOf(task);
  const pending: TaskState[] = [task];
  while (pending.length > 0) {
    const failed = pending.pop()!;
    for (const dependent of failed.dependents) {
      if (dependent.state === "waiting") {
        markErred(state, dependent, blame);
        pending.push(dependent);
      }
    }
  }
}

function markErred(state: CoreState, task: TaskState, error: TaskFailure, waitedOnInputs = true): void {
  task.error = error;
  setState(state, task, "erred");
  if (waitedOnInputs) stopWaitingOnInputs(state, task);
  if (task.wanted) {
    state.emit({ type: "error", key: task.key, clients: [...task.wantedBy!], error });
  }
  state.releaseCandidates.push(task);
}

/** The failure to report for tasks downstream of `failed`: its own, marked with who is to blame. */
function blameOf(failed: TaskState): TaskFailure {
  const error = failed.error!;
  return error.blame !== undefined ? error : { ...error, blame: failed.key };
}

function forget(state: CoreState, task: TaskState): void {
  setState(state, task, "forgotten");
  state.tasks.delete(task.key);
  if (task.level !== null) state.progress.drop(task.level);
  for (const dep of task.dependencies) {
    dep.dropDependent();
    if (dep.dependentCount === 0) state.releaseCandidates.push(dep);
  }
  state.emit({ type: "forget", key: task.key, runSpec: task.runSpec });
}
