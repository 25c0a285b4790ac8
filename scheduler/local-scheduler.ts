import { GraphError } from "../graph/graph-error.js";
import { sameSpec } from "../graph/merge.js";
import type { Key, ReadonlyGraph } from "../graph/task-spec.js";
import "../worker/builtin-tasks.js";
import type { ExecutionOutcome, ExecutionRequest, Executor } from "../worker/executor.js";
import { InlineExecutor } from "../worker/inline-executor.js";
import { sizeOf } from "../worker/size-of.js";
import { lookupTask } from "../worker/task-registry.js";
import { ThreadPoolExecutor } from "../worker/thread-pool-executor.js";
import type { SchedulerCommand } from "./commands.js";
import type { ClientId, SchedulerEvent, TaskFailure } from "./events.js";
import type { LocalTask } from "./local-task.js";
import { prepareSubmission, type SubmitOptions } from "./prepare-submission.js";
import type { SchedulerConfig } from "./scheduler-config.js";
import { SchedulerCore } from "./scheduler-core.js";

/** Which executor runs the tasks of a local scheduler. */
export type LocalExecutorKind = "sync" | "threads";

/** Options of {@link LocalScheduler.start}. */
export interface LocalSchedulerOptions {
  /** `threads` (default): a pool of worker threads. `sync`: one task at a time on this thread, for debugging. */
  readonly executor?: LocalExecutorKind;
  /** Threads of the `threads` executor. Default: the number of CPUs. */
  readonly nthreads?: number;
  /** Modules every thread imports at start (see `ThreadPoolOptions.imports`). */
  readonly imports?: readonly (string | URL)[];
  /** Tuning of the scheduling core. */
  readonly scheduler?: SchedulerConfig;
}

/** Where a submission's outcomes go, key by key. */
export interface SubmissionHandlers {
  onResult(key: Key, value: unknown): void;
  onError(key: Key, error: TaskFailure): void;
  /** The core refused the submission as a whole (say, a key reused for a different computation). */
  onRejected(error: GraphError): void;
}

const LOCAL_WORKER = "local";

/**
 * Runs graphs in this process: the embedded default. A thin shell around the same `SchedulerCore` the
 * distributed scheduler uses, with results kept in this thread (each in its task's `LocalTask` cell)
 * and tasks run by an executor (`sync` or `threads`).
 *
 * @example
 * ```ts
 * const scheduler = await LocalScheduler.start({ executor: "threads" });
 * scheduler.submit(graph, ["total"], "me", {
 *   onResult: (key, value) => console.log(key, value),
 *   onError: (key, failure) => console.error(key, failure.message),
 *   onRejected: (error) => console.error(error.message),
 * });
 * ```
 */
export class LocalScheduler {
  private readonly core: SchedulerCore;
  private executor!: Executor;
  /** Results held, for `stats`. */
  private heldResults = 0;
  private readonly clients = new Map<ClientId, SubmissionHandlers>();
  /** Events waiting to be handed to the core, so outcomes reported during a dispatch are not handled re-entrantly. */
  private inbox: SchedulerEvent[] = [];
  private handling = false;
  private closed = false;

  private constructor(readonly executorKind: LocalExecutorKind, config: SchedulerConfig | undefined) {
    this.core = new SchedulerCore(config, { sameRunSpec: (a, b) => sameSpec((a as LocalTask).spec, (b as LocalTask).spec) });
  }

  /** Creates a scheduler and starts its executor. */
  static async start(options: LocalSchedulerOptions = {}): Promise<LocalScheduler> {
    const kind = options.executor ?? "threads";
    if (kind !== "sync" && kind !== "threads") {
      throw new TypeError(`unknown executor "${String(kind)}": use "sync" or "threads"`);
    }
    const scheduler = new LocalScheduler(kind, options.scheduler);
    const sink = (outcomes: ExecutionOutcome[]) => scheduler.onOutcomes(outcomes);
    scheduler.executor =
      kind === "sync"
        ? new InlineExecutor(sink)
        : await ThreadPoolExecutor.start(sink, { nthreads: options.nthreads, imports: options.imports });
    scheduler.enqueue({ type: "worker-joined", worker: LOCAL_WORKER, nthreads: scheduler.executor.nthreads });
    return scheduler;
  }

  /** Tasks run at once. */
  get nthreads(): number {
    return this.executor.nthreads;
  }

  /**
   * Submits `graph` for `client`, which wants `outputs`. Validates it (throwing a `GraphError` that
   * names the bad key, with nothing submitted), optimizes and orders it, and starts running. Each
   * output's value or error reaches `handlers` once; results of other tasks are freed as soon as
   * nothing needs them. Keys already held (from an earlier `persist`) are reused, not recomputed.
   */
  submit(graph: ReadonlyGraph, outputs: readonly Key[], client: ClientId, handlers: SubmissionHandlers, options: SubmitOptions = {}): void {
    if (this.closed) throw new Error("the local scheduler is closed");
    const submission = prepareSubmission(
      graph,
      outputs,
      client,
      { isKnown: (key) => this.core.stateOf(key) !== undefined, isKnownFunction: (name) => lookupTask(name) !== undefined },
      options,
    );
    this.clients.set(client, handlers);
    this.enqueue(submission);
  }

  /** The client no longer wants these keys: their results may be freed. */
  release(client: ClientId, keys: readonly Key[]): void {
    if (keys.length > 0) this.enqueue({ type: "keys-released", client, keys });
  }

  /** Forgets a client's handlers once it has released everything it wanted. */
  dropClient(client: ClientId): void {
    this.clients.delete(client);
  }

  /** Counts of known tasks per state, and the number of held results. */
  stats(): { tasks: ReturnType<SchedulerCore["counts"]>; heldResults: number } {
    return { tasks: this.core.counts(), heldResults: this.heldResults };
  }

  /** Stops the executor. Pending computations never complete. */
  async close(): Promise<void> {
    this.closed = true;
    await this.executor.close();
  }

  private onOutcomes(outcomes: ExecutionOutcome[]): void {
    if (this.closed) return;
    for (const outcome of outcomes) {
      const task = outcome.request as LocalTask;
      if (outcome.ok) {
        this.hold(task, outcome.value);
        this.inbox.push({
          type: "task-finished",
          key: task.key,
          worker: LOCAL_WORKER,
          nbytes: sizeOf(outcome.value),
          durationMs: outcome.durationMs,
        });
      } else {
        this.inbox.push({ type: "task-erred", key: task.key, worker: LOCAL_WORKER, error: outcome.error, durationMs: outcome.durationMs });
      }
    }
    this.drain();
  }

  private enqueue(event: SchedulerEvent): void {
    this.inbox.push(event);
    this.drain();
  }

  /** Hands queued events to the core until none are left; outcomes arriving meanwhile join the loop. */
  private drain(): void {
    if (this.handling) return;
    this.handling = true;
    try {
      while (this.inbox.length > 0) {
        const events = this.inbox;
        this.inbox = [];
        this.carryOut(this.core.handleAll(events));
      }
    } finally {
      this.handling = false;
    }
  }

  private carryOut(commands: readonly SchedulerCommand[]): void {
    let requests: ExecutionRequest[] | undefined;
    for (const command of commands) {
      switch (command.type) {
        case "assign": {
          const task = command.runSpec as LocalTask;
          task.resolveArgs(command.inputs as readonly LocalTask[]);
          (requests ??= []).push(task);
          break;
        }
        case "release":
        case "forget":
          if (command.runSpec !== undefined) this.drop(command.runSpec as LocalTask);
          break;
        case "result": {
          const { value } = command.runSpec as LocalTask;
          for (const client of command.clients) this.clients.get(client)?.onResult(command.key, value);
          break;
        }
        case "error":
          for (const client of command.clients) this.clients.get(client)?.onError(command.key, command.error);
          break;
        case "graph-rejected":
          this.clients.get(command.client)?.onRejected(new GraphError("conflicting-spec", command.reason, command.keys));
          break;
        case "cancel":
        case "steal":
          // One local worker: nothing to steal, and a task already handed to the executor runs to the end
          // (its result is then released by the core).
          break;
      }
    }
    if (requests !== undefined) this.executor.run(requests);
  }

  private hold(task: LocalTask, value: unknown): void {
    if (!task.hasValue) this.heldResults++;
    task.value = value;
    task.hasValue = true;
  }

  private drop(task: LocalTask): void {
    if (task.hasValue) this.heldResults--;
    task.value = undefined;
    task.hasValue = false;
    task.args = task.spec.args;
  }
}
