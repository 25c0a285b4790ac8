import type { Key } from "../../graph/task-spec.js";
import { chooseWorker, leastLoadedRunning } from "./choose-worker.js";
import type { SchedulerCommand } from "./commands.js";
import { CoreState, type TransitionObserver } from "./core-state.js";
import { createTasks } from "./create-tasks.js";
import { assignQueueSequences } from "./queue-score.js";
import type { GraphSubmitted, SchedulerEvent, StealAccepted, TaskErred, TaskFinished, TaskMissingData, WorkerLeft, WorkerStopping } from "./events.js";
import type { WorkerId } from "../../protocol/ids.js";
import { resolveSchedulerConfig, type SchedulerConfig } from "./scheduler-config.js";
import { comparePriority, TaskState, type TaskStateName, WorkerState } from "./task-state.js";
import { moveToWorker, transition } from "./transitions.js";
import { validateCoreState } from "./validate-core-state.js";
import { applyWorkerAccount, claimUnclaimed, expireUnclaimed } from "./worker-accounts.js";
import { planSteals } from "./work-stealing.js";

/** Hooks of a {@link SchedulerCore}; all optional. */
export interface SchedulerCoreOptions {
  /** Called on every state change (tests use it to check every transition is exercised). */
  readonly onTransition?: TransitionObserver;
  /**
   * Compares the run specs of a submitted task and the known task of the same key. When given, a
   * submission that reuses a key for a different computation is refused instead of silently sharing
   * the known task's result. Default: keys are trusted.
   */
  readonly sameRunSpec?: (known: unknown, submitted: unknown) => boolean;
  /**
   * The fingerprint of a run spec's computation (`taskFingerprint`), compared with those of results
   * workers hold from an earlier scheduler (see `worker-accounts.ts`) before a new task reuses one.
   * Default: none, such results are never reused.
   */
  readonly fingerprint?: (runSpec: unknown) => string;
}

/** One worker's load, from {@link SchedulerCore.workerLoads}. */
export interface WorkerLoad {
  readonly id: WorkerId;
  readonly nthreads: number;
  /** Tasks assigned to it and not finished: waiting in its queue or running. */
  readonly processing: number;
  /** Results it holds. */
  readonly results: number;
  /** Bytes of the results it holds, as reported. */
  readonly nbytes: number;
}

/**
 * The scheduling core: a pure state machine. Events go in, commands come out; it does no I/O, keeps
 * no timers and never reads the clock (time arrives with `tick`). The local executor and the
 * distributed scheduler both drive it, differing only in how they carry out its commands.
 *
 * @example
 * ```ts
 * const core = new SchedulerCore();
 * core.handle({ type: "worker-joined", worker: "w1", nthreads: 2 });
 * const commands = core.handle({
 *   type: "graph-submitted", client: "c1", wanted: ["b"],
 *   tasks: [{ key: "a", deps: [], order: 0 }, { key: "b", deps: ["a"], order: 1 }],
 * });
 * // commands: [{ type: "assign", key: "a", worker: "w1", priority: 2 ** 52 }] (see queue-score.ts)
 * ```
 */
export class SchedulerCore {
  private readonly state: CoreState;

  private readonly sameRunSpec: ((a: unknown, b: unknown) => boolean) | undefined;
  private readonly fingerprint: ((runSpec: unknown) => string) | undefined;

  constructor(config: SchedulerConfig = {}, options: SchedulerCoreOptions = {}) {
    this.state = new CoreState(resolveSchedulerConfig(config), options.onTransition);
    this.sameRunSpec = options.sameRunSpec;
    this.fingerprint = options.fingerprint;
  }

  /** Applies one event and returns the commands it produced, in the order they must be carried out. */
  handle(event: SchedulerEvent): SchedulerCommand[] {
    this.apply(event);
    return this.finish();
  }

  /**
   * Applies several events, then places ready tasks once: cheaper than one `handle` per event when a
   * worker reports a batch of completions.
   */
  handleAll(events: Iterable<SchedulerEvent>): SchedulerCommand[] {
    for (const event of events) this.apply(event);
    return this.finish();
  }

  /** Checks every invariant of the state; throws an error naming the first one broken. For tests. */
  validate(): void {
    validateCoreState(this.state);
  }

  /** The state of a task, or undefined when the core does not know (or has forgotten) it. */
  stateOf(key: Key): TaskStateName | undefined {
    return this.state.tasks.get(key)?.state;
  }

  /** The workers holding a task's result. */
  whoHas(key: Key): WorkerId[] {
    const task = this.state.tasks.get(key);
    return task === undefined ? [] : task.whoHas.map((w) => w.id);
  }

  /**
   * The workers fetching a task's result for tasks given to them (pending replicas): each will hold
   * a copy once it reports one.
   */
  fetching(key: Key): WorkerId[] {
    const task = this.state.tasks.get(key);
    return task === undefined ? [] : task.fetching.map((w) => w.id);
  }

  /** The run spec a task was submitted with, or undefined when the core does not know the key. */
  runSpecOf(key: Key): unknown {
    return this.state.tasks.get(key)?.runSpec;
  }

  /** The worker a task is assigned to, if it is processing. */
  processingOn(key: Key): WorkerId | undefined {
    return this.state.tasks.get(key)?.processingOn?.id ?? undefined;
  }

  /** Keys of the tasks assigned to `worker` and not finished (queued there or running). */
  processingKeysOf(worker: WorkerId): Key[] {
    return this.state.workers.get(worker)?.processing.map((task) => task.key) ?? [];
  }

  /** Counts of known tasks per state. */
  counts(): Record<Exclude<TaskStateName, "forgotten">, number> {
    const counts = { released: 0, waiting: 0, queued: 0, processing: 0, memory: 0, erred: 0 };
    for (const task of this.state.tasks.values()) counts[task.state as keyof typeof counts]++;
    return counts;
  }

  /** Each worker's load as the core sees it: tasks assigned and not finished, results held and their bytes. */
  workerLoads(): WorkerLoad[] {
    return [...this.state.workers.values()].map((worker) => ({
      id: worker.id,
      nthreads: worker.nthreads,
      processing: worker.processing.length,
      results: worker.resultCount,
      nbytes: worker.nbytes,
    }));
  }

  /** Number of tasks the core knows. */
  get size(): number {
    return this.state.tasks.size;
  }

  /** Ids of the workers that have joined and not left. */
  get workers(): WorkerId[] {
    return [...this.state.workers.keys()];
  }

  private apply(event: SchedulerEvent): void {
    switch (event.type) {
      case "graph-submitted":
        return this.graphSubmitted(event);
      case "keys-released":
        for (const key of event.keys) {
          const task = this.state.tasks.get(key);
          if (task?.wantedBy?.delete(event.client)) this.state.releaseCandidates.push(task);
        }
        return;
      case "worker-joined":
        if (this.state.workers.has(event.worker)) return;
        if (!(event.nthreads >= 1)) throw new RangeError(`worker "${event.worker}" must have nthreads >= 1`);
        this.state.workers.set(event.worker, new WorkerState(event.worker, event.nthreads, this.state.workerSeq++));
        return;
      case "worker-left":
        return this.workerLeft(event);
      case "worker-stopping":
        return this.workerStopping(event);
      case "worker-paused": {
        // Placement reads the flag: a paused worker has no room; on resume, `finish` fills it.
        const worker = this.state.workers.get(event.worker);
        if (worker !== undefined) worker.paused = event.paused;
        return;
      }
      case "task-started": {
        const task = this.state.tasks.get(event.key);
        if (task?.state === "processing" && task.processingOn!.id === event.worker) task.started = true;
        return;
      }
      case "task-finished":
        return this.taskFinished(event);
      case "task-erred":
        return this.taskErred(event);
      case "task-missing-data":
        return this.taskMissingData(event);
      case "results-lost":
        return this.loseResults(this.dropHolders(event.missing));
      case "steal-accepted":
        return this.stealAccepted(event);
      case "steal-refused": {
        const task = this.state.tasks.get(event.key);
        if (task?.state === "processing" && task.processingOn!.id === event.victim) task.stealingTo = null;
        return;
      }
      case "worker-account":
        return this.loseResults(applyWorkerAccount(this.state, event));
      case "tick":
        this.state.now = event.now;
        expireUnclaimed(this.state);
        return planSteals(this.state);
    }
  }

  private graphSubmitted(event: GraphSubmitted): void {
    const { state } = this;
    const generation = state.generation++;
    const created = createTasks(state, event, generation, this.sameRunSpec);
    if (!Array.isArray(created)) {
      state.emit({ type: "graph-rejected", client: event.client, reason: created.reason, keys: created.keys });
      return;
    }
    assignQueueSequences(state, created);
    // Results workers kept from an earlier scheduler serve the same computations again.
    const claimed = claimUnclaimed(state, created, this.fingerprint);
    const wanted: TaskState[] = [];
    for (const key of event.wanted) {
      const task = state.tasks.get(key)!;
      (task.wantedBy ??= new Set()).add(event.client);
      wanted.push(task);
      if (task.state === "memory") {
        state.emit({
          type: "result",
          key,
          clients: [event.client],
          workers: task.whoHas.map((w) => w.id),
          nbytes: task.nbytes,
          runSpec: task.runSpec,
        });
      } else if (task.state === "erred") {
        state.emit({ type: "error", key, clients: [event.client], error: task.error! });
      }
    }
    this.require(wanted);
    // Tasks of this graph that nothing needs (their dependents are already in memory) go at once.
    for (const task of created) if (task.state === "released") state.releaseCandidates.push(task);
    for (const task of claimed) state.releaseCandidates.push(task);
  }

  /**
   * Makes `roots` and, transitively, their inputs that are not in memory, move from released to
   * waiting, inputs first; a result that cannot be made again errs instead, and with it what reads
   * it. Iterative: a chain of 100,000 tasks must not overflow the stack.
   */
  private require(roots: readonly TaskState[]): void {
    const { state } = this;
    const stamp = ++state.visitStamp;
    const stack: TaskState[] = [];
    const nextDep: number[] = [];
    for (const root of roots) {
      if (root.state !== "released" || root.visitStamp === stamp) continue;
      root.visitStamp = stamp;
      stack.push(root);
      nextDep.push(0);
      while (stack.length > 0) {
        const top = stack.length - 1;
        const task = stack[top];
        const deps = task.dependencies;
        let descended = false;
        while (nextDep[top] < deps.length) {
          const dep = deps[nextDep[top]++];
          if (dep.state === "released" && dep.visitStamp !== stamp) {
            dep.visitStamp = stamp;
            stack.push(dep);
            nextDep.push(0);
            descended = true;
            break;
          }
        }
        if (descended) continue;
        stack.pop();
        nextDep.pop();
        if (task.state !== "released") continue;
        if (task.irreplaceable) transition(state, task, "erred", { error: lostDataError(task) });
        else transition(state, task, "waiting");
      }
    }
  }

  private workerStopping(event: WorkerStopping): void {
    const { state } = this;
    const worker = state.workers.get(event.worker);
    if (worker === undefined) return;
    worker.closing = true;
    for (const key of event.returned) {
      const task = state.tasks.get(key);
      if (task?.state === "processing" && task.processingOn === worker) transition(state, task, "waiting");
    }
    if (worker.resultCount > 0) {
      const held: TaskState[] = [];
      for (const task of state.tasks.values()) if (task.state === "memory" && task.holds(worker)) held.push(task);
      this.evacuate(worker, held);
    }
  }

  /**
   * Moves results off a stopping worker, so that it can leave without taking them along: a result
   * also held elsewhere (or kept by the shell) is just released from it; one only it holds is copied
   * to the least loaded running worker, which reports the copy like a finished task. With no worker
   * to copy to, the result is given up and recomputed where still needed.
   */
  private evacuate(worker: WorkerState, results: readonly TaskState[]): void {
    const { state } = this;
    const target = leastLoadedRunning(state);
    const copies: Key[] = [];
    const lost: TaskState[] = [];
    for (const task of results) {
      if (task.whoHas.length > 1 || task.keptByShell) {
        this.dropReplica(task, worker);
      } else if (target !== undefined) {
        copies.push(task.key);
      } else {
        this.dropReplica(task, worker);
        lost.push(task);
      }
    }
    if (copies.length > 0) state.emit({ type: "replicate", keys: copies, from: worker.id, worker: target!.id });
    this.loseResults(lost);
  }

  /** Forgets `holder`'s copy of a result and tells it to drop it; other copies stay. */
  private dropReplica(task: TaskState, holder: WorkerState): void {
    if (!task.removeReplica(holder)) return;
    this.state.emit({ type: "release", key: task.key, workers: holder.idList, runSpec: undefined });
  }

  private workerLeft(event: WorkerLeft): void {
    const { state } = this;
    const worker = state.workers.get(event.worker);
    if (worker === undefined) return;
    state.workers.delete(event.worker);
    state.unclaimed.dropWorker(event.worker);

    const lost: TaskState[] = [];
    if (worker.resultCount > 0) {
      for (const task of state.tasks.values()) {
        if (task.state === "memory" && task.removeReplica(worker) && task.whoHas.length === 0 && !task.keptByShell) lost.push(task);
      }
    }

    const running = event.running === undefined ? undefined : new Set(event.running);
    for (const task of [...worker.processing]) {
      const wasRunning = running === undefined ? task.started : running.has(task.key);
      if (wasRunning) (task.deaths ??= []).push(worker.id);
      if (task.deaths !== null && task.deaths.length >= state.config.allowedWorkerDeaths) {
        transition(state, task, "erred", { error: killedWorkerError(task) });
      } else {
        transition(state, task, "waiting");
      }
    }
    for (const task of state.tasks.values()) {
      if (task.stealingTo === worker) task.stealingTo = null;
      task.dropFetcher(worker);
    }
    this.loseResults(lost);
  }

  /** Results whose last copy is gone: dependents wait again, and what is still needed is recomputed. */
  private loseResults(lost: readonly TaskState[]): void {
    for (const task of lost) transition(this.state, task, "released");
    this.require(lost.filter((task) => task.needed));
  }

  private taskFinished(event: TaskFinished): void {
    const { state } = this;
    const worker = state.workers.get(event.worker);
    if (worker === undefined) return;
    const task = state.tasks.get(event.key);
    if (task === undefined || task.state !== "processing" || task.processingOn !== worker) {
      if (task?.state === "memory" && !task.holds(worker)) {
        // A second copy: one copied from a stopping worker, or from a worker whose death was declared
        // too early, or an input fetched to run a task (a pending replica, now held). Keep it as a
        // replica; a stopping holder's copy is no longer needed.
        task.dropFetcher(worker);
        task.addReplica(worker);
        if (!worker.closing) for (const holder of [...task.whoHas]) if (holder.closing) this.dropReplica(task, holder);
      } else if (task === undefined || task.state !== "memory") {
        state.emit({ type: "release", key: event.key, workers: worker.idList, runSpec: task?.runSpec });
      }
      return;
    }
    state.durations.record(task.prefix, event.durationMs);
    transition(state, task, "memory", { worker, nbytes: event.nbytes });
    task.keptByShell = event.inline === true;
    // The shell lets go of scattered data once a worker holds it.
    if (task.scattered) task.irreplaceable = true;
    if (worker.closing) this.evacuate(worker, [task]);
  }

  private taskErred(event: TaskErred): void {
    const { state } = this;
    const task = state.tasks.get(event.key);
    if (task === undefined || task.state !== "processing" || task.processingOn?.id !== event.worker) return;
    if (event.durationMs !== undefined) state.durations.record(task.prefix, event.durationMs);
    if (task.retriesLeft > 0) {
      task.retriesLeft--;
      transition(state, task, "waiting");
    } else {
      transition(state, task, "erred", { error: event.error });
    }
  }

  private taskMissingData(event: TaskMissingData): void {
    const { state } = this;
    // The reporting worker could not fetch these inputs, so it will not hold them.
    const reporter = state.workers.get(event.worker);
    if (reporter !== undefined) for (const { key } of event.missing) state.tasks.get(key)?.dropFetcher(reporter);
    const lost = this.dropHolders(event.missing);
    const task = state.tasks.get(event.key);
    if (task?.state === "processing" && task.processingOn?.id === event.worker) transition(state, task, "waiting");
    this.loseResults(lost);
  }

  /** Forgets that these workers hold these results; returns the results no worker holds any more. */
  private dropHolders(missing: readonly { readonly key: Key; readonly worker: WorkerId }[]): TaskState[] {
    const { state } = this;
    const lost: TaskState[] = [];
    for (const { key, worker: holderId } of missing) {
      const result = state.tasks.get(key);
      const holder = state.workers.get(holderId);
      if (result === undefined || holder === undefined || !result.removeReplica(holder)) continue;
      if (result.whoHas.length === 0 && result.state === "memory" && !result.keptByShell) lost.push(result);
    }
    return lost;
  }

  private stealAccepted(event: StealAccepted): void {
    const { state } = this;
    const task = state.tasks.get(event.key);
    if (task?.state !== "processing" || task.processingOn!.id !== event.victim) return;
    const thief = state.workers.get(event.thief);
    if (thief !== undefined && !thief.closing) {
      moveToWorker(state, task, thief);
    } else {
      // The thief left or is stopping, which it announced after the move (a stopping thief refuses
      // steals): its queue, with this task, was taken or handed back, so the task is placed again.
      transition(state, task, "waiting");
    }
  }

  /** End of an event batch: release what is no longer needed, place ready tasks, hand out commands. */
  private finish(): SchedulerCommand[] {
    const { state } = this;
    this.releaseUnneeded();
    this.placeReady();
    const commands = state.commands;
    state.commands = [];
    return commands;
  }

  private releaseUnneeded(): void {
    const { state } = this;
    const candidates = state.releaseCandidates;
    while (candidates.length > 0) {
      const task = candidates.pop()!;
      if (task.needed) continue;
      switch (task.state) {
        case "memory":
        case "waiting":
        case "queued":
        case "processing":
          transition(state, task, "released");
          break;
        case "released":
        case "erred":
          if (task.dependentCount === 0) transition(state, task, "forgotten");
          break;
      }
    }
  }

  /**
   * Gives ready tasks to workers in priority order; those that find no worker with room join the
   * scheduler's queue. Then fills any room left from the queue.
   */
  private placeReady(): void {
    const { state } = this;
    const ready = state.ready;
    if (ready.length > 1) ready.sort(comparePriority);
    for (const task of ready) {
      if (task.state !== "waiting" || task.waitingOn !== 0) continue;
      const top = state.queue.peek();
      const worker = top === undefined || comparePriority(task, top) < 0 ? chooseWorker(state, task) : undefined;
      if (worker !== undefined) transition(state, task, "processing", { worker });
      else transition(state, task, "queued");
    }
    ready.length = 0;
    while (state.queue.size > 0) {
      const task = state.queue.peek()!;
      const worker = chooseWorker(state, task);
      if (worker === undefined) break;
      transition(state, task, "processing", { worker });
    }
  }
}

function lostDataError(task: TaskState): { name: string; message: string } {
  return {
    name: "ScatteredDataLost",
    message:
      `the data scattered under "${task.key}" was lost with the workers that held it, and a scheduler cannot make ` +
      `scattered data again; scatter it again (or persist what was computed from it)`,
  };
}

function killedWorkerError(task: TaskState): { name: string; message: string } {
  return {
    name: "KilledWorker",
    message:
      `task "${task.key}" was running on ${task.deaths!.length} workers that died: ${task.deaths!.join(", ")}; ` +
      `it probably kills its worker (out of memory, a crash in native code, process.exit), so it is not retried again`,
  };
}
