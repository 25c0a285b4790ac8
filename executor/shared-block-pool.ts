/**
 * Reusable shared memory for the large results of worker threads.
 *
 * A thread's large results live in `SharedArrayBuffer`s, so the main thread and other threads read
 * them without a copy. Left to the garbage collector, that memory is freed late: V8 does not count
 * a shared buffer towards the heap of the threads that see it, so a thread that makes many of them
 * and few other objects, or a main thread that only passes them along, seldom collects — an array
 * workload grew by its whole size on every run. And fresh memory costs page faults on first touch,
 * as much again as filling it with random numbers.
 *
 * So memory is managed explicitly, as a memory pool of Arrow or Ray's object store does it. Each
 * thread keeps the buffers it handed out in a registry, by *slot*, and a trailer at the end of each
 * buffer names its pool, thread and slot, so that any thread can tell which buffer a view is on. The
 * pool's owner (`SharedBlockLedger`, on the main thread) counts the results that hold each buffer and,
 * when none does, sends the slot back: the buffer goes to the thread's free list and is handed out
 * again. A buffer that escapes to code weft does not control (a result given to the program, the
 * input of a function that may keep it) is *forgotten* instead: dropped from the registry and left
 * to the garbage collector. A reused buffer gets a new slot, so a late message about its old slot
 * finds nothing.
 */

/** Bytes at the end of each pooled buffer: pool tag (two words), thread, slot. */
const TRAILER_BYTES = 16;
/** Below this, a buffer is not worth pooling. */
export const POOLED_FROM_BYTES = 64 * 1024;
/** Free bytes a thread keeps for reuse, by default; beyond them, returned buffers are forgotten. */
export const DEFAULT_FREE_BYTES = 256 * 1024 * 1024;

/** Identifies one pool (one `ThreadPoolExecutor`): random, so that a buffer made elsewhere is never taken for a pooled one. */
export type PoolTag = readonly [number, number];

/** The thread and slot of a pooled buffer. */
export interface PooledSlot {
  readonly thread: number;
  readonly slot: number;
}

/** What a thread's pool is told by the ledger. */
export interface PoolMessage {
  readonly type: "recycle" | "forget";
  readonly slots: readonly number[];
}

/** The thread and slot of the buffer under `view`, when it is a buffer of the pool tagged `tag`. */
export function pooledSlotOf(view: ArrayBufferView, tag: PoolTag): PooledSlot | undefined {
  const buffer = view.buffer;
  if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < TRAILER_BYTES + POOLED_FROM_BYTES) return undefined;
  const trailer = new Uint32Array(buffer, buffer.byteLength - TRAILER_BYTES, 4);
  if (trailer[0] !== tag[0] || trailer[1] !== tag[1]) return undefined;
  return { thread: trailer[2], slot: trailer[3] };
}

/**
 * Calls `visit` for every typed array or DataView in `value`: itself, or inside arrays, plain
 * objects, Maps and Sets, however deep (each object once). Results that crossed from a thread are
 * structured clones, made of nothing else, so nothing pooled is missed.
 */
export function forEachView(value: unknown, visit: (view: ArrayBufferView) => void): void {
  if (value === null || typeof value !== "object") return;
  if (ArrayBuffer.isView(value)) {
    visit(value);
    return;
  }
  const seen = new Set<object>();
  const stack: object[] = [value];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (ArrayBuffer.isView(item)) {
      visit(item);
      continue;
    }
    if (seen.has(item)) continue;
    seen.add(item);
    const children: Iterable<unknown> = Array.isArray(item)
      ? item
      : item instanceof Map
        ? [...item.keys(), ...item.values()]
        : item instanceof Set
          ? item
          : Object.values(item);
    for (const child of children) if (child !== null && typeof child === "object") stack.push(child);
  }
}

/** Capacity in bytes for a request: four classes per power of two, so a freed buffer fits requests up to 19% smaller. */
function capacityFor(bytes: number): number {
  const power = 2 ** Math.floor(Math.log2(bytes));
  const step = power / 4;
  return Math.ceil(bytes / step) * step;
}

/** A buffer handed out by {@link SharedBlockPool.allocate}. */
export interface PooledBuffer {
  readonly buffer: SharedArrayBuffer;
  /** True when the buffer was used before: its bytes are whatever the last user left. */
  readonly reused: boolean;
}

/**
 * One thread's pooled shared memory (see the module comment). Buffers are pooled only when allocated
 * while a task runs (between {@link beginTask} and {@link endTask}), so that each is accounted for:
 * it is in the task's result, and the ledger will say when it is free, or it was scratch.
 */
export class SharedBlockPool {
  private readonly registry = new Map<number, SharedArrayBuffer>();
  private readonly free = new Map<number, SharedArrayBuffer[]>();
  private freeBytes = 0;
  private nextSlot = 1;
  /** Slots allocated by the running task; null outside a task. */
  private taskSlots: number[] | null = null;

  /**
   * @param tag - the pool's tag, the same in every thread of one executor.
   * @param thread - this thread's number in the executor.
   * @param maxFreeBytes - free bytes kept for reuse. Default {@link DEFAULT_FREE_BYTES}.
   */
  constructor(
    readonly tag: PoolTag,
    readonly thread: number,
    private readonly maxFreeBytes = DEFAULT_FREE_BYTES,
  ) {}

  /** A shared buffer of at least `bytes` bytes, to be viewed from offset 0. */
  allocate(bytes: number): PooledBuffer {
    if (this.taskSlots === null || bytes < POOLED_FROM_BYTES) return { buffer: new SharedArrayBuffer(bytes), reused: false };
    const capacity = capacityFor(bytes);
    const reusable = this.free.get(capacity)?.pop();
    if (reusable !== undefined) this.freeBytes -= capacity;
    const buffer = reusable ?? new SharedArrayBuffer(capacity + TRAILER_BYTES);
    const slot = this.nextSlot++;
    new Uint32Array(buffer, capacity, 4).set([this.tag[0], this.tag[1], this.thread, slot]);
    this.registry.set(slot, buffer);
    this.taskSlots.push(slot);
    return { buffer, reused: reusable !== undefined };
  }

  /** Starts accounting for a task's allocations. */
  beginTask(): void {
    this.taskSlots = [];
  }

  /**
   * Ends a task: buffers it allocated that are not in `result` are scratch. They are reused when the
   * task's functions keep no references (`reclaimScratch`), and forgotten otherwise. Those in the
   * result stay registered until the ledger says what became of them.
   */
  endTask(result: unknown, reclaimScratch: boolean): void {
    const slots = this.taskSlots;
    this.taskSlots = null;
    if (slots === null || slots.length === 0) return;
    const kept = new Set<number>();
    forEachView(result, (view) => {
      const pooled = pooledSlotOf(view, this.tag);
      if (pooled !== undefined && pooled.thread === this.thread) kept.add(pooled.slot);
    });
    const scratch = slots.filter((slot) => !kept.has(slot));
    if (reclaimScratch) this.recycle(scratch);
    else this.forget(scratch);
  }

  /** Buffers nothing holds any more: kept for reuse, up to the free-bytes limit. */
  recycle(slots: readonly number[]): void {
    for (const slot of slots) {
      const buffer = this.registry.get(slot);
      if (buffer === undefined) continue;
      this.registry.delete(slot);
      const capacity = buffer.byteLength - TRAILER_BYTES;
      if (this.freeBytes + capacity > this.maxFreeBytes) continue;
      let list = this.free.get(capacity);
      if (list === undefined) this.free.set(capacity, (list = []));
      list.push(buffer);
      this.freeBytes += capacity;
    }
  }

  /** Buffers that escaped: left to the garbage collector. */
  forget(slots: readonly number[]): void {
    for (const slot of slots) this.registry.delete(slot);
  }

  /** Buffers handed out and not yet recycled or forgotten. */
  get registered(): number {
    return this.registry.size;
  }

  /** Bytes kept for reuse. */
  get freeByteCount(): number {
    return this.freeBytes;
  }
}

let threadPool: SharedBlockPool | undefined;

/** Makes `pool` the one {@link sharedBuffer} allocates from on this thread. */
export function useSharedBlockPool(pool: SharedBlockPool): void {
  threadPool = pool;
}

/**
 * A shared buffer of at least `bytes` bytes for a block made on this thread: from the thread's pool
 * when there is one (a worker thread of a `ThreadPoolExecutor`), else a fresh one.
 */
export function sharedBuffer(bytes: number): PooledBuffer {
  return threadPool?.allocate(bytes) ?? { buffer: new SharedArrayBuffer(bytes), reused: false };
}
