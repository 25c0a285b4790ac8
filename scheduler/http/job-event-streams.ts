import type { ServerResponse } from "node:http";
import type { JobEvent } from "../../protocol/job-api.js";
import type { Logger } from "../../protocol/logger.js";
import type { JobService } from "../job-service.js";

/** Default {@link JobEventStreamOptions.maxBufferedBytes}: 1 MiB. */
export const DEFAULT_EVENT_BUFFER_BYTES = 1024 * 1024;
/** Default {@link JobEventStreamOptions.stallTimeoutMs}: one minute. */
export const DEFAULT_EVENT_STALL_MS = 60_000;
/** Default {@link JobEventStreamOptions.flushIntervalMs}. */
export const DEFAULT_EVENT_FLUSH_MS = 100;
/** How often an idle event stream sends a comment, so proxies do not close it. */
const KEEP_ALIVE_MS = 15_000;
/** Task events gathered past this many bytes are sent at once rather than at the next flush. */
const FLUSH_BYTES = 64 * 1024;

/** Options of {@link JobEventStreams}. */
export interface JobEventStreamOptions {
  /**
   * Most bytes of events one subscriber may leave unread in the scheduler (beyond what the operating
   * system buffers for its connection) before it is disconnected, with a warning logged. Progress
   * never adds to it: a subscriber that does not keep up gets only the latest snapshot once it does.
   * Default {@link DEFAULT_EVENT_BUFFER_BYTES} (1 MiB).
   */
  readonly maxBufferedBytes?: number;
  /**
   * How long a subscriber may stay blocked (reading nothing while events wait for it) before it is
   * disconnected, with a warning logged, in ms. Default {@link DEFAULT_EVENT_STALL_MS} (60 s).
   */
  readonly stallTimeoutMs?: number;
  /**
   * Longest time a `task-finished` or `task-erred` event waits to be sent with others, in ms (they go
   * out together with the job's next `progress` event, or sooner past 64 KiB). Default
   * {@link DEFAULT_EVENT_FLUSH_MS} (100).
   */
  readonly flushIntervalMs?: number;
  /** Where disconnections are explained. Default: not logged. */
  readonly logger?: Logger;
}

/** One Server-Sent Event, as sent. */
function frame(event: JobEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/**
 * The Server-Sent Event streams of jobs (`GET /v1/jobs/:id/events`). However many clients follow a
 * job, the scheduler subscribes to it once and encodes each event once; events are sent in batches,
 * each batch one buffer shared by every subscriber's connection, so following costs the scheduler
 * O(1) per task plus O(subscribers) per batch (at most about 10 a second), not O(subscribers) per task.
 *
 * A subscriber that reads slowly, or not at all, cannot make the scheduler hold more than a bound for
 * it: progress is a snapshot, so it is given only the latest one once it catches up (superseded ones
 * are dropped); task events, which cannot be dropped, count against `maxBufferedBytes`, and a
 * subscriber past it, or blocked longer than `stallTimeoutMs`, is disconnected and the reason logged.
 *
 * @example
 * ```ts
 * const streams = new JobEventStreams(jobs, { logger });
 * const attach = await streams.open(jobId); // throws UnknownJobError for a job nobody knows
 * reply.hijack();
 * attach(reply.raw);
 * ```
 */
export class JobEventStreams {
  private readonly feeds = new Map<string, JobFeed>();
  readonly maxBufferedBytes: number;
  readonly stallTimeoutMs: number;
  readonly flushIntervalMs: number;
  readonly logger: Logger | undefined;

  constructor(
    private readonly jobs: JobService,
    options: JobEventStreamOptions = {},
  ) {
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_EVENT_BUFFER_BYTES;
    this.stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_EVENT_STALL_MS;
    this.flushIntervalMs = options.flushIntervalMs ?? DEFAULT_EVENT_FLUSH_MS;
    this.logger = options.logger;
  }

  /**
   * Subscribes to the job's events if nobody does yet; throws `UnknownJobError` for an unknown job.
   * Resolves with the function that streams them to a response (writing its head): call it in the
   * same turn of the event loop.
   */
  async open(jobId: string): Promise<(response: ServerResponse) => void> {
    let feed = this.feeds.get(jobId);
    if (feed === undefined) {
      feed = new JobFeed(jobId, this, () => this.feeds.get(jobId) === feed && this.feeds.delete(jobId));
      this.feeds.set(jobId, feed);
      feed.ready = this.jobs.subscribe(jobId, (event) => feed!.push(event)).then(
        (stop) => feed!.started(stop),
        (error: unknown) => {
          feed!.close();
          throw error;
        },
      );
    }
    await feed.ready;
    const joined = feed;
    return (response) => {
      response.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        connection: "keep-alive",
        "x-accel-buffering": "no",
      });
      joined.attach(new Subscriber(response, joined, this));
    };
  }

  /** Subscribers connected now, over all jobs; for tests and metrics. */
  get subscribers(): number {
    let count = 0;
    for (const feed of this.feeds.values()) count += feed.size;
    return count;
  }
}

/** One job's events, shared by its subscribers. */
class JobFeed {
  ready: Promise<void> = Promise.resolve();
  private readonly subscribers = new Set<Subscriber>();
  /** Subscribers whose first batch starts part way into `pending` (they joined after those events). */
  private readonly skips = new Map<Subscriber, number>();
  /** Task events since the last flush, encoded. */
  private pending: string[] = [];
  private pendingBytes = 0;
  /** The latest progress event, encoded; sent to newcomers at once. */
  latestProgress: Buffer | undefined;
  private progressChanged = false;
  private doneFrame: Buffer | undefined;
  private stopListening: (() => void) | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private keepAlive: NodeJS.Timeout | undefined;
  /** True once the first subscriber attached: until then its own early events are all pending for it. */
  private opened = false;

  constructor(
    readonly jobId: string,
    private readonly streams: JobEventStreams,
    private readonly forget: () => void,
  ) {}

  get size(): number {
    return this.subscribers.size;
  }

  started(stop: () => void): void {
    this.stopListening = stop;
    if (this.doneFrame !== undefined) stop();
  }

  push(event: JobEvent): void {
    switch (event.type) {
      case "progress":
        this.latestProgress = Buffer.from(frame(event));
        this.progressChanged = true;
        // Progress comes at most about 10 times a second (see JobService): a batch goes with each.
        this.flush();
        return;
      case "done":
        this.doneFrame = Buffer.from(frame(event));
        this.end();
        return;
      default: {
        const text = frame(event);
        this.pending.push(text);
        this.pendingBytes += text.length;
        if (this.pendingBytes >= FLUSH_BYTES) this.flush();
        else this.flushTimer ??= setTimeout(() => this.flush(), this.streams.flushIntervalMs).unref();
      }
    }
  }

  attach(subscriber: Subscriber): void {
    // The first subscriber gets everything the job said since the feed subscribed; later ones its
    // latest progress, then what it says from now on.
    const first = !this.opened;
    this.opened = true;
    this.subscribers.add(subscriber);
    if (!first) {
      if (this.pending.length > 0) this.skips.set(subscriber, this.pending.length);
      // A changed snapshot goes out with the next batch, to everyone.
      if (this.latestProgress !== undefined && !this.progressChanged) subscriber.write(this.latestProgress);
    }
    if (this.doneFrame !== undefined) {
      // The job has ended: what is left, then done.
      this.end();
      return;
    }
    this.keepAlive ??= setInterval(() => {
      for (const s of this.subscribers) s.keepAlive();
    }, KEEP_ALIVE_MS).unref();
    if (this.pending.length > 0 || this.progressChanged) this.flush();
  }

  /** A subscriber went away (closed its connection, or was disconnected). */
  leave(subscriber: Subscriber): void {
    this.subscribers.delete(subscriber);
    this.skips.delete(subscriber);
    if (this.subscribers.size === 0 && this.doneFrame === undefined) this.close();
  }

  /** Sends the task events gathered and the latest progress, if it changed, to every subscriber. */
  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.subscribers.size === 0) return;
    const texts = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const tasks = texts.length === 0 ? undefined : Buffer.from(texts.join(""));
    const progress = this.progressChanged ? this.latestProgress : undefined;
    this.progressChanged = false;
    for (const subscriber of [...this.subscribers]) {
      const skip = this.skips.get(subscriber);
      if (skip === undefined) subscriber.send(tasks, progress);
      else {
        this.skips.delete(subscriber);
        subscriber.send(skip < texts.length ? Buffer.from(texts.slice(skip).join("")) : undefined, progress);
      }
    }
  }

  /** The job ended: everything gathered, its last progress, and done, to every subscriber; then closes. */
  private end(): void {
    if (this.subscribers.size === 0) return;
    this.flush();
    for (const subscriber of this.subscribers) subscriber.finish(this.doneFrame!);
    this.subscribers.clear();
    this.close();
  }

  close(): void {
    clearTimeout(this.flushTimer);
    clearInterval(this.keepAlive);
    this.stopListening?.();
    this.forget();
  }
}

/** One connection following a job. */
class Subscriber {
  /** When it last became blocked (the connection's buffer full), on the monotonic clock; undefined while it reads. */
  private blockedSince: number | undefined;
  /** A progress snapshot newer than the last one it was sent waits for it to catch up. */
  private progressWaiting = false;
  /** Nothing more is written to it. */
  private closed = false;
  /** Its feed has forgotten it. */
  private left = false;

  constructor(
    private readonly response: ServerResponse,
    private readonly feed: JobFeed,
    private readonly streams: JobEventStreams,
  ) {
    response.on("close", () => this.close());
    response.on("drain", () => this.drained());
  }

  write(data: Buffer | string): void {
    if (this.closed) return;
    if (!this.response.write(data) && this.blockedSince === undefined) this.blockedSince = performance.now();
  }

  /** A batch: task events (always) and a progress snapshot (only if it keeps up; else it waits). */
  send(tasks: Buffer | undefined, progress: Buffer | undefined): void {
    if (this.closed) return;
    if (tasks !== undefined) this.write(tasks);
    if (progress !== undefined) {
      if (this.blockedSince === undefined) this.write(progress);
      else this.progressWaiting = true;
    }
    this.checkBounds();
  }

  keepAlive(): void {
    if (this.blockedSince === undefined) this.write(": keep-alive\n\n");
    this.checkBounds();
  }

  /** The job ended: its last progress (bounded: one snapshot) and done, then the stream ends. */
  finish(done: Buffer): void {
    if (this.closed) return;
    if (this.progressWaiting && this.feed.latestProgress !== undefined) this.response.write(this.feed.latestProgress);
    this.response.end(done);
    this.closed = true;
  }

  private drained(): void {
    this.blockedSince = undefined;
    if (this.progressWaiting && !this.closed) {
      this.progressWaiting = false;
      if (this.feed.latestProgress !== undefined) this.write(this.feed.latestProgress);
    }
  }

  private checkBounds(): void {
    if (this.closed) return;
    const buffered = this.response.writableLength;
    const blockedMs = this.blockedSince === undefined ? 0 : performance.now() - this.blockedSince;
    let reason: string | undefined;
    if (buffered > this.streams.maxBufferedBytes) {
      reason = `${buffered} bytes of events unread, more than the ${this.streams.maxBufferedBytes} allowed`;
    } else if (blockedMs > this.streams.stallTimeoutMs) {
      reason = `read nothing for ${Math.round(blockedMs)} ms, longer than the ${this.streams.stallTimeoutMs} ms allowed`;
    }
    if (reason === undefined) return;
    this.streams.logger?.warn(`disconnected a subscriber of job ${this.feed.jobId}'s events: ${reason}`, {
      job: this.feed.jobId,
      bufferedBytes: buffered,
      blockedMs: Math.round(blockedMs),
      remote: this.response.socket?.remoteAddress,
    });
    // Destroyed, not ended: what it has not read is dropped, and the memory with it.
    this.response.destroy();
    this.close();
  }

  private close(): void {
    this.closed = true;
    if (this.left) return;
    this.left = true;
    this.feed.leave(this);
  }
}
