import { describe, expect, it } from "vitest";
import { forEachView, pooledSlotOf, SharedBlockPool } from "../../executor/shared-block-pool.js";

const TAG = [0x1234_5678, 0x9abc_def0] as const;
const MB = 1024 * 1024;

function viewOf(buffer: SharedArrayBuffer, bytes: number): Float64Array {
  return new Float64Array(buffer, 0, bytes / 8);
}

describe("a thread's shared block pool", () => {
  it("marks each buffer it hands out with its pool, thread and slot", () => {
    const pool = new SharedBlockPool(TAG, 3);
    pool.beginTask();
    const { buffer } = pool.allocate(MB);
    pool.endTask(viewOf(buffer, MB), true);
    expect(pooledSlotOf(viewOf(buffer, MB), TAG)).toEqual({ thread: 3, slot: 1 });
    expect(pooledSlotOf(viewOf(buffer, MB), [1, 2])).toBeUndefined();
  });

  it("hands a recycled buffer out again, under a new slot", () => {
    const pool = new SharedBlockPool(TAG, 0);
    pool.beginTask();
    const first = pool.allocate(MB);
    pool.endTask(viewOf(first.buffer, MB), true);
    pool.recycle([1]);
    pool.beginTask();
    const second = pool.allocate(MB - 1000);
    pool.endTask(viewOf(second.buffer, MB - 1000), true);
    expect(second.buffer).toBe(first.buffer);
    expect(second.reused).toBe(true);
    expect(pooledSlotOf(viewOf(second.buffer, MB), TAG)?.slot).toBe(2);
  });

  it("never hands out a forgotten buffer again, and ignores a late recycle of it", () => {
    const pool = new SharedBlockPool(TAG, 0);
    pool.beginTask();
    const first = pool.allocate(MB);
    pool.endTask(viewOf(first.buffer, MB), true);
    pool.forget([1]);
    pool.recycle([1]);
    pool.beginTask();
    const second = pool.allocate(MB);
    pool.endTask(viewOf(second.buffer, MB), true);
    expect(second.buffer).not.toBe(first.buffer);
    expect(pool.registered).toBe(1);
  });

  it("reuses a borrowing task's scratch at once, and forgets the scratch of a task that may keep it", () => {
    const pool = new SharedBlockPool(TAG, 0);
    pool.beginTask();
    const scratch = pool.allocate(MB);
    const kept = pool.allocate(MB);
    pool.endTask({ data: viewOf(kept.buffer, MB) }, true);
    expect(pool.registered).toBe(1);
    expect(pool.freeByteCount).toBe(MB);
    pool.beginTask();
    const again = pool.allocate(MB);
    pool.endTask(undefined, false);
    expect(again.buffer).toBe(scratch.buffer);
    expect(pool.registered).toBe(1);
    expect(pool.freeByteCount).toBe(0);
  });

  it("pools nothing allocated outside a task, or smaller than 64 KiB", () => {
    const pool = new SharedBlockPool(TAG, 0);
    const outside = pool.allocate(MB);
    pool.beginTask();
    const small = pool.allocate(1000);
    pool.endTask(undefined, true);
    expect(pooledSlotOf(viewOf(outside.buffer, MB), TAG)).toBeUndefined();
    expect(small.buffer.byteLength).toBe(1000);
    expect(pool.registered).toBe(0);
  });

  it("keeps no more free bytes than its limit", () => {
    const pool = new SharedBlockPool(TAG, 0, 2 * MB);
    pool.beginTask();
    for (let i = 0; i < 3; i++) pool.allocate(MB);
    pool.endTask(undefined, true);
    expect(pool.freeByteCount).toBe(2 * MB);
  });
});

describe("finding the buffers of a value", () => {
  it("visits typed arrays in arrays, plain objects, Maps and Sets, each object once", () => {
    const a = new Float64Array(2);
    const b = new Int32Array(3);
    const c = new Uint8Array(4);
    const shared = { a };
    const value = { list: [shared, shared], map: new Map<unknown, unknown>([[b, "key"]]), set: new Set([{ deep: [[c]] }]) };
    const seen: ArrayBufferView[] = [];
    forEachView(value, (view) => seen.push(view));
    expect(seen).toHaveLength(3);
    expect(new Set(seen)).toEqual(new Set([a, b, c]));
  });

  it("stops at cycles", () => {
    const cyclic: { self?: unknown; data: Float64Array } = { data: new Float64Array(1) };
    cyclic.self = cyclic;
    let visits = 0;
    forEachView(cyclic, () => visits++);
    expect(visits).toBe(1);
  });
});
