/** Default {@link ProgressThrottle} interval: at most 10 progress reports per second per job. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 100;

/**
 * Coalesces progress reports: {@link changed} says the counts moved, and `send` runs at most once per
 * `intervalMs`, the first change at once and the changes of the following interval together at its
 * end, so a job whose tasks end by the thousand per second still sends about 1000 / `intervalMs`
 * reports a second. Progress is a snapshot: the reports left out are superseded by the one sent. The
 * last report of a job is not throttled: the owner calls {@link cancel} and sends it at once.
 *
 * @example
 * ```ts
 * const throttle = new ProgressThrottle(100, () => emit({ type: "progress", tasks: tally.counts() }));
 * onTaskEnded(() => throttle.changed());
 * onJobEnded(() => { throttle.cancel(); emit(finalProgress); });
 * ```
 */
export class ProgressThrottle {
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    /** Least time between two reports, in ms; 0 sends every change at once. */
    private readonly intervalMs: number,
    private readonly send: () => void,
    /** Milliseconds on a monotonic clock. Default `performance.now`. */
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(intervalMs >= 0)) throw new RangeError(`a progress interval must be >= 0 ms, got ${intervalMs}`);
  }

  /** The counts changed: report now if the interval has passed, else once it has (one report for all). */
  changed(): void {
    if (this.timer !== undefined) return;
    const wait = this.lastSentAt + this.intervalMs - this.now();
    if (wait <= 0) {
      this.fire();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.fire();
    }, wait);
  }

  /** Drops a pending report (the job ended: its owner sends the last one itself). */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private fire(): void {
    this.lastSentAt = this.now();
    this.send();
  }
}
