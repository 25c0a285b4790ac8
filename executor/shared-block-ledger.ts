import type { HeldValues } from "./executor.js";
import { forEachView, type PoolMessage, type PoolTag, pooledSlotOf } from "./shared-block-pool.js";

const NONE: ReadonlySet<number> = new Set();

/** What {@link SharedBlockLedger.stats} reports. */
export interface SharedMemoryStats {
  readonly held: number;
  readonly returned: number;
  readonly escaped: number;
}

/**
 * The main thread's account of a thread pool's shared memory (see `shared-block-pool.ts`): how many
 * held results reference each pooled buffer. When the count of a buffer falls to zero it is sent
 * back to its thread for reuse; a buffer that escapes is never reused, and its thread forgets it.
 * Messages to a thread are batched per tick.
 */
export class SharedBlockLedger implements HeldValues {
  /** Per buffer (thread × 2^32 + slot): results holding it. */
  private readonly counts = new Map<number, number>();
  private readonly escaped = new Set<number>();
  private outbox = new Map<number, { recycle: number[]; forget: number[] }>();
  private flushQueued = false;
  private returnedCount = 0;
  private escapedCount = 0;

  constructor(
    private readonly tag: PoolTag,
    private readonly send: (thread: number, message: PoolMessage) => void,
  ) {}

  hold(value: unknown): void {
    for (const id of this.idsIn(value)) this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
  }

  release(value: unknown): void {
    for (const id of this.idsIn(value)) {
      const count = (this.counts.get(id) ?? 0) - 1;
      if (count > 0) {
        this.counts.set(id, count);
        continue;
      }
      this.counts.delete(id);
      // An escaped buffer was forgotten by its thread already.
      if (this.escaped.delete(id)) continue;
      this.returnedCount++;
      this.queue(id, "recycle");
    }
  }

  escape(value: unknown): void {
    // Values reach the program or a task only from held results: with none held, there is nothing to find.
    if (this.counts.size === 0) return;
    for (const id of this.idsIn(value)) {
      if (this.escaped.has(id)) continue;
      this.escapedCount++;
      this.queue(id, "forget");
      // Nothing will release a buffer no result holds: remember the escape only while some result does.
      if (this.counts.has(id)) this.escaped.add(id);
    }
  }

  /**
   * Buffers counted as held now; buffers sent back to their threads for reuse, and buffers given
   * away for good, since the start.
   */
  stats(): SharedMemoryStats {
    return { held: this.counts.size, returned: this.returnedCount, escaped: this.escapedCount };
  }

  private idsIn(value: unknown): ReadonlySet<number> {
    if (value === null || typeof value !== "object") return NONE;
    const ids = new Set<number>();
    forEachView(value, (view) => {
      const pooled = pooledSlotOf(view, this.tag);
      if (pooled !== undefined) ids.add(pooled.thread * 2 ** 32 + pooled.slot);
    });
    return ids;
  }

  private queue(id: number, kind: "recycle" | "forget"): void {
    const thread = Math.floor(id / 2 ** 32);
    let box = this.outbox.get(thread);
    if (box === undefined) this.outbox.set(thread, (box = { recycle: [], forget: [] }));
    box[kind].push(id % 2 ** 32);
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      if (this.flushQueued) this.flush();
    });
  }

  /** Sends what is queued now: before a batch goes to a thread, so that it can reuse what was just freed. */
  flush(): void {
    this.flushQueued = false;
    const outbox = this.outbox;
    this.outbox = new Map();
    for (const [thread, { recycle, forget }] of outbox) {
      if (forget.length > 0) this.send(thread, { type: "forget", slots: forget });
      if (recycle.length > 0) this.send(thread, { type: "recycle", slots: recycle });
    }
  }
}
