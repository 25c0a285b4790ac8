import type { Key } from "../graph/task-spec.js";
import type { TaskFailure } from "./task-failure.js";

// What the scheduler's job API says about jobs and workers: the shapes of its replies and events,
// shared by the scheduler that sends them, the client that reads them, and the CLI that prints them.

/** The `JobOptions.clientGoneMs` of the jobs `Client.connect` submits: 60,000 ms. */
export const DEFAULT_CLIENT_GONE_MS = 60_000;

/**
 * The port the scheduler's HTTP API listens on unless told otherwise (on 127.0.0.1).
 *
 * @example
 * ```ts
 * const url = process.env.WEFT_URL ?? `http://127.0.0.1:${DEFAULT_HTTP_PORT}`;
 * ```
 */
export const DEFAULT_HTTP_PORT = 8786;

/**
 * Options of a job, given when it is submitted: the `POST /v1/jobs` body's fields beside the graph,
 * and what a client's computations carry.
 *
 * @example
 * ```ts
 * const options: JobOptions = { taskTimeoutMs: 60_000 };
 * ```
 */
export interface JobOptions {
  /**
   * The job's id, chosen by the submitter as an idempotency key: a submission with an id the
   * scheduler already knows creates no second job, so one whose reply was lost can be sent again.
   * Letters, digits, `-` and `_`, at most 128, not all digits (`newJobId()` makes one). Default: the
   * scheduler chooses a fresh id.
   */
  readonly id?: string;
  /** Keep the outputs' results on the workers after the job, until it is released. Default false. */
  readonly keep?: boolean;
  /**
   * Timeout of each of the job's tasks that has none of its own, in ms (see `TaskOptions.timeoutMs`):
   * a task running longer fails with a `TaskTimeoutError`, and its worker thread is replaced. A whole
   * number from 1 to 2,147,483,647. Default: none.
   */
  readonly taskTimeoutMs?: number;
  /**
   * Fail the job (`no-workers`) once it has waited this long, in ms, with no worker able to run its
   * tasks: none joined, the last one left, or every one is paused at its memory limit. Default: it
   * waits for workers as long as it takes (its status says that it waits, see
   * {@link JobSummary.waitingForWorkers}).
   */
  readonly noWorkersTimeoutMs?: number;
  /**
   * Cancel the job once no client has asked about it for this long, in ms: no wait for its outcome
   * (`GET /v1/jobs/{id}/result?wait=`, the submission's own `?wait=`) and no event stream open, and
   * none ended for this long. A job of a program that is gone is then not run for nobody, nor run
   * again after a scheduler restart; its status says why it was cancelled. `Client.connect` sets it
   * ({@link DEFAULT_CLIENT_GONE_MS}) and keeps a wait open while it computes. Default: none, the
   * job runs to its end whoever asks (`weft submit --detach`, say).
   */
  readonly clientGoneMs?: number;
}

/**
 * A job waiting longer than the scheduler's no-workers warning (`--no-workers-warning`, 10 s by
 * default) for a worker able to run its tasks.
 *
 * @example
 * ```ts
 * const notice: WaitingForWorkers = { since: 1767225600000, message: "no worker has been able to run this job's tasks for 10.2 s: no worker has joined the scheduler; it waits for workers" };
 * ```
 */
export interface WaitingForWorkers {
  /** Unix ms since when it has waited. */
  readonly since: number;
  /** What it waits for, and why. */
  readonly message: string;
}

/**
 * How many of a job's tasks are in each state.
 *
 * @example
 * ```ts
 * const counts: TaskCounts = { total: 4, waiting: 1, queued: 0, processing: 1, finished: 2, erred: 0, released: 0 };
 * ```
 */
export interface TaskCounts {
  readonly total: number;
  readonly waiting: number;
  readonly queued: number;
  readonly processing: number;
  readonly finished: number;
  readonly erred: number;
  /** Known but not needed now: a task whose result was dropped, or whose job ended before it ran. */
  readonly released: number;
}

/** Every {@link JobState}, in the order a job may go through them. */
export const JOB_STATES = ["waiting", "running", "completed", "failed", "cancelled"] as const;

/** Where a job is: queued, running on a scheduler, or finished one way or another. */
export type JobState = (typeof JOB_STATES)[number];

/**
 * Why a job failed, as its status and event stream say it (and as the durable queue records it, so
 * that the task's key and remote stack outlive the scheduler that saw them).
 *
 * @example
 * ```ts
 * const failure: GraphJobFailure = { error: "task-failed", message: "boom", key: "inc-1", task: { name: "Error", message: "boom" } };
 * ```
 */
export interface GraphJobFailure {
  /** `task-failed`, `cancelled`, or a `GraphError` code. */
  readonly error: string;
  readonly message: string;
  /** For a task failure: the key that could not be computed. */
  readonly key?: Key;
  /** For a task failure: the error as thrown on the worker (class name, message, stack, blamed input). */
  readonly task?: TaskFailure;
}

/**
 * A job as `GET /v1/jobs` lists it: its status without its outputs (a job may have 100,000). Times
 * are Unix milliseconds.
 *
 * @example
 * ```ts
 * const { jobs }: JobPage = await (await fetch(`${url}/v1/jobs?state=failed`, { headers })).json();
 * for (const job of jobs) console.log(job.id, job.error?.message);
 * ```
 */
export interface JobSummary {
  readonly id: string;
  readonly state: JobState;
  /** Counts of the job's tasks (after optimization); undefined when this scheduler did not run it. */
  readonly tasks: TaskCounts | undefined;
  readonly submittedAt: number;
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
  /** Time from submission to the end, or to now while it runs. */
  readonly elapsedMs: number;
  readonly error: GraphJobFailure | undefined;
  /** Present while the running job has waited for a worker able to run its tasks longer than the scheduler's warning. */
  readonly waitingForWorkers?: WaitingForWorkers;
}

/**
 * A job's status: what `GET /v1/jobs/:id` returns.
 *
 * @example
 * ```ts
 * const status: JobStatus = await (await fetch(`${url}/v1/jobs/${id}`, { headers })).json();
 * if (status.state === "failed") console.error(status.error?.message);
 * ```
 */
export interface JobStatus extends JobSummary {
  readonly outputs: readonly Key[];
}

/**
 * One page of `GET /v1/jobs`: jobs newest first (by submission), and the cursor of the next page.
 *
 * @example
 * ```ts
 * let page: JobPage = await transport.jobs({ state: ["failed"] });
 * while (page.next !== undefined) page = await transport.jobs({ state: ["failed"], cursor: page.next });
 * ```
 */
export interface JobPage {
  readonly jobs: readonly JobSummary[];
  /** Pass as `cursor` for the jobs submitted before the last one here; undefined on the last page. */
  readonly next: string | undefined;
}

/**
 * What a job's event stream (`GET /v1/jobs/:id/events`) carries; the last event is `done`.
 *
 * @example
 * ```ts
 * for await (const event of transport.events(job)) if (event.type === "progress") console.log(event.tasks.finished);
 * ```
 */
export type JobEvent =
  | { readonly type: "progress"; readonly tasks: TaskCounts }
  | { readonly type: "task-finished"; readonly key: Key; readonly worker: string; readonly durationMs: number }
  | { readonly type: "task-erred"; readonly key: Key; readonly worker: string; readonly error: TaskFailure }
  /** The job has waited longer than the scheduler's warning for a worker able to run its tasks. */
  | ({ readonly type: "waiting-for-workers" } & WaitingForWorkers)
  /** After `waiting-for-workers`: a worker can run its tasks again. */
  | { readonly type: "workers-available" }
  | { readonly type: "done"; readonly state: JobState; readonly error?: GraphJobFailure };

/**
 * A worker as `GET /v1/workers` lists it.
 *
 * @example
 * ```ts
 * const busy = (await client.workers()).filter((w) => w.running > 0);
 * ```
 */
export interface WorkerInfo {
  readonly id: string;
  readonly nthreads: number;
  /** Tasks waiting in its queue, not taken yet. */
  readonly queued: number;
  /** Tasks it has taken and not finished. */
  readonly running: number;
  /** Results it holds. */
  readonly results: number;
  /** Bytes of the results it holds (not its process's memory: see {@link rssBytes}). */
  readonly memoryBytes: number;
  /**
   * Its process's resident memory (RSS) in bytes, as the worker measured it at its last heartbeat
   * (about a second ago with the default heartbeat); 0 when it has not reported one.
   */
  readonly rssBytes: number;
  /**
   * True while it takes no new tasks because its resident memory is at the pause fraction (80%) of
   * its memory limit; the scheduler sends it nothing meanwhile.
   */
  readonly paused: boolean;
  /** Its memory limit in bytes (`--memory-limit`); absent when it has none. */
  readonly memoryLimitBytes?: number;
  /** Where its data server listens (empty for an in-process worker). */
  readonly address: string;
  readonly pid: number;
  /** Task functions it registered. */
  readonly functions: number;
}
