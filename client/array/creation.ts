/**
 * Making arrays: from data in memory, from constants and ranges, from delayed values. Every block is
 * a task; data given in memory is cut into blocks once, when the array is made.
 */
import { taskSpec, Ref, type Graph, type Key } from "../../graph/task-spec.js";
import { tokenize } from "../../graph/tokenize.js";
import { collectGraph, type Delayed, isDelayed } from "../delayed.js";
import { inMemoryData } from "../in-memory-data.js";
import { type Block, copyBox } from "../../kernels/array/block.js";
import { ChunkedArray, blockKey } from "./chunked-array.js";
import { blockIndices, type ChunksSpec, gridShape, normalizeChunks, offsetsOf, sizeOf } from "../../kernels/array/chunks.js";
import { checkDType, type DType, dtypeOfTypedArray, type TypedArray, storageOf } from "../../kernels/array/dtype.js";
import { FROM_VALUE, FULL, RANGE, toBlock } from "../../kernels/array/creation-kernels.js";

/** Options shared by the creation functions. */
export interface CreationOptions {
  /** Block sizes (see {@link ChunksSpec}). Default: the whole array in one block. */
  readonly chunks?: ChunksSpec;
  /** Element type. Default: float64 (or the data's own dtype, for typed arrays). */
  readonly dtype?: DType;
}

/** Checks a shape argument, naming what is wrong. */
export function checkShape(shape: readonly number[], argument = "shape"): number[] {
  if (!Array.isArray(shape)) throw new TypeError(`${argument} must be an array of lengths; got ${typeof shape}`);
  shape.forEach((length, axis) => {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`${argument}[${axis}] must be a whole number >= 0; got ${length}`);
  });
  return [...shape];
}

/** An array of `shape` made of one task per block, `makeArgs` giving each task's arguments. */
function generated(
  prefix: string,
  shape: readonly number[],
  chunksSpec: ChunksSpec | undefined,
  dtype: DType,
  fn: string,
  token: unknown,
  makeArgs: (blockShape: number[], start: number[]) => unknown[],
): ChunkedArray {
  const chunks = normalizeChunks(shape, chunksSpec ?? -1);
  const offsets = chunks.map(offsetsOf);
  const name = `${prefix}-${tokenize(fn, token, shape, chunks, dtype)}`;
  const tasks: Graph = new Map();
  const keys: Key[] = blockIndices(gridShape(chunks)).map((index) => {
    const key = blockKey(name, index);
    const start = index.map((b, axis) => offsets[axis][b]);
    tasks.set(key, taskSpec(key, fn, makeArgs(index.map((b, axis) => chunks[axis][b]), start)));
    return key;
  });
  return new ChunkedArray(shape, chunks, dtype, { name, keys, tasks, dependencies: [] });
}

/**
 * An array of `shape` filled with `value`.
 *
 * @example
 * ```ts
 * full([1000, 1000], 7, { chunks: 250, dtype: "int32" });
 * ```
 */
export function full(shape: readonly number[], value: number | boolean, options: CreationOptions = {}): ChunkedArray {
  const checked = checkShape(shape);
  const dtype = options.dtype === undefined ? (typeof value === "boolean" ? "bool" : "float64") : checkDType(options.dtype, "options.dtype");
  const v = Number(value);
  return generated("full", checked, options.chunks, dtype, FULL, v, (blockShape) => [dtype, blockShape, v]);
}

/** An array of zeros. Default dtype float64. */
export function zeros(shape: readonly number[], options: CreationOptions = {}): ChunkedArray {
  return full(shape, 0, options);
}

/** An array of ones. Default dtype float64. */
export function ones(shape: readonly number[], options: CreationOptions = {}): ChunkedArray {
  return full(shape, 1, options);
}

/** Options of {@link arange}. */
export interface ArangeOptions extends CreationOptions {
  /** Default 1. */
  readonly step?: number;
}

/**
 * Evenly spaced values in `[start, stop)`, `step` apart (NumPy's `arange`). Default dtype: int32
 * when start and step are whole numbers, else float64.
 *
 * @example
 * ```ts
 * arange(0, 10, { step: 2, chunks: 2 }); // 0 2 4 6 8 in 3 blocks
 * ```
 */
export function arange(start: number, stop: number, options: ArangeOptions = {}): ChunkedArray {
  const step = options.step ?? 1;
  if (!Number.isFinite(start) || !Number.isFinite(stop)) throw new RangeError(`arange needs finite start and stop; got ${start}, ${stop}`);
  if (!Number.isFinite(step) || step === 0) throw new RangeError(`arange step must be a finite nonzero number; got ${step}`);
  const length = Math.max(0, Math.ceil((stop - start) / step));
  const whole = Number.isInteger(start) && Number.isInteger(step);
  const dtype = options.dtype === undefined ? (whole ? "int32" : "float64") : checkDType(options.dtype, "options.dtype");
  return generated("arange", [length], options.chunks, dtype, RANGE, [start, step], (blockShape, [offset]) => [dtype, blockShape, start, step, offset, null]);
}

/**
 * `num` evenly spaced values from `start` to `stop` inclusive (NumPy's `linspace`); the last is
 * exactly `stop`. Default dtype float64.
 */
export function linspace(start: number, stop: number, num: number, options: CreationOptions = {}): ChunkedArray {
  if (!Number.isInteger(num) || num < 0) throw new RangeError(`linspace num must be a whole number >= 0; got ${num}`);
  if (!Number.isFinite(start) || !Number.isFinite(stop)) throw new RangeError(`linspace needs finite start and stop; got ${start}, ${stop}`);
  const dtype = options.dtype === undefined ? "float64" : checkDType(options.dtype, "options.dtype");
  const step = num > 1 ? (stop - start) / (num - 1) : 0;
  const last = num > 1 ? { index: num - 1, value: stop } : null;
  return generated("linspace", [num], options.chunks, dtype, RANGE, [start, stop, num], (blockShape, [offset]) => [dtype, blockShape, start, step, offset, last]);
}

/**
 * An array from data in memory: a typed array (1-d, or of `options.shape`), nested arrays of numbers
 * or booleans, or a dense array `{ data, shape, dtype }`. The data is copied into blocks, one task
 * each holding its block; on a cluster the client scatters each block to a worker before the first
 * computation that needs it.
 *
 * @example
 * ```ts
 * fromArray([[1, 2, 3], [4, 5, 6]], { chunks: [1, 2] });
 * fromArray(new Float32Array(1_000_000), { shape: [1000, 1000], chunks: 250 });
 * ```
 */
export function fromArray(
  source: TypedArray | readonly unknown[] | Block,
  options: CreationOptions & { readonly shape?: readonly number[] } = {},
): ChunkedArray {
  let whole: Block;
  if (ArrayBuffer.isView(source)) {
    const own = dtypeOfTypedArray(source);
    const shape = options.shape === undefined ? [source.length] : checkShape(options.shape, "options.shape");
    if (sizeOf(shape) !== source.length) throw new RangeError(`options.shape [${shape.join(", ")}] does not hold ${source.length} elements`);
    whole = toBlock({ data: source, shape, dtype: own }, options.dtype === undefined ? own : checkDType(options.dtype, "options.dtype"));
  } else if (Array.isArray(source)) {
    const dtype = options.dtype === undefined ? (allBooleans(source) ? "bool" : "float64") : checkDType(options.dtype, "options.dtype");
    whole = toBlock(source, dtype);
  } else {
    const block = source as Block;
    whole = toBlock(block, options.dtype === undefined ? block.dtype : checkDType(options.dtype, "options.dtype"));
  }
  const chunks = normalizeChunks(whole.shape, options.chunks ?? -1);
  const offsets = chunks.map(offsetsOf);
  const name = `array-${tokenize(whole.data, whole.shape, whole.dtype, chunks)}`;
  const tasks: Graph = new Map();
  const Storage = storageOf(whole.dtype);
  const keys = blockIndices(gridShape(chunks)).map((index) => {
    const shape = index.map((b, axis) => chunks[axis][b]);
    const data = new Storage(sizeOf(shape));
    const start = index.map((b, axis) => offsets[axis][b]);
    copyBox(whole.data, whole.shape, start, start.map(() => 1), shape, data, shape, shape.map(() => 0));
    const key = blockKey(name, index);
    tasks.set(key, inMemoryData(key, { data, shape, dtype: whole.dtype }));
    return key;
  });
  return new ChunkedArray(whole.shape, chunks, whole.dtype, { name, keys, tasks, dependencies: [] });
}

function allBooleans(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0 && value.every(allBooleans);
  return typeof value === "boolean";
}

/**
 * A one-block array computed by a delayed value: a block `{ data, shape, dtype }`, a typed array
 * (1-d) or nested arrays of numbers. The shape (and dtype) must be declared, since nothing is
 * computed until `compute`; a value of another shape fails its task with a RangeError.
 *
 * @example
 * ```ts
 * const loaded = delayed(loadSamples)("2024-01.bin"); // returns a Float64Array of 1000
 * const a = fromDelayed(loaded, [1000]);
 * ```
 */
export function fromDelayed(value: Delayed<unknown>, shape: readonly number[], options: { readonly dtype?: DType } = {}): ChunkedArray {
  if (!isDelayed(value)) throw new TypeError("fromDelayed takes a delayed value");
  const checked = checkShape(shape);
  const dtype = options.dtype === undefined ? "float64" : checkDType(options.dtype, "options.dtype");
  const name = `from-delayed-${tokenize(value.key, checked, dtype)}`;
  const key = blockKey(name, checked.map(() => 0));
  const tasks: Graph = new Map([[key, taskSpec(key, FROM_VALUE, [new Ref(value.key), checked, dtype])]]);
  const chunks = checked.map((length) => [length]);
  return new ChunkedArray(checked, chunks, dtype, { name, keys: [key], tasks, dependencies: [collectGraph([value])] });
}
