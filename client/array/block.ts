/**
 * Blocks: what array tasks produce and consume. A block is a plain object of a typed array, a shape
 * and a dtype, so it crosses worker threads (structured clone) and processes (msgpackr) as it is.
 */
import { isMainThread } from "node:worker_threads";
import { type DType, storageOf, type TypedArray } from "./dtype.js";
import { sizeOf } from "./chunks.js";

/** One block of an array, or a whole computed array: row-major `data` of `shape`. */
export interface Block {
  readonly data: TypedArray;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/**
 * Blocks at least this many bytes made in a worker thread are allocated on a `SharedArrayBuffer`, so
 * that the main thread and other threads read them without a copy. On the main thread (the `sync`
 * executor) blocks stay ordinary memory: V8 counts ordinary array buffers towards the heap and
 * collects them promptly, while shared ones are not counted, so a thread that makes many of them and
 * few other objects keeps them (and their memory) long after they are dropped.
 */
const SHARED_FROM_BYTES = 64 * 1024;

/** A zero-filled typed array for `length` elements of `dtype`; shared memory when large and made in a worker thread. */
export function allocate(dtype: DType, length: number): TypedArray {
  const Storage = storageOf(dtype);
  const bytes = length * Storage.BYTES_PER_ELEMENT;
  if (!isMainThread && bytes >= SHARED_FROM_BYTES) return new (Storage as new (buffer: SharedArrayBuffer) => TypedArray)(new SharedArrayBuffer(bytes));
  return new Storage(length);
}

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
