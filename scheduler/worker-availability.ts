import type { WorkersUnavailable } from "./no-workers-watch.js";

/**
 * Whether any worker can take tasks, judged from the worker registry at each tick of a distributed
 * scheduler: a worker counts while its heartbeat lives, it is not stopping, and it is not paused at
 * its memory limit. Keeps since when none could, and why, for `NoWorkersWatch`.
 *
 * @example
 * ```ts
 * const availability = new WorkerAvailability(Date.now());
 * availability.note([{ paused: true }], Date.now()); // every worker is paused
 * availability.unavailable; // { since, reason: "every worker (1) is paused at its memory limit" }
 * ```
 */
export class WorkerAvailability {
  private current: WorkersUnavailable | undefined;
  /** Whether a worker has ever joined: says which of the reasons it is. */
  private everJoined = false;

  /** `startedAt`: when the scheduler started, the time since when no worker has joined. */
  constructor(startedAt: number) {
    this.current = { since: startedAt, reason: "no worker has joined the scheduler" };
  }

  /** Since when no worker could take tasks, and why; undefined while one can. */
  get unavailable(): WorkersUnavailable | undefined {
    return this.current;
  }

  /** The workers in the registry that are running with a live heartbeat, as of `now` (Unix ms). */
  note(workers: Iterable<{ readonly paused?: boolean }>, now: number): void {
    let paused = 0;
    for (const worker of workers) {
      if (worker.paused !== true) {
        this.everJoined = true;
        this.current = undefined;
        return;
      }
      paused++;
    }
    const reason =
      paused > 0
        ? `every worker (${paused}) is paused at its memory limit`
        : this.everJoined
          ? "every worker has left the scheduler (a nanny that gave up on its crashing workers says so in its log)"
          : "no worker has joined the scheduler";
    if (this.current === undefined || this.current.reason !== reason) this.current = { since: this.current?.since ?? now, reason };
  }
}
