/** Tuning of the scheduling core. Every field is optional; see each default. */
export interface SchedulerConfig {
  /**
   * A worker is given about `nthreads × saturation` tasks at a time; the rest wait in the scheduler
   * in priority order (Dask's queuing), so a worker never hoards work another could steal, and root
   * tasks are not all started at once. Default 1.1, as in Dask.
   */
  readonly saturation?: number;
  /**
   * For tasks measured to be short, the per-worker limit is raised so that each thread holds about
   * this many milliseconds of work: otherwise the round trip between scheduler and worker, not the
   * tasks, would set the pace. Default 5.
   */
  readonly fillMs?: number;
  /** Upper bound on tasks given to one thread at once, however short they are. Default 1000. */
  readonly maxTasksPerThread?: number;
  /** Duration assumed for a task of a kind never seen to finish, in ms. Default 1. */
  readonly defaultTaskDurationMs?: number;
  /** Bandwidth between workers used to cost data transfers, in bytes per second. Default 100 MB/s. */
  readonly bandwidth?: number;
  /** Fixed cost of fetching one input from another worker, in ms, on top of bytes ÷ bandwidth. Default 1. */
  readonly transferLatencyMs?: number;
  /**
   * A task is stolen only if moving it costs no more than this fraction of its compute time.
   * Default 0.5: the transfer must take at most half as long as the task itself.
   */
  readonly maxStealTransferRatio?: number;
  /**
   * Deaths of workers running a task before the task fails with a "killed workers" error instead of
   * being retried elsewhere. Default 3.
   */
  readonly allowedWorkerDeaths?: number;
  /**
   * How long a result a worker named in its account, that no known task claims (see
   * `unclaimed-results.ts`), is kept for a submission that may claim it before it is released, in
   * ms. A scheduler that took over from another gets its jobs again from the durable queue within
   * the queue's lock duration (10 s by default); the default leaves room for that. Default 60,000.
   */
  readonly unclaimedResultTtlMs?: number;
}

/** {@link SchedulerConfig} with every default filled in. */
export type ResolvedSchedulerConfig = Required<SchedulerConfig>;

/** Fills in the defaults and checks the ranges. */
export function resolveSchedulerConfig(config: SchedulerConfig = {}): ResolvedSchedulerConfig {
  const resolved: ResolvedSchedulerConfig = {
    saturation: config.saturation ?? 1.1,
    fillMs: config.fillMs ?? 5,
    maxTasksPerThread: config.maxTasksPerThread ?? 1000,
    defaultTaskDurationMs: config.defaultTaskDurationMs ?? 1,
    bandwidth: config.bandwidth ?? 100e6,
    transferLatencyMs: config.transferLatencyMs ?? 1,
    maxStealTransferRatio: config.maxStealTransferRatio ?? 0.5,
    allowedWorkerDeaths: config.allowedWorkerDeaths ?? 3,
    unclaimedResultTtlMs: config.unclaimedResultTtlMs ?? 60_000,
  };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`scheduler config ${name} must be a finite number >= 0, got ${value}`);
    }
  }
  if (resolved.saturation <= 0) throw new RangeError(`scheduler config saturation must be > 0`);
  if (resolved.allowedWorkerDeaths < 1) throw new RangeError(`scheduler config allowedWorkerDeaths must be >= 1`);
  return resolved;
}
