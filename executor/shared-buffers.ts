import { isPlainObject } from "../graph/task-spec.js";
import { POOLED_FROM_BYTES, sharedBuffer } from "./shared-block-pool.js";

/**
 * Copies large typed arrays in `value` (itself, or nested in arrays and plain objects) into
 * `SharedArrayBuffer`s. Posting a shared buffer to another thread copies nothing, so a result computed
 * in one worker thread is copied once here and then read by the main thread and by any number of
 * dependent tasks in other threads for free — the closest JavaScript gets to Dask's threads sharing
 * one heap. Called while the task is accounted for, the copies come from the thread's pool and are
 * reused once nothing holds them (nothing but weft ever sees them).
 */
export function shareLargeBuffers(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== "object" || depth > 4) return value;
  if (ArrayBuffer.isView(value)) {
    if (value.byteLength < POOLED_FROM_BYTES || value.buffer instanceof SharedArrayBuffer || value instanceof DataView) {
      return value;
    }
    const { buffer } = sharedBuffer(value.byteLength);
    new Uint8Array(buffer, 0, value.byteLength).set(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    const View = value.constructor as new (buffer: SharedArrayBuffer, byteOffset: number, length: number) => ArrayBufferView;
    return new View(buffer, 0, value.byteLength / (value as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT);
  }
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    const n = Math.min(value.length, 1024);
    for (let i = 0; i < n; i++) {
      const shared = shareLargeBuffers(value[i], depth + 1);
      if (shared !== value[i]) (copy ??= value.slice())[i] = shared;
    }
    return copy ?? value;
  }
  if (isPlainObject(value)) {
    let copy: Record<string, unknown> | undefined;
    for (const k in value) {
      const shared = shareLargeBuffers(value[k], depth + 1);
      if (shared !== value[k]) (copy ??= { ...value })[k] = shared;
    }
    return copy ?? value;
  }
  return value;
}
