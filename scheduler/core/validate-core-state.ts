import type { CoreState } from "./core-state.js";
import type { PriorityLevel } from "./queue-progress.js";
import type { TaskState } from "./task-state.js";

/**
 * Checks every invariant of the scheduler's state and throws an Error naming the first broken one.
 * Tests call it after every event; it is O(tasks + edges), too slow for production paths.
 */
export function validateCoreState(state: CoreState): void {
  const fail = (task: TaskState | undefined, what: string): never => {
    throw new Error(`scheduler invariant broken${task ? ` for task "${task.key}" (${task.state})` : ""}: ${what}`);
  };
  if (state.transitionDepth !== 0) fail(undefined, `${state.transitionDepth} transitions still under way between events`);
  for (const [key, results] of state.unclaimed.entries()) {
    if (state.tasks.has(key)) fail(undefined, `unclaimed result "${key}" has a known task`);
    for (const result of results) if (!state.workers.has(result.worker)) fail(undefined, `unclaimed result "${key}" is on departed worker "${result.worker}"`);
  }

  /** Live tasks per priority level, counted to check the levels' own counts. */
  const levelTasks = new Map<PriorityLevel, number>();
  for (const [key, task] of state.tasks) {
    if (task.key !== key) fail(task, `stored under key "${key}"`);
    for (const dep of task.dependencies) {
      if (state.tasks.get(dep.key) !== dep) fail(task, `input "${dep.key}" is not a known task`);
      if (!dep.dependents.includes(task)) fail(task, `input "${dep.key}" does not list it as a dependent`);
    }
    if (new Set(task.dependencies).size !== task.dependencies.length) fail(task, "an input is linked twice");
    let live = 0;
    let waiters = 0;
    for (const dependent of task.dependents) {
      if (dependent.state === "forgotten") continue;
      live++;
      if (state.tasks.get(dependent.key) !== dependent) fail(task, `dependent "${dependent.key}" is not a known task`);
      if (!dependent.dependencies.includes(task)) fail(task, `dependent "${dependent.key}" does not list it as input`);
      if (dependent.state === "waiting" || dependent.state === "queued" || dependent.state === "processing") waiters++;
    }
    if (live !== task.dependentCount) fail(task, `dependentCount is ${task.dependentCount}, but ${live} dependents are live`);
    if (waiters !== task.waiterCount) fail(task, `waiterCount is ${task.waiterCount}, but ${waiters} dependents still have to run`);
    if (task.state !== "processing" && task.processingOn !== null) fail(task, "has a worker but is not processing");
    if (task.state !== "memory" && task.whoHas.length > 0) fail(task, "has holders but is not in memory");
    if (task.state !== "memory" && task.keptByShell) fail(task, "kept by the shell but not in memory");
    if (new Set(task.whoHas).size !== task.whoHas.length) fail(task, "a holder is listed twice");
    if (task.state !== "memory" && task.fetching.length > 0) fail(task, "has pending replicas but is not in memory");
    if (new Set(task.fetching).size !== task.fetching.length) fail(task, "a pending replica is listed twice");
    for (const worker of task.fetching) {
      if (state.workers.get(worker.id) !== worker) fail(task, `pending replica on departed worker "${worker.id}"`);
      if (task.holds(worker)) fail(task, `worker "${worker.id}" is listed as fetching a result it holds`);
    }
    if ((task.state === "queued") !== state.queue.has(task)) fail(task, "queue membership does not match state");
    if (!(task.queueSeq >= 0 && task.queueSeq < state.queueSeqLimit)) fail(task, `queue sequence ${task.queueSeq} outside [0, ${state.queueSeqLimit})`);
    if (task.level === null || state.progress.get(task.userRank) !== task.level) fail(task, "its priority level is not the one in use for its priority");
    levelTasks.set(task.level!, (levelTasks.get(task.level!) ?? 0) + 1);
    if (task.state === "processing" && task.queueSeq > task.level!.progress) {
      fail(task, `assigned with sequence ${task.queueSeq}, past its priority's progress ${task.level!.progress}`);
    }
    if (task.state !== "processing" && task.stealingTo !== null) fail(task, "steal pending but not processing");
    const missingInputs = task.dependencies.filter((dep) => dep.state !== "memory");

    switch (task.state) {
      case "released":
        break;
      case "waiting":
        if (!task.needed) fail(task, "waiting but not needed");
        if (task.waitingOn !== missingInputs.length) {
          fail(task, `waitingOn is ${task.waitingOn}, but ${missingInputs.length} inputs are not in memory`);
        }
        if (task.waitingOn === 0) fail(task, "waiting with every input in memory");
        for (const dep of missingInputs) {
          if (dep.state !== "waiting" && dep.state !== "queued" && dep.state !== "processing") {
            fail(task, `input "${dep.key}" is ${dep.state}, so it will never arrive`);
          }
        }
        break;
      case "queued":
        if (!task.needed) fail(task, "queued but not needed");
        if (missingInputs.length > 0) fail(task, `queued while input "${missingInputs[0].key}" is ${missingInputs[0].state}`);
        break;
      case "processing": {
        const worker = task.processingOn;
        if (worker === null) fail(task, "processing without a worker");
        if (state.workers.get(worker!.id) !== worker) fail(task, `processing on departed worker "${worker!.id}"`);
        if (worker!.processing[task.processingIndex] !== task) fail(task, `worker "${worker!.id}" does not list it as processing`);
        if (!task.needed) fail(task, "processing but not needed");
        if (!task.started && missingInputs.length > 0) {
          fail(task, `sent to a worker while input "${missingInputs[0].key}" is ${missingInputs[0].state}`);
        }
        break;
      }
      case "memory":
        if (task.whoHas.length === 0 && !task.keptByShell) fail(task, "in memory on no worker, and not kept by the shell");
        for (const worker of task.whoHas) {
          if (state.workers.get(worker.id) !== worker) fail(task, `held by departed worker "${worker.id}"`);
        }
        if (!task.needed) fail(task, "in memory but nothing needs it");
        break;
      case "erred":
        if (task.error === null) fail(task, "erred without an error");
        break;
      default:
        fail(task, "unknown state");
    }
    if ((task.state === "released" || task.state === "erred") && !task.needed && task.dependentCount === 0) {
      fail(task, "should have been forgotten");
    }
  }

  for (const [id, worker] of state.workers) {
    if (worker.id !== id) fail(undefined, `worker "${worker.id}" stored under "${id}"`);
    let occupancy = 0;
    for (const task of worker.processing) {
      if (task.processingOn !== worker) fail(task, `listed as processing on "${id}" but assigned elsewhere`);
      occupancy += task.estimateMs;
    }
    if (Math.abs(occupancy - worker.occupancy) > 1e-6 * Math.max(1, occupancy)) {
      fail(undefined, `worker "${id}" occupancy ${worker.occupancy} != sum of estimates ${occupancy}`);
    }
    let nbytes = 0;
    let results = 0;
    for (const task of state.tasks.values()) {
      if (task.holds(worker)) {
        nbytes += task.nbytes;
        results++;
      }
    }
    if (nbytes !== worker.nbytes) fail(undefined, `worker "${id}" holds ${worker.nbytes} bytes by count, ${nbytes} by sum`);
    if (results !== worker.resultCount) fail(undefined, `worker "${id}" holds ${worker.resultCount} results by count, ${results} by sum`);
    worker.processing.forEach((task, index) => {
      if (task.processingIndex !== index) fail(task, `processingIndex ${task.processingIndex} but at ${index} on "${id}"`);
    });
    if (state.queue.size > 0 && state.hasRoom(worker)) {
      fail(undefined, `worker "${id}" has room while ${state.queue.size} tasks are queued`);
    }
  }
  for (const task of state.queue) {
    if (state.tasks.get(task.key) !== task) fail(task, "queued but not a known task");
  }
  const stale = state.queue.staleEntry();
  if (stale !== undefined) fail(stale, "the ready queue sorts it by keys it no longer has");
  for (const level of state.progress.values()) {
    const counted = levelTasks.get(level) ?? 0;
    if (counted !== level.tasks) fail(undefined, `priority level ${-level.userRank} counts ${level.tasks} tasks, but ${counted} live tasks hold it`);
  }
  if (state.progress.size !== levelTasks.size) fail(undefined, `${state.progress.size} priority levels in use, but live tasks hold ${levelTasks.size}`);
  if (state.ready.length > 0 || state.releaseCandidates.length > 0) fail(undefined, "buffers not drained after an event");
}
