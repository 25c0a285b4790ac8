/**
 * Seeded random arrays, the same whatever the chunking: element `g` (row-major position) of an
 * array drawn with seed `s` depends on `(s, g)` only (see `kernels/array/random-kernels.ts`). Two arrays
 * drawn with one seed and one shape are equal, and share their tasks.
 */
import { taskSpec, type Graph, type Key } from "../../graph/task-spec.js";
import { tokenize } from "../../graph/tokenize.js";
import { ChunkedArray, blockKey } from "./chunked-array.js";
import { blockIndices, type ChunksSpec, gridShape, normalizeChunks, offsetsOf } from "../../kernels/array/chunks.js";
import { checkShape } from "./creation.js";
import type { DType } from "../../kernels/array/dtype.js";
import { type Distribution, RANDOM } from "../../kernels/array/random-kernels.js";

/** Options of the random functions. */
export interface RandomOptions {
  /** Block sizes. Default: one block. */
  readonly chunks?: ChunksSpec;
  /** Any safe integer. Default 0. */
  readonly seed?: number;
  /** float64 (default) or float32. */
  readonly dtype?: "float64" | "float32";
}

function draw(distribution: Distribution, shape: readonly number[], a: number, b: number, options: RandomOptions): ChunkedArray {
  const checked = checkShape(shape);
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer; got ${seed}`);
  const dtype: DType = options.dtype ?? "float64";
  if (dtype !== "float64" && dtype !== "float32") throw new TypeError(`random arrays are float64 or float32; got dtype ${JSON.stringify(dtype)}`);
  const chunks = normalizeChunks(checked, options.chunks ?? -1);
  const offsets = chunks.map(offsetsOf);
  const name = `random-${distribution}-${tokenize(seed, checked, chunks, dtype, a, b)}`;
  const tasks: Graph = new Map();
  const keys: Key[] = blockIndices(gridShape(chunks)).map((index) => {
    const key = blockKey(name, index);
    const start = index.map((i, axis) => offsets[axis][i]);
    const blockShape = index.map((i, axis) => chunks[axis][i]);
    tasks.set(key, taskSpec(key, RANDOM, [distribution, seed, checked, start, blockShape, dtype, a, b]));
    return key;
  });
  return new ChunkedArray(checked, chunks, dtype, { name, keys, tasks, dependencies: [] });
}

/**
 * Uniform deviates in `[low, high)` (default `[0, 1)`).
 *
 * @example
 * ```ts
 * const x = uniform([8000, 8000], { chunks: 1000, seed: 42 });
 * ```
 */
export function uniform(shape: readonly number[], options: RandomOptions & { readonly low?: number; readonly high?: number } = {}): ChunkedArray {
  const low = options.low ?? 0;
  const high = options.high ?? 1;
  if (!Number.isFinite(low) || !Number.isFinite(high) || !(high >= low)) throw new RangeError(`uniform needs finite low <= high; got ${low}, ${high}`);
  return draw("uniform", shape, low, high, options);
}

/** Normal deviates with `mean` (default 0) and standard deviation `std` (default 1). */
export function normal(shape: readonly number[], options: RandomOptions & { readonly mean?: number; readonly std?: number } = {}): ChunkedArray {
  const mean = options.mean ?? 0;
  const std = options.std ?? 1;
  if (!Number.isFinite(mean) || !Number.isFinite(std) || std < 0) throw new RangeError(`normal needs a finite mean and std >= 0; got ${mean}, ${std}`);
  return draw("normal", shape, mean, std, options);
}
