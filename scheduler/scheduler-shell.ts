import { taskFingerprint } from "../protocol/worker-account.js";
import { checkSerializable } from "../graph/wire-form.js";
import { GraphError } from "../graph/graph-error.js";
import { sameSpec } from "../graph/merge.js";
import type { Key, ReadonlyGraph } from "../graph/task-spec.js";
import { IDENTITY } from "../protocol/builtin-task-names.js";
import type { SchedulerCommand } from "./core/commands.js";
import type { SchedulerEvent } from "./core/events.js";
import type { ClientId, WorkerId } from "../protocol/ids.js";
import type { WorkerInfo } from "../protocol/job-api.js";
import type { TaskFailure } from "../protocol/task-failure.js";
import { LocalTask } from "./local-task.js";
import { prepareSubmission, type PreparedSubmission, type SubmissionChecks, type SubmitOptions } from "./prepare-submission.js";
import type { SchedulerConfig } from "./core/scheduler-config.js";
import { SchedulerCore } from "./core/scheduler-core.js";
import type { TaskStateName } from "./core/task-state.js";
import { TaskCountTracker, type TaskTally } from "./task-count-tracker.js";

/** A task's outcome as its worker reported it, for {@link SchedulerShell.onReport}. */
export type TaskReportSummary =
  | { readonly kind: "finished"; readonly key: Key; readonly worker: WorkerId; readonly durationMs: number }
  | { readonly kind: "erred"; readonly key: Key; readonly worker: WorkerId; readonly durationMs: number; readonly error: TaskFailure };

/** Where a submission's outcomes go, key by key. */
export interface SubmissionHandlers {
  onResult(key: Key, value: unknown): void;
  onError(key: Key, error: TaskFailure): void;
  /** The core refused the submission as a whole (say, a key reused for a different computation). */
  onRejected(error: GraphError): void;
  /**
   * Set when the client hands every result it is given back through {@link SchedulerShell.settleResults}
   * once it is done with it, saying what the program keeps: a local scheduler then reuses the memory
   * of the rest. Default false: every result is taken to be kept by the program for good.
   */
  readonly settlesResults?: boolean;
  /**
   * False when the client needs only to know that each output is held, not its value (a scatter):
   * `onResult` then gets undefined, and a distributed scheduler fetches nothing from the workers.
   * Default true.
   */
  readonly wantsValues?: boolean;
}

/**
 * What every scheduler shell does around the core: turns graphs into submissions, queues events and
 * hands them to the core in batches (never re-entrantly: events that arrive while commands are being
 * carried out join the same loop), and routes results and errors to the clients that asked. The
 * local and the distributed scheduler differ only in {@link carryOut}: how commands reach workers.
 */
export abstract class SchedulerShell {
  /** Why submissions are refused, once the shell has stopped; undefined while it accepts them. */
  private refusal: string | undefined;

  /** Refuses every later submission with `message` (the shell is stopping). */
  protected refuseSubmissions(message: string): void {
    this.refusal = message;
  }

  protected readonly core: SchedulerCore;
  protected readonly clients = new Map<ClientId, SubmissionHandlers>();
  /** Events waiting for the core. */
  protected inbox: SchedulerEvent[] = [];
  private handling = false;
  private readonly reportListeners = new Set<(report: TaskReportSummary) => void>();
  /** Task counts of the computations followed for progress, kept as tasks change state. */
  private readonly taskCounts: TaskCountTracker;

  protected constructor(config: SchedulerConfig | undefined) {
    this.core = new SchedulerCore(config, {
      sameRunSpec: (a, b) => sameSpec((a as LocalTask).spec, (b as LocalTask).spec),
      // Asked only for a key a worker holds a result under that no task claimed yet (a scheduler took over).
      fingerprint: (spec) => taskFingerprint((spec as LocalTask).fn, (spec as LocalTask).spec.args),
      onTransition: (key, from, to) => this.taskCounts.transitioned(key, from, to),
    });
    this.taskCounts = new TaskCountTracker((key) => this.core.stateOf(key));
  }

  /**
   * True when tasks run in other processes (a cluster's workers), so that the data a graph carries
   * is copied to them; false when the executor runs in this process and tasks read that data as it is.
   */
  abstract readonly remote: boolean;

  /**
   * The workers, with their threads, tasks queued and running, and results held, as the job API's
   * `GET /v1/workers` lists them.
   */
  abstract workers(): Promise<WorkerInfo[]>;

  /**
   * Calls `listener` with every task outcome a worker reports, before the core sees it; returns a
   * function that removes the listener. For progress reporting (clients' `onProgress`, the HTTP API's
   * job events).
   */
  onReport(listener: (report: TaskReportSummary) => void): () => void {
    this.reportListeners.add(listener);
    return () => this.reportListeners.delete(listener);
  }

  /**
   * Follows a computation's task counts, kept up to date as its tasks change state and workers report
   * them (O(1) per report, however many tasks it has; see `TaskCountTracker`). Call before submitting
   * (reports may come during submission), then hand the submitted keys to `setKeys`; `stop` once the
   * computation has ended.
   *
   * @example
   * ```ts
   * const tally = scheduler.followCounts();
   * await runGraph(scheduler, graph, outputs, client, { onSubmitted: (keys) => tally.setKeys(keys) });
   * console.log(tally.counts().finished);
   * tally.stop();
   * ```
   */
  followCounts(): TaskTally {
    return this.taskCounts.follow();
  }

  /** True when someone follows reports: spares building summaries nobody reads. */
  protected get followed(): boolean {
    return this.reportListeners.size > 0 || this.taskCounts.following;
  }

  /** Hands a task outcome to the task counts and the {@link onReport} listeners. */
  protected notifyReport(report: TaskReportSummary): void {
    this.taskCounts.reported(report.key, report.kind);
    for (const listener of this.reportListeners) listener(report);
  }

  /** Carries out the core's commands. */
  protected abstract carryOut(commands: readonly SchedulerCommand[]): void;

  /**
   * What this shell asks of function names and arguments; the checks against keys the scheduler
   * already knows are the same for every shell.
   */
  protected abstract functionChecks(): Pick<SubmissionChecks, "isKnownFunction" | "describeUnknownFunction" | "serializable">;

  private checks(): SubmissionChecks {
    return {
      isKnown: (key) => this.core.stateOf(key) !== undefined,
      knowsAny: this.core.size > 0,
      knownSpec: (key) => (this.core.runSpecOf(key) as LocalTask | undefined)?.spec,
      ...this.functionChecks(),
    };
  }

  /**
   * Checks and prepares `graph` for `client`, which wants `outputs`: validated against the keys the
   * scheduler knows now (throwing a `GraphError` that names the bad key: a cycle, a missing
   * dependency or output, an unknown function, a key known with another computation), optimized and
   * ordered. Nothing is submitted: pass the result to {@link submit} before the scheduler handles
   * anything else (in the same turn of the event loop), so that what it was checked against still holds.
   */
  prepare(graph: ReadonlyGraph, outputs: readonly Key[], client: ClientId, options: SubmitOptions = {}): PreparedSubmission {
    if (this.refusal !== undefined) throw new Error(this.refusal);
    return prepareSubmission(graph, outputs, client, this.checks(), options);
  }

  /**
   * Prepares a scatter: each value of `data` is to be held under its key on a worker, for `client`,
   * and read by later graphs as any held result. It travels to the worker as a task placing it
   * there (see `SubmittedTask.scattered`); once held, the scheduler keeps no copy (unless it is small
   * enough to come back inline, as small results do). A key already scattered is shared, not placed
   * twice; a key known as a task's result is refused with a `GraphError` (`conflicting-spec`), and
   * data that cannot go on the wire to other processes with one (`unserializable-argument`). Submit
   * the result as {@link prepare}'s, in the same turn of the event loop.
   */
  prepareScatter(data: ReadonlyMap<Key, unknown>, client: ClientId): PreparedSubmission {
    if (this.refusal !== undefined) throw new Error(this.refusal);
    const tasks: LocalTask[] = [];
    for (const [key, value] of data) {
      if (typeof key !== "string" || key === "") throw new TypeError("scattered data needs non-empty string keys");
      const known = this.core.runSpecOf(key) as LocalTask | undefined;
      if (known !== undefined) {
        if (known.scattered) continue;
        throw new GraphError("conflicting-spec", `key "${key}" is already known as a task's result; scatter data under a key of its own`, [key]);
      }
      if (this.remote) {
        const problem = checkSerializable(value, "data");
        if (problem !== undefined) {
          throw new GraphError("unserializable-argument", `the data scattered under "${key}" cannot be sent to the workers: ${problem}`, [key]);
        }
      }
      // Built without walking the data for references: scattered data holds none.
      const task = new LocalTask({ key, fn: IDENTITY, args: [value], deps: [] }, tasks.length);
      task.scattered = true;
      tasks.push(task);
    }
    return { type: "graph-submitted", client, tasks, wanted: [...data.keys()], acyclic: true };
  }

  /**
   * Runs a submission made by {@link prepare}. Each wanted output's value or error reaches `handlers`
   * once; keys the scheduler already holds are reused, not recomputed. Returns the keys of the tasks
   * submitted (after optimization: a fused chain is submitted under its last key).
   */
  submit(submission: PreparedSubmission, handlers: SubmissionHandlers): readonly Key[] {
    if (this.refusal !== undefined) throw new Error(this.refusal);
    this.clients.set(submission.client, handlers);
    this.enqueue(submission);
    return submission.tasks.map((task) => task.key);
  }

  /** The state of a task as the core sees it, or undefined when it does not know the key. */
  stateOf(key: Key): TaskStateName | undefined {
    return this.core.stateOf(key);
  }

  /**
   * The workers the core lists as holding a result: the one that computed it, and those that keep a
   * copy (fetched for a task, or handed over by a stopping worker). For operators and tests.
   */
  whoHas(key: Key): WorkerId[] {
    return this.core.whoHas(key);
  }

  /** The client no longer wants these keys: their results may be freed. */
  release(client: ClientId, keys: readonly Key[]): void {
    if (keys.length > 0) this.enqueue({ type: "keys-released", client, keys });
  }

  /** Forgets a client's handlers once it has released everything it wanted. */
  dropClient(client: ClientId): void {
    this.clients.delete(client);
  }

  protected enqueue(event: SchedulerEvent): void {
    this.inbox.push(event);
    this.drain();
  }

  /** Hands queued events to the core until none are left. */
  protected drain(): void {
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

  /**
   * Takes back results given to a client that settles them (see `SubmissionHandlers.settlesResults`):
   * `kept` is what the program holds on to (the values themselves, or what was made of them), and
   * the memory of what it does not hold may be reused. Nothing to do for a shell whose results arrive
   * as copies.
   */
  settleResults(_results: readonly unknown[], _kept: unknown): void {}

  /** Routes the commands that concern clients; true when `command` was one of them. */
  protected report(command: SchedulerCommand, value: () => unknown): boolean {
    switch (command.type) {
      case "result": {
        const result = value();
        for (const client of command.clients) this.clients.get(client)?.onResult(command.key, result);
        return true;
      }
      case "error":
        for (const client of command.clients) this.clients.get(client)?.onError(command.key, command.error);
        return true;
      case "graph-rejected":
        this.clients.get(command.client)?.onRejected(new GraphError("conflicting-spec", command.reason, command.keys));
        return true;
      default:
        return false;
    }
  }
}
