/**
 * Blocks: what array tasks produce and consume. A block is a plain object of a typed array, a shape
 * and a dtype, so it crosses worker threads (structured clone) and processes (msgpackr) as it is.
 */
import { isMainThread } from "node:worker_threads";
import { type DType, storageOf, type TypedArray } from "./dtype.js";
import { sizeOf } from "./chunks.js";
import { POOLED_FROM_BYTES, sharedBuffer } from "../../executor/shared-block-pool.js";

/** One block of an array, or a whole computed array: row-major `data` of `shape`. */
export interface Block {
  readonly data: TypedArray;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/**
 * Blocks made in a worker thread (64 KiB and up) live in shared memory from the thread's pool (see
 * `executor/shared-block-pool.ts`), so that the main thread and other threads read them without a
 * copy, and their memory is reused as soon as no result holds it. Such a block's `data.buffer` may be
 * longer than `data` (the pool's trailer and rounding): always go through the typed array. On the main
 * thread (the `sync` executor) blocks are ordinary memory, which V8 collects promptly.
 */
function storageFor(dtype: DType, length: number, zeroed: boolean): TypedArray {
  const Storage = storageOf(dtype);
  const bytes = length * Storage.BYTES_PER_ELEMENT;
  if (isMainThread || bytes < POOLED_FROM_BYTES) return new Storage(length);
  const { buffer, reused } = sharedBuffer(bytes);
  const data = new (Storage as new (buffer: SharedArrayBuffer, byteOffset: number, length: number) => TypedArray)(buffer, 0, length);
  if (reused && zeroed) data.fill(0);
  return data;
}

/** A zero-filled typed array for `length` elements of `dtype` (shared memory when made in a worker thread, see above). */
export function allocate(dtype: DType, length: number): TypedArray {
  return storageFor(dtype, length, true);
}

/** Like {@link allocate}, for a kernel that writes every element: the contents start undefined (skips zeroing reused memory). */
export function allocateUnfilled(dtype: DType, length: number): TypedArray {
  return storageFor(dtype, length, false);
}

/** Registration options of weft's array kernels: they borrow their inputs (see `TaskFunctionOptions`). */
export const BORROWS_INPUTS = { borrowsInputs: true } as const;

/** Row-major strides (in elements) of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = stride;
    stride *= shape[d];
  }
  return strides;
}

/** Throws a TypeError unless `value` is a block (what a user kernel must return). */
export function checkBlock(value: unknown, what: string): Block {
  const block = value as Partial<Block> | null;
  if (
    block === null ||
    typeof block !== "object" ||
    !ArrayBuffer.isView(block.data) ||
    !Array.isArray(block.shape) ||
    typeof block.dtype !== "string"
  ) {
    throw new TypeError(`${what} must be a block { data, shape, dtype }; got ${describe(value)}`);
  }
  if (sizeOf(block.shape) !== block.data.length) {
    throw new RangeError(`${what} has shape [${block.shape.join(", ")}] but ${block.data.length} elements`);
  }
  return block as Block;
}

function describe(value: unknown): string {
  if (value === null || typeof value !== "object") return String(value);
  return value.constructor?.name ?? "object";
}

/**
 * Copies a box of `source` (of `sourceShape`, starting at `sourceStart`, `count` long per axis,
 * stepping `sourceStep`) into `target` (of `targetShape`) at `targetStart`. Both have the same
 * number of axes. The workhorse of slicing, rechunking, concatenation and result assembly.
 */
export function copyBox(
  source: TypedArray,
  sourceShape: readonly number[],
  sourceStart: readonly number[],
  sourceStep: readonly number[],
  count: readonly number[],
  target: TypedArray,
  targetShape: readonly number[],
  targetStart: readonly number[],
): void {
  const nd = count.length;
  if (sizeOf(count) === 0) return;
  const sStrides = stridesOf(sourceShape);
  const tStrides = stridesOf(targetShape);
  if (nd === 0) {
    target[0] = source[0];
    return;
  }
  let sBase = 0;
  let tBase = 0;
  for (let d = 0; d < nd; d++) {
    sBase += sourceStart[d] * sStrides[d];
    tBase += targetStart[d] * tStrides[d];
  }
  const inner = count[nd - 1];
  const sInner = sourceStep[nd - 1] * sStrides[nd - 1];
  const contiguous = sInner === 1;
  const index = new Array<number>(nd).fill(0);
  const outer = sizeOf(count) / inner;
  for (let n = 0; n < outer; n++) {
    if (contiguous) {
      target.set(source.subarray(sBase, sBase + inner), tBase);
    } else {
      for (let j = 0, s = sBase; j < inner; j++, s += sInner) target[tBase + j] = source[s];
    }
    for (let d = nd - 2; d >= 0; d--) {
      index[d]++;
      sBase += sourceStep[d] * sStrides[d];
      tBase += tStrides[d];
      if (index[d] < count[d]) break;
      sBase -= sourceStep[d] * sStrides[d] * count[d];
      tBase -= tStrides[d] * count[d];
      index[d] = 0;
    }
  }
}
