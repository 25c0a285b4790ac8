import type { JobEvent } from "../../protocol/job-api.js";
import type { Logger } from "../../protocol/logger.js";
import type { EventSubscriber } from "./event-subscriber.js";

/** How often an idle event stream sends a comment, so proxies do not close it. */
const KEEP_ALIVE_MS = 15_000;
/** Task events gathered past this many bytes become a batch at once rather than at the next tick. */
const BATCH_BYTES = 64 * 1024;

/** What a {@link JobFeed} holds its subscribers to (see `JobEventStreamOptions`). */
export interface FeedSettings {
  readonly maxBufferedBytes: number;
  readonly stallTimeoutMs: number;
  readonly flushIntervalMs: number;
  readonly logger: Logger | undefined;
}

/** One Server-Sent Event, as sent. */
function frame(event: JobEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/**
 * One job's events, shared by all its subscribers: task events encoded once into a log of batches
 * (buffers of at most about 64 KiB) that each subscriber reads from at its own position, handed to
 * its connection only while the connection takes them; the latest progress snapshot; and `done`.
 * The log keeps only what some subscriber has not been handed yet, so a slow subscriber costs the
 * scheduler its lag once, however many subscribers there are, and that lag is bounded: every
 * `flushIntervalMs`, a tick batches what was gathered and disconnects subscribers past
 * `maxBufferedBytes` behind or blocked longer than `stallTimeoutMs`.
 *
 * @example
 * ```ts
 * const feed = new JobFeed(jobId, settings, () => feeds.delete(jobId));
 * feed.started(await jobs.subscribe(jobId, (event) => feed.push(event)));
 * feed.attach(new EventSubscriber(response, feed, true));
 * ```
 */
export class JobFeed {
  /** Settles once the job's events are subscribed to (rejects for an unknown job). */
  ready: Promise<void> = Promise.resolve();
  private readonly subscribers = new Set<EventSubscriber>();
  /** Subscribers that want task events: while there are none, task events are not even encoded. */
  private taskSubscribers = 0;
  /** The log: batches of encoded task events, the first of them numbered `first`. */
  private batches: Buffer[] = [];
  private first = 0;
  /** Bytes appended to the log before `batches[0]`, and after each batch. */
  private startBytes = 0;
  private batchEnds: number[] = [];
  /** Task events not yet in the log. */
  private pending: string[] = [];
  private pendingBytes = 0;
  /** The latest progress event, encoded, and how many progress events came so far. */
  latestProgress: Buffer | undefined;
  progressCount = 0;
  /** The `done` event, encoded, once the job has ended. */
  doneFrame: Buffer | undefined;
  private stopListening: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticks = 0;
  /** True once the first subscriber attached: until then every event is kept for it. */
  private opened = false;

  constructor(
    readonly jobId: string,
    readonly settings: FeedSettings,
    private readonly forget: () => void,
  ) {}

  /** Subscribers attached now. */
  get size(): number {
    return this.subscribers.size;
  }

  /** Number of the batch after the last in the log. */
  get end(): number {
    return this.first + this.batches.length;
  }

  /** The log's batch number `seq`. */
  batch(seq: number): Buffer {
    return this.batches[seq - this.first];
  }

  /** Bytes of task events from batch `seq` to the latest event: how far behind a subscriber at `seq` is. */
  behind(seq: number): number {
    const start = seq <= this.first ? this.startBytes : this.batchEnds[seq - this.first - 1];
    return (this.batchEnds.at(-1) ?? this.startBytes) + this.pendingBytes - start;
  }

  /** The job's events are subscribed to; `stop` ends that. */
  started(stop: () => void): void {
    this.stopListening = stop;
    if (this.doneFrame !== undefined) stop();
  }

  push(event: JobEvent): void {
    switch (event.type) {
      case "progress":
        this.latestProgress = Buffer.from(frame(event));
        this.progressCount++;
        // Progress comes at most about 10 times a second (see JobService): a batch goes with each.
        this.append();
        this.pumpAll();
        return;
      case "done":
        this.doneFrame = Buffer.from(frame(event));
        this.stopListening?.();
        this.append();
        this.pumpAll();
        return;
      default: {
        if (this.opened && this.taskSubscribers === 0) return;
        const text = frame(event);
        this.pending.push(text);
        this.pendingBytes += text.length;
        if (this.pendingBytes >= BATCH_BYTES) {
          this.append();
          this.pumpAll();
        }
      }
    }
  }

  attach(subscriber: EventSubscriber): void {
    const first = !this.opened;
    this.opened = true;
    this.subscribers.add(subscriber);
    if (subscriber.wantsTasks) this.taskSubscribers++;
    // The first subscriber reads everything the job said since the feed subscribed; later ones its
    // latest progress, then what it says from now on.
    if (first) subscriber.next = this.first;
    else {
      this.append();
      subscriber.next = this.end;
    }
    this.timer ??= setInterval(() => this.tick(), this.settings.flushIntervalMs).unref();
    subscriber.pump();
  }

  /** A subscriber went away: it closed its connection, was disconnected, or was sent `done`. */
  leave(subscriber: EventSubscriber): void {
    if (!this.subscribers.delete(subscriber)) return;
    if (subscriber.wantsTasks) this.taskSubscribers--;
    if (this.subscribers.size === 0) this.close();
    else this.trim();
  }

  /** Stops following the job and forgets the feed. */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.stopListening?.();
    this.batches = [];
    this.batchEnds = [];
    this.forget();
  }

  /** Every interval: what was gathered becomes a batch, subscribers are held to the bounds, idle ones kept alive. */
  private tick(): void {
    this.append();
    this.pumpAll();
    const now = performance.now();
    const keepAlive = ++this.ticks % Math.max(1, Math.round(KEEP_ALIVE_MS / this.settings.flushIntervalMs)) === 0;
    for (const subscriber of [...this.subscribers]) {
      subscriber.check(now);
      if (keepAlive) subscriber.keepAlive();
    }
  }

  /** Moves the gathered task events into the log, as one batch. */
  private append(): void {
    if (this.pending.length === 0) return;
    const batch = Buffer.from(this.pending.join(""));
    this.batchEnds.push((this.batchEnds.at(-1) ?? this.startBytes) + batch.length);
    this.batches.push(batch);
    this.pending = [];
    this.pendingBytes = 0;
  }

  private pumpAll(): void {
    for (const subscriber of [...this.subscribers]) subscriber.pump();
    this.trim();
  }

  /** Drops the batches every subscriber has been handed. */
  private trim(): void {
    // Until the first subscriber comes, everything is kept for it.
    if (!this.opened) return;
    let keep = this.end;
    for (const subscriber of this.subscribers) if (subscriber.wantsTasks && subscriber.next < keep) keep = subscriber.next;
    const drop = keep - this.first;
    if (drop <= 0) return;
    this.startBytes = this.batchEnds[drop - 1];
    this.batches.splice(0, drop);
    this.batchEnds.splice(0, drop);
    this.first = keep;
  }
}
