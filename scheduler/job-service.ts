import type { Job } from "bullmq";
import type { Graph, Key } from "../graph/task-spec.js";
import type { DistributedScheduler } from "./distributed-scheduler.js";
import type { GraphJobFailure, JobEvent, JobOptions, JobPage, JobStatus, TaskCounts, WaitingForWorkers } from "../protocol/job-api.js";
import { NoWorkersError, NoWorkersWatch } from "./no-workers-watch.js";
import { ClientPresence } from "./client-presence.js";
import {
  decodeResults,
  failureOf,
  HandBackJobError,
  JobCancelledError,
  newJobId,
  type GraphJobData,
  type GraphJobResult,
  type GraphJobs,
} from "./graph-jobs.js";
import { listJobs, summaryOfQueued, type JobListQuery, type KnownJob } from "./job-listing.js";
import type { PreparedSubmission } from "./prepare-submission.js";
import { runGraph } from "./run-graph.js";
import type { TaskReportSummary } from "./scheduler-shell.js";
import { DEFAULT_PROGRESS_INTERVAL_MS, ProgressThrottle } from "./progress-throttle.js";
import type { TaskTally } from "./task-count-tracker.js";
import { finalCounts, NO_TASKS } from "./task-counts.js";

/** A finished job's outcome. */
export type JobOutcome =
  | { readonly state: "completed"; readonly outputs: readonly Key[]; readonly values: readonly unknown[] }
  | { readonly state: "failed" | "cancelled"; readonly outputs: readonly Key[]; readonly failure: GraphJobFailure };

/** Options of {@link JobService}. */
export interface JobServiceOptions {
  /**
   * Ended jobs whose status (and, until the queue has recorded them, results) are kept in memory.
   * Default 1,000.
   */
  readonly recentOutcomes?: number;
  /**
   * Least time between two `progress` events of one job, in ms: task ends in between are reported
   * together (progress is a snapshot), so a job sends at most 1000 / `progressIntervalMs` a second
   * however fast its tasks end. The last one, as the job ends, is sent at once. 0 reports every task's
   * end. Default {@link DEFAULT_PROGRESS_INTERVAL_MS} (100: at most 10 a second).
   */
  readonly progressIntervalMs?: number;
  /**
   * How long a running job may wait for a worker able to run its tasks before its status
   * (`waitingForWorkers`) and events (`waiting-for-workers`) say so, in ms. Default 10,000.
   */
  readonly noWorkersWarningMs?: number;
}

/** A job running on this scheduler. */
interface ActiveJob {
  readonly id: string;
  readonly outputs: readonly Key[];
  readonly client: string;
  readonly submittedAt: number;
  readonly startedAt: number;
  keys: readonly Key[];
  /** Its task counts, kept as its tasks change state (O(1) to read). */
  readonly tally: TaskTally;
  /** Sends its `progress` events, at most one per interval. */
  readonly progress: ProgressThrottle;
  cancel(): void;
  /** Ends the run with `error` (the job waited past its `noWorkersTimeoutMs`), releasing what it wanted. */
  fail(error: Error): void;
}

/** A job that ended here: its outcome, counts and times. */
interface EndedJob {
  readonly state: "completed" | "failed" | "cancelled";
  readonly outputs: readonly Key[];
  readonly failure: GraphJobFailure | undefined;
  /**
   * The outcome, values included, until the durable queue has recorded it (see
   * {@link JobService.recorded}); then undefined, and results are read from the queue, so that
   * large results are not kept in the scheduler's memory for the whole retention time.
   */
  outcome: JobOutcome | undefined;
  readonly tasks: TaskCounts;
  readonly submittedAt: number;
  readonly startedAt: number;
  readonly finishedAt: number;
}

let attempt = 0;

/** The scheduler client a job's run submits as; each run of a job (one per scheduler that runs it) its own. */
function clientOf(jobId: string): string {
  return `job:${jobId}:${++attempt}`;
}

/**
 * The jobs of one scheduler process, as the HTTP API sees them: runs the graphs the durable queue
 * hands over (see `processGraphJobs`), keeps each running job's tasks and progress, tells waiting
 * requests the moment a job ends (no polling), keeps recent statuses in memory (and results until
 * the queue has recorded them), and reads the durable queue for everything else.
 */
export class JobService {
  private readonly active = new Map<string, ActiveJob>();
  /** Runs started at submission that the queue's processor has not joined yet, by job id. */
  private readonly executions = new Map<string, Promise<unknown[]>>();
  private readonly ended = new Map<string, EndedJob>();
  /** Jobs whose outputs stay held after they ended, and the client id they are held for. */
  private readonly kept = new Map<string, { client: string; outputs: readonly Key[] }>();
  /** Jobs cancelled before this scheduler started them. */
  private readonly cancelledEarly = new Set<string>();
  private readonly waiters = new Map<string, Set<(outcome: JobOutcome) => void>>();
  private readonly listeners = new Map<string, Set<(event: JobEvent) => void>>();
  /** Which active jobs each key belongs to, for routing task reports. */
  private readonly jobsOfKey = new Map<Key, Set<ActiveJob>>();
  private readonly recentOutcomes: number;
  private readonly progressIntervalMs: number;
  private readonly stopListening: () => void;
  /** Running jobs with no worker able to run them: said after a while, failed past their deadline. */
  private readonly noWorkers: NoWorkersWatch;
  /** Whether the clients of attached jobs (`clientGoneMs`) are still there. */
  private readonly presence = new ClientPresence((jobId, goneMs) =>
    this.active
      .get(jobId)
      ?.fail(
        new JobCancelledError(
          `job ${jobId} was cancelled: no client has asked for it for ${goneMs / 1000} s (its clientGoneMs), so the program that submitted it is gone`,
        ),
      ),
  );

  constructor(
    readonly scheduler: DistributedScheduler,
    readonly queue: GraphJobs,
    options: JobServiceOptions = {},
  ) {
    this.recentOutcomes = options.recentOutcomes ?? 1000;
    this.progressIntervalMs = options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
    this.stopListening = scheduler.onReport((report) => this.onReport(report));
    this.noWorkers = new NoWorkersWatch(() => scheduler.workersUnavailable(), { warningMs: options.noWorkersWarningMs }, {
      onNotice: (jobId, notice) => this.emit(jobId, notice === undefined ? { type: "workers-available" } : { type: "waiting-for-workers", ...notice }),
      onDeadline: (jobId, message) => this.active.get(jobId)?.fail(new NoWorkersError(message)),
    });
  }

  /**
   * Checks a graph and submits it as a durable job, and starts running it here at once, without
   * waiting for the queue to hand it over (which costs a Redis round trip and BullMQ's bookkeeping on
   * the critical path of a small job). When the queue does hand it over, {@link run} joins this run
   * instead of starting another; if this process dies first, the next scheduler runs the job from
   * the queue.
   *
   * The graph is checked once, here, against what the scheduler knows now: a cycle, a missing
   * dependency or output, a function no worker registered, or a key known with another computation
   * throws a `GraphError` naming the keys, and nothing is queued.
   *
   * With `options.id` (a client's idempotency key), a job this scheduler already knows by that id
   * (submitted, running, or recently ended here) is not submitted again: its id is returned. A job
   * that only the durable queue knows (submitted to a scheduler that has died since) is added once
   * (the queue keeps the first), and runs here at once, as the queue's processor then joins.
   */
  async submit(graph: Graph, outputs: readonly Key[], options: JobOptions = {}): Promise<string> {
    if (options.id !== undefined && this.knows(options.id)) return options.id;
    // The id is chosen here (unless the client did), so the run starts while the job is being added, not after.
    const jobId = options.id ?? newJobId();
    const client = clientOf(jobId);
    const prepared = this.scheduler.prepare(graph, outputs, client, { taskTimeoutMs: options.taskTimeoutMs });
    const execution = this.execute(prepared, outputs, jobId, client, Date.now(), options);
    // Failures reach the queue's processor (and from there the job's record) when it joins.
    execution.catch(() => undefined);
    this.executions.set(jobId, execution);
    try {
      await this.queue.submit(graph, outputs, { ...options, jobId });
    } catch (error) {
      // Not durable, so not accepted: the run stops and nobody will ask for it.
      this.executions.delete(jobId);
      this.active.get(jobId)?.cancel();
      this.ended.delete(jobId);
      throw error;
    }
    return jobId;
  }

  /** True when this scheduler knows the job in memory: submitted or running here, or ended here recently. */
  knows(jobId: string): boolean {
    return this.executions.has(jobId) || this.active.has(jobId) || this.ended.has(jobId);
  }

  /**
   * Runs one job's graph: what the queue's processor calls. Resolves with the outputs' values. A job
   * this process started at submission is joined, not run again. Once this scheduler has lost the
   * scheduler role, rejects with a `HandBackJobError`: the job goes back to the queue.
   */
  run(graph: Graph, outputs: readonly Key[], jobId: string, job: Job<GraphJobData, GraphJobResult>): Promise<unknown[]> {
    // Another scheduler holds the role: the job is theirs to run, not this one's to fail.
    const deposed = this.scheduler.deposed;
    if (deposed !== undefined) return Promise.reject(new HandBackJobError(`job ${jobId} handed back: this scheduler ${deposed.message}`));
    const started = this.executions.get(jobId);
    if (started !== undefined) {
      this.executions.delete(jobId);
      return started;
    }
    return this.execute(graph, outputs, jobId, clientOf(jobId), job.timestamp, job.data);
  }

  /** Runs a job's graph, or the submission {@link submit} prepared from it, for `client`. */
  private async execute(
    graph: Graph | PreparedSubmission,
    outputs: readonly Key[],
    jobId: string,
    client: string,
    submittedAt: number,
    options: JobOptions,
  ): Promise<unknown[]> {
    const keep = options.keep === true;
    if (this.cancelledEarly.delete(jobId)) throw new JobCancelledError(`job ${jobId} was cancelled`);
    let cancel!: (error: Error) => void;
    const cancelled = new Promise<never>((_, reject) => (cancel = reject));
    const record: ActiveJob = {
      id: jobId,
      outputs,
      client,
      submittedAt,
      startedAt: Date.now(),
      keys: [],
      tally: this.scheduler.followCounts(),
      progress: new ProgressThrottle(this.progressIntervalMs, () => this.emit(jobId, { type: "progress", tasks: record.tally.counts() })),
      cancel: () => record.fail(new JobCancelledError(`job ${jobId} was cancelled`)),
      fail: (error) => {
        this.scheduler.release(client, outputs);
        this.scheduler.dropClient(client);
        cancel(error);
      },
    };
    this.active.set(jobId, record);
    this.noWorkers.watch(jobId, record.startedAt, options.noWorkersTimeoutMs);
    if (options.clientGoneMs !== undefined) this.presence.watch(jobId, options.clientGoneMs);
    try {
      const running = runGraph(this.scheduler, graph, outputs, client, {
        keep,
        taskTimeoutMs: options.taskTimeoutMs,
        onSubmitted: (keys) => {
          record.keys = keys;
          record.tally.setKeys(keys);
          for (const key of keys) {
            let jobs = this.jobsOfKey.get(key);
            if (jobs === undefined) this.jobsOfKey.set(key, (jobs = new Set()));
            jobs.add(record);
          }
        },
      });
      const values = await Promise.race([running, cancelled]);
      if (keep) this.kept.set(jobId, { client, outputs });
      this.end(record, { state: "completed", outputs, values });
      return values;
    } catch (error) {
      const failure = failureOf(error as Error) ?? { error: "scheduler-error", message: (error as Error).message };
      this.end(record, { state: failure.error === "cancelled" ? "cancelled" : "failed", outputs, failure });
      throw error;
    }
  }

  /**
   * Cancels a job: a queued one is removed, a running one's outputs are released (its tasks that no
   * other job needs are cancelled on the workers); a finished job kept with `keep` has its results
   * released. False when the job is unknown or had already ended without held results.
   */
  async cancel(jobId: string): Promise<boolean> {
    const running = this.active.get(jobId);
    if (running !== undefined) {
      running.cancel();
      return true;
    }
    const kept = this.kept.get(jobId);
    if (kept !== undefined) {
      this.kept.delete(jobId);
      this.scheduler.release(kept.client, kept.outputs);
      this.scheduler.dropClient(kept.client);
      return true;
    }
    const job = await this.queue.job(jobId);
    if (job === undefined) return false;
    const state = await job.getState();
    if (state !== "waiting" && state !== "delayed" && state !== "prioritized") return state === "active";
    // Marked first: if the queue hands the job over before it is removed, `run` refuses it.
    this.cancelledEarly.add(jobId);
    await job.remove().catch(() => undefined);
    const failure: GraphJobFailure = { error: "cancelled", message: `job ${jobId} was cancelled` };
    const now = Date.now();
    this.remember(jobId, {
      state: "cancelled",
      outputs: job.data.outputs,
      failure,
      outcome: { state: "cancelled", outputs: job.data.outputs, failure },
      tasks: NO_TASKS,
      submittedAt: job.timestamp,
      startedAt: now,
      finishedAt: now,
    });
    this.notify(jobId, { state: "cancelled", outputs: job.data.outputs, failure });
    return true;
  }

  /** The job's status, or undefined when no such job is known. */
  async status(jobId: string): Promise<JobStatus | undefined> {
    const known = this.known(jobId);
    if (known !== undefined) return { ...known.summary(), outputs: known.outputs };
    const job = await this.queue.job(jobId);
    if (job === undefined) return undefined;
    const bullState = await job.getState();
    const state = bullState === "completed" || bullState === "failed" ? bullState : bullState === "active" ? "running" : "waiting";
    const failure = state === "failed" ? await this.failureOf(job) : undefined;
    const record = { id: jobId, state, submittedAt: job.timestamp, startedAt: job.processedOn, finishedAt: job.finishedOn, failure } as const;
    return { ...summaryOfQueued(record), outputs: job.data.outputs };
  }

  /**
   * A page of jobs, newest first: those this scheduler runs or recently ended, and those the durable
   * queue holds (see `listJobs`). Throws a `RangeError` for a limit out of range.
   */
  list(query: JobListQuery = {}): Promise<JobPage> {
    const known = new Map<string, KnownJob>();
    for (const id of this.ended.keys()) known.set(id, this.known(id)!);
    for (const id of this.active.keys()) known.set(id, this.known(id)!);
    return listJobs(known, this.queue, query);
  }

  /** A job running here or ended here recently: its state and outputs, and its summary on demand. */
  private known(jobId: string): (KnownJob & { readonly outputs: readonly Key[] }) | undefined {
    const running = this.active.get(jobId);
    if (running !== undefined) {
      return {
        state: "running",
        outputs: running.outputs,
        summary: () => ({
          id: jobId,
          state: "running",
          tasks: running.tally.counts(),
          submittedAt: running.submittedAt,
          startedAt: running.startedAt,
          finishedAt: undefined,
          elapsedMs: Date.now() - running.submittedAt,
          error: undefined,
          ...this.waitingForWorkers(jobId),
        }),
      };
    }
    const ended = this.ended.get(jobId);
    if (ended === undefined) return undefined;
    return {
      state: ended.state,
      outputs: ended.outputs,
      summary: () => ({
        id: jobId,
        state: ended.state,
        tasks: ended.tasks,
        submittedAt: ended.submittedAt,
        startedAt: ended.startedAt,
        finishedAt: ended.finishedAt,
        elapsedMs: ended.finishedAt - ended.submittedAt,
        error: ended.failure,
      }),
    };
  }

  /**
   * The job's outcome once it has ended, waiting up to `waitMs` for it; undefined when it has not
   * ended by then. Throws `UnknownJobError` for an unknown job. The wait counts as the job's client
   * being there (see `JobOptions.clientGoneMs`).
   */
  async outcome(jobId: string, waitMs = 0): Promise<JobOutcome | undefined> {
    const leave = this.presence.attend(jobId);
    try {
      return await this.outcomeWithin(jobId, waitMs);
    } finally {
      leave();
    }
  }

  private async outcomeWithin(jobId: string, waitMs: number): Promise<JobOutcome | undefined> {
    const known = this.ended.get(jobId)?.outcome;
    if (known !== undefined) return known;
    if (!this.active.has(jobId)) {
      const fromQueue = await this.queuedOutcome(jobId);
      if (fromQueue !== undefined) return fromQueue;
    }
    // It may have ended here while the queue was asked.
    return this.ended.get(jobId)?.outcome ?? (waitMs > 0 ? this.waitFor(jobId, waitMs) : undefined);
  }

  /** The outcome the durable queue records for a job this scheduler is not running, if it ended. */
  private async queuedOutcome(jobId: string): Promise<JobOutcome | undefined> {
    const job = await this.queue.job(jobId);
    if (job === undefined) {
      // Removed from the queue after its retention time, or never submitted, unless it ended here meanwhile.
      const ended = this.ended.get(jobId)?.outcome;
      if (ended !== undefined) return ended;
      throw new UnknownJobError(jobId);
    }
    const state = await job.getState();
    // Ended here while the queue was asked: the outcome here is complete (the queue's may lag behind).
    const ended = this.ended.get(jobId)?.outcome;
    if (ended !== undefined) return ended;
    if (state === "completed") {
      // The job was read before it completed: read it again for its return value.
      const value = job.returnvalue ?? (await this.queue.job(jobId))?.returnvalue;
      if (value === undefined || value === null) return undefined;
      return { state: "completed", outputs: job.data.outputs, values: decodeResults(value) };
    }
    if (state === "failed") {
      const failure = await this.failureOf(job);
      return { state: failure.error === "cancelled" ? "cancelled" : "failed", outputs: job.data.outputs, failure };
    }
    return undefined;
  }

  /**
   * Calls `listener` with the job's events until it ends (the last event is `done`); returns a
   * function that stops listening. Throws `UnknownJobError` for an unknown job.
   */
  async subscribe(jobId: string, listener: (event: JobEvent) => void): Promise<() => void> {
    let listeners = this.listeners.get(jobId);
    if (listeners === undefined) this.listeners.set(jobId, (listeners = new Set()));
    listeners.add(listener);
    // Following the job's events counts as its client being there (see `JobOptions.clientGoneMs`).
    const leave = this.presence.attend(jobId);
    const stop = () => {
      leave();
      listeners.delete(listener);
      if (listeners.size === 0 && this.listeners.get(jobId) === listeners) this.listeners.delete(jobId);
    };
    const status = await this.status(jobId).catch((error: unknown) => {
      stop();
      throw error;
    });
    if (status === undefined) {
      stop();
      throw new UnknownJobError(jobId);
    }
    // The job may have ended, and `done` reached the listener, while the status was read.
    if (this.listeners.get(jobId)?.has(listener) !== true) return stop;
    if (status.tasks !== undefined) listener({ type: "progress", tasks: status.tasks });
    if (status.state !== "waiting" && status.state !== "running") {
      stop();
      listener({ type: "done", state: status.state, ...(status.error === undefined ? {} : { error: status.error }) });
    }
    return stop;
  }

  /**
   * The durable queue has recorded the job's end (BullMQ's `completed` event): its result is read
   * from there from now on, and this scheduler lets go of the values.
   */
  recorded(jobId: string): void {
    const ended = this.ended.get(jobId);
    if (ended !== undefined && ended.state === "completed") ended.outcome = undefined;
  }

  /**
   * Redis lost its data (restarted empty): each running job whose durable record is gone fails with a
   * {@link JobRecordLostError}, which says to submit it again. Its result could be neither recorded
   * nor fetched, and no scheduler would run it again after a crash; a job whose record survived
   * (Redis came back from its append-only file) runs on.
   */
  async redisLostData(): Promise<void> {
    for (const [jobId, record] of [...this.active]) {
      if ((await this.queue.job(jobId)) !== undefined) continue;
      record.fail(
        new JobRecordLostError(
          `job ${jobId} failed: Redis lost its data (it restarted empty; enable its append-only file to keep jobs across restarts), ` +
            `and with it the job's durable record, so its result could not be kept; submit the job again`,
        ),
      );
    }
  }

  /** Stops listening to the scheduler; running jobs are left to the queue's processor. */
  close(): void {
    this.stopListening();
    this.noWorkers.stop();
    this.presence.stop();
  }

  /** `{ waitingForWorkers }` while the running job has a no-workers notice; else nothing. */
  private waitingForWorkers(jobId: string): { readonly waitingForWorkers?: WaitingForWorkers } {
    const notice = this.noWorkers.noticeOf(jobId);
    return notice === undefined ? {} : { waitingForWorkers: notice };
  }

  private async failureOf(job: Job<GraphJobData, GraphJobResult>): Promise<GraphJobFailure> {
    return (await this.queue.failure(job.id!).catch(() => undefined)) ?? { error: "failed", message: job.failedReason };
  }

  private waitFor(jobId: string, waitMs: number): Promise<JobOutcome | undefined> {
    return new Promise((resolve) => {
      let waiters = this.waiters.get(jobId);
      if (waiters === undefined) this.waiters.set(jobId, (waiters = new Set()));
      const timer = setTimeout(() => {
        waiters.delete(done);
        if (waiters.size === 0 && this.waiters.get(jobId) === waiters) this.waiters.delete(jobId);
        resolve(undefined);
      }, waitMs);
      const done = (outcome: JobOutcome) => {
        clearTimeout(timer);
        resolve(outcome);
      };
      waiters.add(done);
    });
  }

  private end(record: ActiveJob, outcome: JobOutcome): void {
    this.active.delete(record.id);
    record.progress.cancel();
    this.noWorkers.unwatch(record.id);
    this.presence.unwatch(record.id);
    for (const key of record.keys) {
      const jobs = this.jobsOfKey.get(key);
      jobs?.delete(record);
      if (jobs?.size === 0) this.jobsOfKey.delete(key);
    }
    // As of its end nothing of the job runs: the last report says so (progress bars show it).
    const tasks = finalCounts(record.tally.counts(), outcome.state === "completed");
    record.tally.stop();
    const failure = outcome.state === "completed" ? undefined : outcome.failure;
    this.remember(record.id, {
      state: outcome.state,
      outputs: outcome.outputs,
      failure,
      outcome,
      tasks,
      submittedAt: record.submittedAt,
      startedAt: record.startedAt,
      finishedAt: Date.now(),
    });
    this.emit(record.id, { type: "progress", tasks });
    this.notify(record.id, outcome);
  }

  private remember(jobId: string, ended: EndedJob): void {
    this.ended.set(jobId, ended);
    while (this.ended.size > this.recentOutcomes) this.ended.delete(this.ended.keys().next().value!);
  }

  private notify(jobId: string, outcome: JobOutcome): void {
    const waiters = this.waiters.get(jobId);
    this.waiters.delete(jobId);
    for (const waiter of waiters ?? []) waiter(outcome);
    const failure = outcome.state === "completed" ? undefined : outcome.failure;
    this.emit(jobId, { type: "done", state: outcome.state, ...(failure === undefined ? {} : { error: failure }) });
    this.listeners.delete(jobId);
  }

  private emit(jobId: string, event: JobEvent): void {
    for (const listener of this.listeners.get(jobId) ?? []) listener(event);
  }

  private onReport(report: TaskReportSummary): void {
    const jobs = this.jobsOfKey.get(report.key);
    if (jobs === undefined) return;
    for (const job of jobs) {
      if (report.kind === "finished") {
        this.emit(job.id, { type: "task-finished", key: report.key, worker: report.worker, durationMs: report.durationMs });
      } else {
        this.emit(job.id, { type: "task-erred", key: report.key, worker: report.worker, error: report.error });
      }
      if (this.listeners.has(job.id)) job.progress.changed();
    }
  }
}

/** No job has this id (never submitted, or removed after its retention time). */
/**
 * A running job failed because Redis lost its durable record (restarted empty, without
 * persistence). Its failure's `error` is `record-lost`.
 *
 * @example
 * if (status.failure?.error === "record-lost") await resubmit(graph);
 */
export class JobRecordLostError extends Error {
  override readonly name = "JobRecordLostError";
}

export class UnknownJobError extends Error {
  override readonly name = "UnknownJobError";
  constructor(readonly jobId: string) {
    super(`no job "${jobId}" (never submitted, or removed after its retention time)`);
  }
}
