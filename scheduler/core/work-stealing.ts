import { startTime } from "./choose-worker.js";
import type { CoreState } from "./core-state.js";
import { comparePriority, type TaskState, type WorkerState } from "./task-state.js";

/**
 * Decides which not-yet-started tasks to move from saturated workers to workers with idle threads.
 *
 * A worker is idle when it runs fewer tasks than it has threads; a victim holds more tasks than
 * threads. From each victim, the tasks that would run last (lowest priority) are offered first, and
 * at most half of its waiting tasks per round, so work is not bounced back and forth. A task moves
 * only when
 * - the move is cheap next to the work: fetching its inputs (plus one message) costs at most
 *   `maxStealTransferRatio` of its estimated duration, so tiny tasks and tasks pinned to large inputs
 *   stay put; and
 * - the thief would start it sooner than the victim, transfer included.
 *
 * A paused worker (at its memory limit) takes nothing until it resumes: it is never a thief, and
 * every task waiting in its queue is offered, whatever the move costs, since it would otherwise wait
 * there for as long as the pause lasts.
 *
 * The decision is a request (`steal` command): the victim confirms it had not started the task before
 * the task is assigned to the thief.
 */
export function planSteals(state: CoreState): void {
  const thieves: WorkerState[] = [];
  const victims: WorkerState[] = [];
  for (const worker of state.workers.values()) {
    refreshOccupancy(state, worker);
    // A stopping worker has handed back its queue and takes nothing new: neither side of a steal.
    if (worker.closing) continue;
    if (worker.paused) {
      if (worker.processing.length > 0) victims.push(worker);
    } else if (worker.processing.length < worker.nthreads) thieves.push(worker);
    else if (worker.processing.length > worker.nthreads) victims.push(worker);
  }
  if (thieves.length === 0 || victims.length === 0) return;
  victims.sort((a, b) => Number(b.paused) - Number(a.paused) || b.occupancy / b.nthreads - a.occupancy / a.nthreads || a.seq - b.seq);

  /** Tasks each thief is about to receive, so one round does not overfill it. */
  const incoming = new Map<WorkerState, number>();
  for (const thief of thieves) incoming.set(thief, 0);
  const { maxStealTransferRatio, transferLatencyMs } = state.config;

  for (const victim of victims) {
    const { waiting, running } = stealable(victim);
    // Tasks that free threads would start right away stay; offer the rest, worst first. Without
    // `task-started` reports, the first `nthreads` are assumed running.
    const offered = victim.paused ? waiting.reverse() : waiting.slice(Math.max(0, victim.nthreads - running)).reverse();
    let budget = victim.paused ? offered.length : Math.floor(offered.length / 2) || Math.min(1, offered.length);
    let victimLoad = victim.occupancy / victim.nthreads;
    for (const task of offered) {
      if (budget === 0) break;
      let best: WorkerState | undefined;
      let bestStart = Infinity;
      for (const thief of thieves) {
        if (thief.processing.length + incoming.get(thief)! >= state.capacity(thief)) continue;
        const start = startTime(state, task, thief) + transferLatencyMs;
        if (start < bestStart) {
          best = thief;
          bestStart = start;
        }
      }
      if (best === undefined) break;
      if (!victim.paused) {
        const moveCost = transferLatencyMs + state.transferMs(task, best);
        if (moveCost > task.estimateMs * maxStealTransferRatio) continue;
        if (bestStart >= victimLoad - task.estimateMs) continue;
      }
      task.stealingTo = best;
      incoming.set(best, incoming.get(best)! + 1);
      victimLoad -= task.estimateMs / victim.nthreads;
      budget--;
      state.emit({ type: "steal", key: task.key, victim: victim.id, thief: best.id });
    }
  }
}

/**
 * Re-estimates the worker's tasks from the durations measured since they were assigned. A task is
 * assigned with the estimate of the moment, often the default for a function not yet seen run; left
 * stale, a queue of slow tasks would look nearly empty and never be stolen from.
 */
function refreshOccupancy(state: CoreState, worker: WorkerState): void {
  let occupancy = 0;
  for (const task of worker.processing) {
    task.estimateMs = state.durations.of(task.prefix);
    occupancy += task.estimateMs;
  }
  worker.occupancy = occupancy;
}

/** The victim's tasks that could still be taken from it, highest priority first, and how many it runs. */
function stealable(victim: WorkerState): { waiting: TaskState[]; running: number } {
  const waiting: TaskState[] = [];
  let running = 0;
  for (const task of victim.processing) {
    if (task.started) running++;
    else if (task.stealingTo === null) waiting.push(task);
  }
  return { waiting: waiting.sort(comparePriority), running };
}
