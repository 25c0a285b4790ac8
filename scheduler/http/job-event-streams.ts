import type { ServerResponse } from "node:http";
import type { Logger } from "../../protocol/logger.js";
import type { JobService } from "../job-service.js";
import { EventSubscriber } from "./event-subscriber.js";
import { JobFeed } from "./job-feed.js";

/** Default {@link JobEventStreamOptions.maxBufferedBytes}: 1 MiB. */
export const DEFAULT_EVENT_BUFFER_BYTES = 1024 * 1024;
/** Default {@link JobEventStreamOptions.stallTimeoutMs}: one minute. */
export const DEFAULT_EVENT_STALL_MS = 60_000;
/** Default {@link JobEventStreamOptions.flushIntervalMs}. */
export const DEFAULT_EVENT_FLUSH_MS = 100;

/** Options of {@link JobEventStreams}. */
export interface JobEventStreamOptions {
  /**
   * Most bytes of task events one subscriber may have left unread (behind the job's latest) before
   * it is disconnected, with a warning logged; checked every `flushIntervalMs`, so a burst of task
   * ends handled in one go does not count against a subscriber that had no chance to read it yet.
   * The events a subscriber has not read are kept once for all the job's subscribers, and no more
   * than about 80 KiB is handed to its connection ahead of what it reads. Progress never adds to it:
   * a subscriber that does not keep up gets only the latest snapshot once it does.
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
   * out together with the job's next `progress` event, or sooner past 64 KiB), and how often
   * subscribers are held to `maxBufferedBytes` and `stallTimeoutMs`. Default
   * {@link DEFAULT_EVENT_FLUSH_MS} (100).
   */
  readonly flushIntervalMs?: number;
  /** Where disconnections are explained. Default: not logged. */
  readonly logger?: Logger;
}

/**
 * What a subscriber is sent: every event, or (`"progress"`) its progress and `done` alone, for a
 * progress bar or a dashboard, which then costs the scheduler nothing per task.
 */
export type JobEventSelection = "all" | "progress";

/**
 * The Server-Sent Event streams of jobs (`GET /v1/jobs/:id/events`). However many clients follow a
 * job, the scheduler subscribes to it once and encodes each event once, into a log of batches (see
 * `JobFeed`) that every subscriber's connection reads from at its own pace: following costs the
 * scheduler O(1) per task plus O(subscribers) per batch (about 10 a second), not O(subscribers) per task.
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
    for (const [name, value] of Object.entries({ maxBufferedBytes: this.maxBufferedBytes, stallTimeoutMs: this.stallTimeoutMs, flushIntervalMs: this.flushIntervalMs })) {
      if (!(value > 0)) throw new RangeError(`event streams' ${name} must be > 0, got ${value}`);
    }
  }

  /**
   * Subscribes to the job's events if nobody does yet; throws `UnknownJobError` for an unknown job.
   * Resolves with the function that streams them to a response (writing its head): call it in the
   * same turn of the event loop.
   */
  async open(jobId: string, selection: JobEventSelection = "all"): Promise<(response: ServerResponse) => void> {
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
      joined.attach(new EventSubscriber(response, joined, selection === "all"));
    };
  }

  /** Subscribers connected now, over all jobs; for tests and metrics. */
  get subscribers(): number {
    let count = 0;
    for (const feed of this.feeds.values()) count += feed.size;
    return count;
  }
}
