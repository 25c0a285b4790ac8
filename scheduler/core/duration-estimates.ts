/** Tasks grouped for duration estimates (Dask's "task prefix"): usually those of one function. */
export class TaskPrefix {
  /** Moving average of measured durations in ms; undefined until one finished. */
  averageMs: number | undefined = undefined;

  constructor(readonly name: string) {}
}

/**
 * How long tasks take, learned from the tasks that finish: an exponential moving average per task
 * prefix, and one over all tasks. Tasks hold their {@link TaskPrefix}, so recording a duration is a
 * field update, not a map lookup per task.
 */
export class DurationEstimates {
  private readonly prefixes = new Map<string, TaskPrefix>();
  private last: TaskPrefix | undefined;
  private overall: number | undefined;

  constructor(
    /** Assumed for a prefix never seen to finish, in ms. */
    private readonly defaultMs: number,
    /** Weight of the newest measurement. */
    private readonly alpha = 0.2,
  ) {}

  /** The prefix record for `name`, created on first use. Consecutive tasks mostly share one. */
  prefix(name: string): TaskPrefix {
    if (this.last?.name === name) return this.last;
    let prefix = this.prefixes.get(name);
    if (prefix === undefined) this.prefixes.set(name, (prefix = new TaskPrefix(name)));
    this.last = prefix;
    return prefix;
  }

  /** Estimated duration of a task of this prefix, in ms. */
  of(prefix: TaskPrefix): number {
    return prefix.averageMs ?? this.overall ?? this.defaultMs;
  }

  /** Average duration over all tasks, in ms; the default until something finished. */
  get average(): number {
    return this.overall ?? this.defaultMs;
  }

  record(prefix: TaskPrefix, durationMs: number): void {
    if (!(durationMs >= 0)) return;
    const old = prefix.averageMs;
    prefix.averageMs = old === undefined ? durationMs : old + this.alpha * (durationMs - old);
    this.overall = this.overall === undefined ? durationMs : this.overall + this.alpha * (durationMs - this.overall);
  }
}
