import type { Key } from "../../graph/task-spec.js";
import type { CoreState } from "./core-state.js";
import type { WorkerAccount } from "./events.js";
import type { TaskState } from "./task-state.js";
import { transition } from "./transitions.js";

/**
 * Takes in a worker's account (see {@link WorkerAccount}), so that the core's books match what the
 * worker has:
 * - a result it holds finishes the task when that task was processing there, adds a copy when the
 *   task is in memory, waits for a claim when no task is known (see `unclaimed-results.ts`), and is
 *   released otherwise;
 * - a result the core said it holds and it does not is gone (lost when it was the last copy);
 * - a task it runs or has queued that the core no longer wants there is cancelled (the cancel Redis
 *   lost, or a task of an earlier scheduler);
 * - an `unsure` task still processing there that it neither holds nor has assigned was lost with
 *   Redis's data, and waits to be placed again.
 *
 * Returns the results that lost their last copy; the caller releases them and makes again what is
 * still needed.
 */
export function applyWorkerAccount(state: CoreState, event: WorkerAccount): TaskState[] {
  const worker = state.workers.get(event.worker);
  if (worker === undefined) return [];
  const held = new Set<Key>();
  let heldHere = 0;
  for (const result of event.held) {
    held.add(result.key);
    const task = state.tasks.get(result.key);
    if (task === undefined) {
      if (result.fingerprint === "") state.emit({ type: "release", key: result.key, workers: worker.idList, runSpec: undefined });
      else state.unclaimed.add(result.key, { worker: worker.id, nbytes: result.nbytes, fingerprint: result.fingerprint, since: state.now });
    } else if (task.state === "processing" && task.processingOn === worker) {
      transition(state, task, "memory", { worker, nbytes: result.nbytes });
      heldHere++;
    } else if (task.state === "memory") {
      if (!task.holds(worker)) {
        task.dropFetcher(worker);
        task.addReplica(worker);
      }
      heldHere++;
    } else {
      state.emit({ type: "release", key: result.key, workers: worker.idList, runSpec: undefined });
    }
  }
  const lost: TaskState[] = [];
  // The books say it holds more than it does: find which (a scan, but accounts are rare).
  if (worker.resultCount > heldHere) {
    for (const task of state.tasks.values()) {
      if (task.state !== "memory" || held.has(task.key) || !task.removeReplica(worker)) continue;
      if (task.whoHas.length === 0 && !task.keptByShell) lost.push(task);
    }
  }
  const assigned = new Set(event.assigned);
  for (const key of assigned) {
    const task = state.tasks.get(key);
    if (task?.state === "processing" && task.processingOn === worker) continue;
    state.emit({ type: "cancel", key, worker: worker.id, runSpec: task?.runSpec });
  }
  for (const key of event.unsure ?? []) {
    const task = state.tasks.get(key);
    if (task?.state !== "processing" || task.processingOn !== worker || assigned.has(key) || held.has(key)) continue;
    transition(state, task, "waiting");
  }
  return lost;
}

/**
 * New tasks whose key a worker holds a result for, computed by the same computation (the
 * fingerprints agree), start in memory on those workers instead of being computed again; results
 * under their keys with another fingerprint (or all, without `fingerprintOf`) are released. Returns the tasks that were claimed.
 */
export function claimUnclaimed(state: CoreState, created: readonly TaskState[], fingerprintOf: ((runSpec: unknown) => string) | undefined): TaskState[] {
  const claimed: TaskState[] = [];
  if (state.unclaimed.size === 0) return claimed;
  for (const task of created) {
    if (!state.unclaimed.has(task.key)) continue;
    // Without a way to fingerprint the new task, no result is trusted to be its.
    const fingerprint = fingerprintOf?.(task.runSpec);
    for (const result of state.unclaimed.take(task.key)) {
      const worker = state.workers.get(result.worker);
      if (worker === undefined) continue;
      if (result.fingerprint !== fingerprint) {
        state.emit({ type: "release", key: task.key, workers: worker.idList, runSpec: undefined });
      } else if (task.state === "released") {
        transition(state, task, "memory", { worker, nbytes: result.nbytes });
        claimed.push(task);
      } else if (!task.holds(worker)) {
        task.addReplica(worker);
      }
    }
  }
  return claimed;
}

/** Releases the unclaimed results named longer ago than `SchedulerConfig.unclaimedResultTtlMs`. */
export function expireUnclaimed(state: CoreState): void {
  if (state.unclaimed.size === 0) return;
  for (const { key, workers } of state.unclaimed.expire(state.now - state.config.unclaimedResultTtlMs)) {
    state.emit({ type: "release", key, workers, runSpec: undefined });
  }
}
