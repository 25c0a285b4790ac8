import type { SchedulerCommand } from "../../../scheduler/core/commands.js";
import type { SchedulerEvent, SubmittedTask } from "../../../scheduler/core/events.js";
import type { TaskFailure } from "../../../protocol/task-failure.js";
import type { WorkerId } from "../../../protocol/ids.js";
import type { SchedulerConfig } from "../../../scheduler/core/scheduler-config.js";
import { SchedulerCore } from "../../../scheduler/core/scheduler-core.js";
import type { TaskStateName } from "../../../scheduler/core/task-state.js";

/** A task of a simulated graph: its inputs' values in, a number out. */
export interface SimTask {
  readonly key: string;
  readonly deps: readonly string[];
  readonly run: (inputs: number[]) => number;
  readonly nbytes?: number;
  readonly retries?: number;
  /** Throws on its first `failures` runs. */
  readonly failures?: number;
  /** Kills the worker it runs on, every time. */
  readonly killsWorker?: boolean;
  /** Data a client scattered: submitted with `scattered`, so it is never made a second time once held. */
  readonly scattered?: boolean;
  /** What computes it, as `taskFingerprint` would say: tasks of equal fingerprint compute the same. Default "sim". */
  readonly fingerprint?: string;
}

interface SimWorker {
  readonly id: WorkerId;
  readonly nthreads: number;
  /** Assigned, not started: what a steal can still take. */
  readonly queue: string[];
  readonly running: Set<string>;
  readonly data: Map<string, number>;
}

/** How the pretend workers behave. */
export interface SimulatedClusterOptions {
  /**
   * Workers keep each input they fetch from a peer and report it as held (a `task-finished` for the
   * input, before the task's own), as real worker processes do. Default false: fetched inputs are
   * used and dropped.
   */
  readonly keepFetchedInputs?: boolean;
}

/** Every transition any simulated or harnessed core made, across the whole test file. */
export const observedTransitions = new Set<string>();

/**
 * A cluster of pretend workers around a real `SchedulerCore`: it carries out the core's commands the
 * way a real shell would (queues, steals that the victim confirms, results fetched from holders), so
 * tests can drive it step by step or at random and check results. `validate()` runs after every event.
 */
export class SimulatedCluster {
  readonly core: SchedulerCore;
  readonly workers = new Map<WorkerId, SimWorker>();
  readonly tasks = new Map<string, SimTask>();
  readonly results = new Map<string, number>();
  readonly errors = new Map<string, TaskFailure>();
  readonly rejected: string[] = [];
  /** Every command the core produced, in order. */
  readonly log: SchedulerCommand[] = [];
  /** Every state change, as `key: from->to`. */
  readonly transitions: string[] = [];
  /** Task key -> workers that started it, in order. */
  readonly starts = new Map<string, WorkerId[]>();
  private readonly failuresLeft = new Map<string, number>();
  now = 0;

  /** Inputs fetched from peers, as `key@worker`, in order; a fetch that found nothing is not counted. */
  readonly fetches: string[] = [];

  constructor(
    config: SchedulerConfig = {},
    private readonly options: SimulatedClusterOptions = {},
  ) {
    this.core = new SchedulerCore(config, {
      fingerprint: (runSpec) => (runSpec as { fingerprint?: string } | undefined)?.fingerprint ?? "sim",
      onTransition: (key, from, to) => {
        observedTransitions.add(`${from}->${to}`);
        this.transitions.push(`${key}: ${from}->${to}`);
      },
    });
  }

  send(event: SchedulerEvent): SchedulerCommand[] {
    const commands = this.core.handle(event);
    this.core.validate();
    this.log.push(...commands);
    for (const command of commands) this.carryOut(command);
    return commands;
  }

  addWorker(id: WorkerId, nthreads = 1): void {
    this.workers.set(id, { id, nthreads, queue: [], running: new Set(), data: new Map() });
    this.send({ type: "worker-joined", worker: id, nthreads });
  }

  submit(tasks: readonly SimTask[], wanted: readonly string[], client = "client"): SchedulerCommand[] {
    const submitted: SubmittedTask[] = tasks.map((task, order) => ({
      key: task.key,
      deps: task.deps,
      order,
      retries: task.retries,
      prefix: task.key.split("-")[0],
      scattered: task.scattered,
      ...(task.fingerprint !== undefined && { runSpec: { fingerprint: task.fingerprint } }),
    }));
    for (const task of tasks) {
      this.tasks.set(task.key, task);
      if (task.failures) this.failuresLeft.set(task.key, task.failures);
    }
    return this.send({ type: "graph-submitted", client, tasks: submitted, wanted });
  }

  /** Starts the next queued task on `worker`, if it has a free thread and a task. Returns its key. */
  start(workerId: WorkerId): string | undefined {
    const worker = this.workers.get(workerId)!;
    if (worker.running.size >= worker.nthreads || worker.queue.length === 0) return undefined;
    const key = worker.queue.shift()!;
    worker.running.add(key);
    const starts = this.starts.get(key) ?? [];
    starts.push(workerId);
    this.starts.set(key, starts);
    this.send({ type: "task-started", key, worker: workerId });
    return key;
  }

  /** Finishes a running task: fetches its inputs from holders, runs it, reports the outcome. */
  finish(workerId: WorkerId, key: string, durationMs = 1): void {
    const worker = this.workers.get(workerId)!;
    if (!worker.running.delete(key)) throw new Error(`${key} is not running on ${workerId}`);
    const task = this.tasks.get(key)!;
    if (task.killsWorker) {
      this.kill(workerId, [key]);
      return;
    }
    const inputs: number[] = [];
    const missing: { key: string; worker: WorkerId }[] = [];
    const kept: string[] = [];
    for (const dep of task.deps) {
      const holders = this.core.whoHas(dep);
      const local = holders.includes(workerId) && worker.data.has(dep);
      const holder = local ? workerId : holders.find((id) => this.workers.get(id)?.data.has(dep));
      if (holder === undefined) {
        for (const id of holders) missing.push({ key: dep, worker: id });
        if (holders.length === 0) missing.push({ key: dep, worker: workerId });
      } else {
        const value = this.workers.get(holder)!.data.get(dep)!;
        inputs.push(value);
        if (holder !== workerId) this.fetches.push(`${dep}@${workerId}`);
        if (this.options.keepFetchedInputs && !worker.data.has(dep)) {
          worker.data.set(dep, value);
          kept.push(dep);
        }
      }
    }
    for (const dep of kept) {
      this.send({ type: "task-finished", key: dep, worker: workerId, nbytes: this.tasks.get(dep)?.nbytes ?? 8, durationMs: 0 });
    }
    if (missing.length > 0) {
      this.send({ type: "task-missing-data", key, worker: workerId, missing });
      return;
    }
    const failures = this.failuresLeft.get(key) ?? 0;
    if (failures > 0) {
      this.failuresLeft.set(key, failures - 1);
      this.send({
        type: "task-erred",
        key,
        worker: workerId,
        error: { name: "Error", message: `${key} failed`, stack: `Error: ${key} failed\n    at run` },
        durationMs,
      });
      return;
    }
    worker.data.set(key, task.run(inputs));
    this.send({ type: "task-finished", key, worker: workerId, nbytes: task.nbytes ?? 8, durationMs });
  }

  /** Runs everything to completion, round-robin over workers, one task per worker per round. */
  runToCompletion(maxRounds = 100_000): void {
    for (let round = 0; round < maxRounds; round++) {
      let progressed = false;
      for (const worker of [...this.workers.values()]) {
        const key = this.start(worker.id);
        if (key !== undefined) {
          this.finish(worker.id, key);
          progressed = true;
        }
      }
      if (!progressed) return;
    }
    throw new Error("simulation did not finish");
  }

  /** The worker begins a clean stop: it hands back its queue and keeps running what it started. */
  beginStop(workerId: WorkerId): string[] {
    const returned = this.workers.get(workerId)!.queue.splice(0);
    this.send({ type: "worker-stopping", worker: workerId, returned });
    return returned;
  }

  /** The worker process dies: its data and queue are gone. */
  kill(workerId: WorkerId, running?: string[]): void {
    const worker = this.workers.get(workerId)!;
    this.workers.delete(workerId);
    this.send({ type: "worker-left", worker: workerId, running: running ?? [...worker.running] });
  }

  /**
   * The worker sends its account (the cluster's generation changed): the results it holds, with the
   * fingerprints of what computed them, and the tasks it has queued or runs. `unsure`: tasks the
   * shell sent it before Redis lost its data.
   */
  account(workerId: WorkerId, options: { readonly fingerprints?: Readonly<Record<string, string>>; readonly unsure?: readonly string[] } = {}): void {
    const worker = this.workers.get(workerId)!;
    this.send({
      type: "worker-account",
      worker: workerId,
      held: [...worker.data.keys()].map((key) => ({ key, nbytes: this.tasks.get(key)?.nbytes ?? 8, fingerprint: options.fingerprints?.[key] ?? "sim" })),
      assigned: [...worker.queue, ...worker.running],
      unsure: options.unsure,
    });
  }

  tick(advanceMs = 100): void {
    this.now += advanceMs;
    this.send({ type: "tick", now: this.now });
  }

  stateOf(key: string): TaskStateName | undefined {
    return this.core.stateOf(key);
  }

  queueOf(workerId: WorkerId): readonly string[] {
    return this.workers.get(workerId)!.queue;
  }

  private carryOut(command: SchedulerCommand): void {
    switch (command.type) {
      case "assign": {
        const worker = this.workers.get(command.worker);
        if (worker === undefined) throw new Error(`assigned ${command.key} to unknown worker ${command.worker}`);
        for (const other of this.workers.values()) {
          if (other.queue.includes(command.key) || other.running.has(command.key)) {
            throw new Error(`${command.key} assigned to ${command.worker} while still on ${other.id}`);
          }
        }
        worker.queue.push(command.key);
        break;
      }
      case "steal": {
        // Answered at once, like the atomic Lua script of the distributed shell.
        const victim = this.workers.get(command.victim);
        const thief = this.workers.get(command.thief);
        const index = victim?.queue.indexOf(command.key) ?? -1;
        if (victim !== undefined && thief !== undefined && index >= 0) {
          victim.queue.splice(index, 1);
          thief.queue.push(command.key);
          this.send({ type: "steal-accepted", key: command.key, victim: command.victim, thief: command.thief });
        } else {
          this.send({ type: "steal-refused", key: command.key, victim: command.victim });
        }
        break;
      }
      case "cancel": {
        const worker = this.workers.get(command.worker);
        const index = worker?.queue.indexOf(command.key) ?? -1;
        if (index >= 0) worker!.queue.splice(index, 1);
        worker?.data.delete(command.key);
        break;
      }
      case "release":
        for (const id of command.workers) this.workers.get(id)?.data.delete(command.key);
        break;
      case "result": {
        const holder = command.workers.map((id) => this.workers.get(id)).find((w) => w?.data.has(command.key));
        if (holder !== undefined) this.results.set(command.key, holder.data.get(command.key)!);
        break;
      }
      case "error":
        this.errors.set(command.key, command.error);
        break;
      case "graph-rejected":
        this.rejected.push(command.reason);
        break;
      case "forget":
        break;
      case "replicate": {
        // Answered at once: each copy is fetched from the stopping worker and reported as held.
        const from = this.workers.get(command.from);
        const to = this.workers.get(command.worker);
        if (from === undefined || to === undefined) break;
        for (const key of command.keys) {
          const value = from.data.get(key);
          if (value === undefined) continue;
          to.data.set(key, value);
          this.send({ type: "task-finished", key, worker: to.id, nbytes: this.tasks.get(key)?.nbytes ?? 8, durationMs: 0 });
        }
        break;
      }
    }
  }
}

/** A pairwise tree reduction over `leaves` leaves: leaf-i = i, sum-* adds its two inputs. */
export function treeReduction(leaves: number, nbytes = 8): { tasks: SimTask[]; root: string; expected: number } {
  const tasks: SimTask[] = [];
  let level: string[] = [];
  for (let i = 0; i < leaves; i++) {
    const key = `leaf-${i}`;
    tasks.push({ key, deps: [], run: () => i, nbytes });
    level.push(key);
  }
  let depth = 0;
  while (level.length > 1) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const pair = level.slice(i, i + 2);
      const key = `sum-${depth}-${i / 2}`;
      tasks.push({ key, deps: pair, run: (inputs) => inputs.reduce((a, b) => a + b, 0), nbytes });
      next.push(key);
    }
    level = next;
    depth++;
  }
  return { tasks, root: level[0], expected: (leaves * (leaves - 1)) / 2 };
}
