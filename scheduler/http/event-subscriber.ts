import type { ServerResponse } from "node:http";
import type { JobFeed } from "./job-feed.js";

/**
 * One connection following a job's events (see `JobFeed`): it is handed the feed's batches of task
 * events one at a time while its connection takes them (a batch, about 64 KiB at most, beyond what
 * the connection's buffer holds), then the latest progress snapshot if it changed, and at the end
 * `done`. While it does not read, nothing more is written to it: the feed keeps its place, and the
 * snapshots it misses are superseded by the latest.
 *
 * @example
 * ```ts
 * feed.attach(new EventSubscriber(reply.raw, feed, request.query.events === "all"));
 * ```
 */
export class EventSubscriber {
  /** Number of the next batch of the feed's log to hand it. */
  next = 0;
  /** The feed's progress count when it was last sent a snapshot. */
  private progressSent = 0;
  /** Since when its connection has taken nothing more (monotonic ms); undefined while it takes what it is sent. */
  private blockedSince: number | undefined;
  /** Nothing more is written to it. */
  private closed = false;

  constructor(
    private readonly response: ServerResponse,
    private readonly feed: JobFeed,
    /** False for a subscriber of progress and `done` alone. */
    readonly wantsTasks: boolean,
  ) {
    response.on("close", () => {
      this.closed = true;
      feed.leave(this);
    });
    response.on("drain", () => {
      this.blockedSince = undefined;
      this.pump();
    });
  }

  /** Hands it what it has not been given, as far as its connection takes it; then `done` if the job ended. */
  pump(): void {
    if (this.closed) return;
    const feed = this.feed;
    if (!this.wantsTasks) this.next = feed.end;
    while (this.blockedSince === undefined && this.next < feed.end) this.write(feed.batch(this.next++));
    if (this.next < feed.end) return;
    const done = feed.doneFrame;
    // A snapshot waits for the connection to take what it was given, unless it is the last.
    if (feed.progressCount !== this.progressSent && feed.latestProgress !== undefined && (this.blockedSince === undefined || done !== undefined)) {
      this.progressSent = feed.progressCount;
      this.write(feed.latestProgress);
    }
    if (done !== undefined) {
      this.closed = true;
      this.response.end(done);
    }
  }

  /** Disconnects it when it is too far behind, or has taken nothing for too long, saying why. */
  check(now: number): void {
    if (this.closed) return;
    const { maxBufferedBytes, stallTimeoutMs, logger } = this.feed.settings;
    const buffered = this.response.writableLength;
    const behind = (this.wantsTasks ? this.feed.behind(this.next) : 0) + buffered;
    const blockedMs = this.blockedSince === undefined ? 0 : now - this.blockedSince;
    let reason: string;
    if (behind > maxBufferedBytes) reason = `${behind} bytes of events unread, more than the ${maxBufferedBytes} allowed`;
    else if (blockedMs > stallTimeoutMs) reason = `read nothing for ${Math.round(blockedMs)} ms, longer than the ${stallTimeoutMs} ms allowed`;
    else return;
    logger?.warn(`disconnected a subscriber of job ${this.feed.jobId}'s events: ${reason}`, {
      job: this.feed.jobId,
      unreadBytes: behind,
      blockedMs: Math.round(blockedMs),
      remote: this.response.socket?.remoteAddress,
    });
    // Destroyed, not ended: what it has not read is dropped, and the memory with it.
    this.closed = true;
    this.response.destroy();
    this.feed.leave(this);
  }

  /** A comment, so that proxies keep an idle stream open. */
  keepAlive(): void {
    if (!this.closed && this.blockedSince === undefined) this.write(": keep-alive\n\n");
  }

  private write(data: Buffer | string): void {
    if (!this.response.write(data) && this.blockedSince === undefined) this.blockedSince = performance.now();
  }
}
