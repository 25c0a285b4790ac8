/**
 * How long tasks take, learned from the tasks that finish: an exponential moving average per task
 * prefix (usually the function name, as in Dask's task prefixes), and one over all tasks.
 */
export class DurationEstimates {
  private readonly byPrefix = new Map<string, number>();
  private overall: number | undefined;

  constructor(
    /** Assumed for a prefix never seen to finish, in ms. */
    private readonly defaultMs: number,
    /** Weight of the newest measurement. */
    private readonly alpha = 0.2,
  ) {}

  /** Estimated duration of a task of this prefix, in ms. */
  of(prefix: string): number {
    return this.byPrefix.get(prefix) ?? this.overall ?? this.defaultMs;
  }

  /** Average duration over all tasks, in ms; the default until something finished. */
  get average(): number {
    return this.overall ?? this.defaultMs;
  }

  record(prefix: string, durationMs: number): void {
    if (!(durationMs >= 0)) return;
    const old = this.byPrefix.get(prefix);
    this.byPrefix.set(prefix, old === undefined ? durationMs : old + this.alpha * (durationMs - old));
    this.overall = this.overall === undefined ? durationMs : this.overall + this.alpha * (durationMs - this.overall);
  }
}
