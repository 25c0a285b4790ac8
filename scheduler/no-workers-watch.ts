import type { WaitingForWorkers } from "../protocol/job-api.js";

/**
 * A job (or a client's computation) waited past its `noWorkersTimeoutMs` with no worker able to run
 * its tasks; the message says how long and why (none joined, all gone, all paused).
 *
 * @example
 * ```ts
 * const client = await Client.connect(url, { token, noWorkersTimeoutMs: 30_000 });
 * await client.compute(total).catch((error) => { if (error instanceof NoWorkersError) console.error(error.message); });
 * ```
 */
export class NoWorkersError extends Error {
  override readonly name = "NoWorkersError";
}

/** Default {@link NoWorkersWatchOptions.warningMs}: 10 s. */
export const DEFAULT_NO_WORKERS_WARNING_MS = 10_000;

/**
 * Since when no worker could take tasks, and why; what {@link NoWorkersWatch} asks its scheduler.
 * Undefined while some worker can.
 */
export interface WorkersUnavailable {
  /** Unix ms since when no worker could take tasks. */
  readonly since: number;
  /** Why, for operators: `no worker has joined the scheduler`, say. */
  readonly reason: string;
}

/** Options of a {@link NoWorkersWatch}. */
export interface NoWorkersWatchOptions {
  /**
   * How long a job may wait for a worker able to run its tasks before its status and events say so,
   * in ms. Default {@link DEFAULT_NO_WORKERS_WARNING_MS} (10,000).
   */
  readonly warningMs?: number;
  /** How often jobs are looked at, in ms. Default: a quarter of `warningMs`, at most 1,000. */
  readonly checkMs?: number;
}

/** What the watch tells its owner. */
export interface NoWorkersHooks {
  /** The job has waited longer than the warning (`notice`), or a worker can run it again (undefined). */
  readonly onNotice: (jobId: string, notice: WaitingForWorkers | undefined) => void;
  /** The job has waited past its own deadline: it must fail with this message. */
  readonly onDeadline: (jobId: string, message: string) => void;
}

interface Watched {
  readonly startedAt: number;
  readonly deadlineMs: number | undefined;
  notice: WaitingForWorkers | undefined;
}

/**
 * Watches running jobs for the one fault nothing else reports: no worker able to run their tasks
 * (none joined, the last one left, every one paused at its memory limit, or a nanny gave up on its
 * crashing workers). A job that has waited longer than `warningMs` gets a notice, which its status
 * and events carry until a worker can take work again; a job submitted with a `noWorkersTimeoutMs`
 * fails once it has waited that long. The scheduling core keeps no clock, so this timer lives here,
 * in the shell; the waiting time of a job counts from when it started or when the workers went,
 * whichever is later.
 *
 * @example
 * ```ts
 * const watch = new NoWorkersWatch(() => scheduler.workersUnavailable(), { warningMs: 10_000 }, hooks);
 * watch.watch(jobId, Date.now(), 60_000);
 * ```
 */
export class NoWorkersWatch {
  private readonly jobs = new Map<string, Watched>();
  private readonly warningMs: number;
  private readonly checkMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly unavailable: () => WorkersUnavailable | undefined,
    options: NoWorkersWatchOptions,
    private readonly hooks: NoWorkersHooks,
  ) {
    this.warningMs = options.warningMs ?? DEFAULT_NO_WORKERS_WARNING_MS;
    if (!(this.warningMs >= 0) || !Number.isFinite(this.warningMs)) throw new RangeError(`warningMs must be a finite number >= 0, got ${this.warningMs}`);
    this.checkMs = options.checkMs ?? Math.max(10, Math.min(1_000, this.warningMs / 4));
  }

  /** Watches a job that started at `startedAt` (Unix ms); it fails after `deadlineMs` without workers, if given. */
  watch(jobId: string, startedAt: number, deadlineMs?: number): void {
    this.jobs.set(jobId, { startedAt, deadlineMs, notice: undefined });
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.check(), this.checkMs);
      // Nothing to keep a process alive for: a job waits on its own promises.
      this.timer.unref();
    }
  }

  /** The job ended (or left this scheduler). */
  unwatch(jobId: string): void {
    this.jobs.delete(jobId);
    if (this.jobs.size === 0) this.stop();
  }

  /** The job's notice, while it has one. */
  noticeOf(jobId: string): WaitingForWorkers | undefined {
    return this.jobs.get(jobId)?.notice;
  }

  /** Stops watching every job. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    const unavailable = this.unavailable();
    const now = Date.now();
    for (const [jobId, job] of [...this.jobs]) {
      if (unavailable === undefined) {
        if (job.notice !== undefined) {
          job.notice = undefined;
          this.hooks.onNotice(jobId, undefined);
        }
        continue;
      }
      const since = Math.max(job.startedAt, unavailable.since);
      const waitedMs = now - since;
      if (job.deadlineMs !== undefined && waitedMs >= job.deadlineMs) {
        this.unwatch(jobId);
        this.hooks.onDeadline(
          jobId,
          `no worker could run job ${jobId}'s tasks for ${seconds(waitedMs)} (${unavailable.reason}); ` +
            `it fails after its noWorkersTimeoutMs of ${job.deadlineMs} ms`,
        );
        continue;
      }
      if (job.notice === undefined && waitedMs >= this.warningMs) {
        job.notice = {
          since,
          message: `no worker has been able to run this job's tasks for ${seconds(waitedMs)}: ${unavailable.reason}; it waits for workers`,
        };
        this.hooks.onNotice(jobId, job.notice);
      }
    }
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
