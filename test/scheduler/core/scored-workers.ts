import type { SchedulerCommand } from "../../../scheduler/core/commands.js";
import type { CoreState } from "../../../scheduler/core/core-state.js";
import type { SchedulerEvent, SubmittedTask } from "../../../scheduler/core/events.js";
import type { SchedulerConfig } from "../../../scheduler/core/scheduler-config.js";
import { SchedulerCore } from "../../../scheduler/core/scheduler-core.js";

/** A task waiting in a pretend worker's queue, with the score the core gave it. */
interface Queued {
  readonly key: string;
  score: number;
}

/** A pretend worker of one thread. */
interface ScoredWorker {
  readonly id: string;
  /** Tasks assigned and not started: taken lowest score first, ties by key, as from a Redis sorted set. */
  readonly queue: Queued[];
  running: string | undefined;
}

/** A task of a job: its key and the keys of its inputs. */
export interface JobTask {
  readonly key: string;
  readonly deps: readonly string[];
}

/**
 * A real `SchedulerCore` around pretend workers whose queues sort by the score of each `assign` (and
 * `rescore`), as the workers' Redis sorted sets do: so a test sees the order tasks actually run in,
 * through both the core's ready queue and the workers' queues. `validate()` runs after every event
 * while `validating` is set.
 */
export class ScoredCluster {
  readonly core: SchedulerCore;
  readonly workers = new Map<string, ScoredWorker>();
  /** Keys in the order the core assigned them. */
  readonly assigned: string[] = [];
  /** Keys in the order they finished. */
  readonly finished: string[] = [];
  /** Every command the core produced, in order. */
  readonly log: SchedulerCommand[] = [];
  validating = true;
  private submissions = 0;
  /** The client that submitted each key. */
  private readonly clientOf = new Map<string, string>();

  constructor(
    config: SchedulerConfig,
    workerIds: readonly string[],
    /**
     * Each client lets go of a result as soon as its task finishes (as a client that fetched it), so
     * finished tasks are forgotten. Default false: results stay wanted and held.
     */
    private readonly releaseResults = false,
  ) {
    this.core = new SchedulerCore(config);
    for (const id of workerIds) this.addWorker(id);
  }

  /** A worker of one thread joins. */
  addWorker(id: string): SchedulerCommand[] {
    this.workers.set(id, { id, queue: [], running: undefined });
    return this.send({ type: "worker-joined", worker: id, nthreads: 1 });
  }

  /** The core's state, for what a test cannot see through commands (the progress of each priority). */
  get state(): CoreState {
    return (this.core as unknown as { state: CoreState }).state;
  }

  send(event: SchedulerEvent): SchedulerCommand[] {
    const commands = this.core.handle(event);
    if (this.validating) this.core.validate();
    this.log.push(...commands);
    for (const command of commands) this.carryOut(command);
    return commands;
  }

  /**
   * Submits `tasks` as one job (its own client), in graph order (a task's order is its index), all
   * wanted; `priority` is the user priority of every task.
   */
  submit(tasks: readonly JobTask[], priority?: number): SchedulerCommand[] {
    const submitted: SubmittedTask[] = tasks.map((task, order) => ({
      key: task.key,
      deps: task.deps,
      order,
      prefix: task.key.split("-")[0],
      userPriority: priority,
    }));
    const client = `job-${this.submissions++}`;
    for (const task of tasks) this.clientOf.set(task.key, client);
    return this.send({ type: "graph-submitted", client, tasks: submitted, wanted: tasks.map((task) => task.key) });
  }

  /**
   * One step of time: each idle worker starts the best task of its queue, then every running task
   * finishes (taking `durationMs`). Returns how many tasks finished.
   */
  step(durationMs = 1): number {
    for (const worker of this.workers.values()) {
      if (worker.running !== undefined || worker.queue.length === 0) continue;
      worker.queue.sort((a, b) => a.score - b.score || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      worker.running = worker.queue.shift()!.key;
      this.send({ type: "task-started", key: worker.running, worker: worker.id });
    }
    let finished = 0;
    for (const worker of this.workers.values()) {
      const key = worker.running;
      if (key === undefined) continue;
      worker.running = undefined;
      this.finished.push(key);
      finished++;
      this.send({ type: "task-finished", key, worker: worker.id, nbytes: 8, durationMs });
      if (this.releaseResults) this.send({ type: "keys-released", client: this.clientOf.get(key)!, keys: [key] });
    }
    return finished;
  }

  /** Steps until `done()` holds; throws after `maxSteps`, or when nothing runs any more. */
  runUntil(done: () => boolean, maxSteps = 1_000_000, durationMs = 1): void {
    for (let step = 0; step < maxSteps; step++) {
      if (done()) return;
      if (this.step(durationMs) === 0) throw new Error("nothing left to run, and the condition does not hold");
    }
    throw new Error(`the condition does not hold after ${maxSteps} steps`);
  }

  /** Steps until `count` tasks in all have finished. */
  runTasks(count: number, durationMs = 1): void {
    const target = this.finished.length + count;
    this.runUntil(() => this.finished.length >= target, 1_000_000, durationMs);
  }

  private carryOut(command: SchedulerCommand): void {
    switch (command.type) {
      case "assign":
        this.workers.get(command.worker)!.queue.push({ key: command.key, score: command.priority });
        this.assigned.push(command.key);
        break;
      case "rescore":
        for (const id of command.workers) {
          const queued = this.workers.get(id)?.queue.find((entry) => entry.key === command.key);
          if (queued !== undefined) queued.score = command.priority;
        }
        break;
      case "cancel": {
        const queue = this.workers.get(command.worker)?.queue;
        const index = queue?.findIndex((entry) => entry.key === command.key) ?? -1;
        if (index >= 0) queue!.splice(index, 1);
        break;
      }
      case "steal": {
        // Answered at once, as the atomic steal script does; the task keeps its score.
        const victim = this.workers.get(command.victim)!;
        const index = victim.queue.findIndex((entry) => entry.key === command.key);
        if (index >= 0) {
          this.workers.get(command.thief)!.queue.push(victim.queue.splice(index, 1)[0]);
          this.send({ type: "steal-accepted", key: command.key, victim: command.victim, thief: command.thief });
        } else {
          this.send({ type: "steal-refused", key: command.key, victim: command.victim });
        }
        break;
      }
      default:
        break;
    }
  }
}

/** `n` independent tasks named `name-0` … `name-(n-1)`. */
export function independentTasks(name: string, n: number): JobTask[] {
  return Array.from({ length: n }, (_, i) => ({ key: `${name}-${i}`, deps: [] }));
}

/**
 * A pairwise tree reduction over `leaves` leaves, in the depth-first order `graph/order.ts` gives it:
 * each sum right after its two inputs, so a job that runs in this order holds few results at once.
 */
export function treeTasks(name: string, leaves: number): JobTask[] {
  const tasks: JobTask[] = [];
  const reduce = (from: number, to: number): string => {
    if (to - from === 1) {
      const key = `${name}-leaf${from}`;
      tasks.push({ key, deps: [] });
      return key;
    }
    const middle = (from + to) >> 1;
    const left = reduce(from, middle);
    const right = reduce(middle, to);
    const key = `${name}-sum${from}_${to}`;
    tasks.push({ key, deps: [left, right] });
    return key;
  };
  reduce(0, leaves);
  return tasks;
}
