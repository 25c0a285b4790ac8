interface Presence {
  /** Requests about the job under way now: waits for its outcome, event streams. */
  open: number;
  /** When a request about it last began or ended, in Unix ms. */
  lastSeen: number;
  /** Undefined while the job is not followed (yet): a wait may begin before its run does. */
  goneMs: number | undefined;
}

/**
 * Whether the clients of attached jobs (`JobOptions.clientGoneMs`, set by `Client.connect`) are still
 * there: a job counts as attended while a request about it is under way (a wait for its outcome, an
 * event stream) and for `clientGoneMs` after the last one. A job nobody attends for that long is
 * given to `onGone`, which cancels it: the program that wanted it is gone (it exited, or it was
 * killed), and after a scheduler restart the job is not run again for nobody — Dask releases a
 * departed client's futures the same way.
 *
 * @example
 * ```ts
 * const presence = new ClientPresence((jobId, ms) => cancel(jobId, `no client asked for it for ${ms} ms`));
 * presence.watch("job-1", 60_000);
 * const leave = presence.attend("job-1"); // a wait for its result begins
 * leave(); // and ends
 * ```
 */
export class ClientPresence {
  private readonly jobs = new Map<string, Presence>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly onGone: (jobId: string, goneMs: number) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Follows an attached job from now on, as attended now (and by the requests about it already under
   * way: a client reconnecting to a restarted scheduler waits before the job runs again).
   */
  watch(jobId: string, goneMs: number): void {
    if (!Number.isInteger(goneMs) || goneMs < 1) throw new RangeError(`clientGoneMs must be a whole number >= 1, got ${goneMs}`);
    const presence = this.jobs.get(jobId);
    if (presence === undefined) this.jobs.set(jobId, { open: 0, lastSeen: this.now(), goneMs });
    else Object.assign(presence, { lastSeen: this.now(), goneMs });
    this.timer ??= setInterval(() => this.check(), 1_000).unref();
  }

  /** The job ended: nothing to follow. */
  unwatch(jobId: string): void {
    const presence = this.jobs.get(jobId);
    if (presence === undefined) return;
    if (presence.open > 0) presence.goneMs = undefined;
    else this.jobs.delete(jobId);
  }

  /** A request about the job begins; call the function returned when it ends. */
  attend(jobId: string): () => void {
    let presence = this.jobs.get(jobId);
    if (presence === undefined) this.jobs.set(jobId, (presence = { open: 0, lastSeen: this.now(), goneMs: undefined }));
    const attended = presence;
    attended.open++;
    attended.lastSeen = this.now();
    let left = false;
    return () => {
      if (left) return;
      left = true;
      attended.open--;
      attended.lastSeen = this.now();
      if (attended.open === 0 && attended.goneMs === undefined && this.jobs.get(jobId) === attended) this.jobs.delete(jobId);
    };
  }

  /** Gives `onGone` every job nobody has attended for its `clientGoneMs`. */
  check(): void {
    const now = this.now();
    for (const [jobId, presence] of [...this.jobs]) {
      const goneMs = presence.goneMs;
      if (goneMs === undefined || presence.open > 0 || now - presence.lastSeen < goneMs) continue;
      this.jobs.delete(jobId);
      this.onGone(jobId, goneMs);
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
