/**
 * User kernels over blocks: `mapBlocks` applies a registered task function to corresponding blocks
 * of arrays; `blockwise` generalizes it with index letters, as Dask's `blockwise` does.
 */
import { Ref, taskSpec, type Graph, type Key } from "../../graph/task-spec.js";
import { tokenize } from "../../graph/tokenize.js";
import { isTaskFunction, type TaskFunction } from "../task.js";
import { ChunkedArray, blockKey } from "./chunked-array.js";
import { blockIndices, type ChunksSpec, gridShape, linearIndex, normalizeChunks, sameChunks } from "../../kernels/array/chunks.js";
import { checkDType, type DType } from "../../kernels/array/dtype.js";
import { rechunk } from "./rechunk.js";

/** A function registered with `task()` that takes blocks (and extra arguments) and returns a block. */
export type BlockFunction = TaskFunction<never[], unknown>;

/** Options of {@link mapBlocks}. */
export interface MapBlocksOptions {
  /** dtype of the result. Default: the first array's. */
  readonly dtype?: DType;
  /**
   * Shape of the result, when the function changes block shapes (then give `chunks` too). Default:
   * the first array's.
   */
  readonly shape?: readonly number[];
  /** Chunks of the result (same number of blocks per axis as the inputs). Default: the first array's. */
  readonly chunks?: ChunksSpec;
  /** Plain arguments passed after the blocks, the same for every block. */
  readonly args?: readonly unknown[];
}

function checkFunction(fn: unknown, what: string): string {
  if (!isTaskFunction(fn)) throw new TypeError(`${what} takes a function registered with task(), so that every executor can run it`);
  return fn.taskName;
}

/**
 * Applies `fn` to each block of `arrays` (corresponding blocks together): `fn(blockA, blockB, ...
 * args)` must return a block `{ data, shape, dtype }`. Arrays of the same shape chunked differently
 * are rechunked like the first; all must have the same number of axes and blocks.
 *
 * @example
 * ```ts
 * const demean = task("demean", (b: Block) => { const m = mean(b.data); return { ...b, data: b.data.map((v) => v - m) }; });
 * mapBlocks(demean, [x]);
 * ```
 */
export function mapBlocks(fn: BlockFunction, arrays: ChunkedArray | readonly ChunkedArray[], options: MapBlocksOptions = {}): ChunkedArray {
  const name = checkFunction(fn, "mapBlocks");
  const list = arrays instanceof ChunkedArray ? [arrays] : [...arrays];
  if (list.length === 0) throw new RangeError("mapBlocks needs at least one array");
  const first = list[0];
  const inputs = list.map((array, k) => {
    if (array.ndim !== first.ndim) throw new RangeError(`mapBlocks: array ${k} has ${array.ndim} axes, array 0 has ${first.ndim}`);
    if (sameChunks(array.chunks, first.chunks)) return array;
    if (array.shape.every((n, d) => n === first.shape[d])) return rechunk(array, first.chunks);
    throw new RangeError(`mapBlocks: array ${k} of shape [${array.shape.join(", ")}] is not chunked like array 0`);
  });
  const dtype = options.dtype === undefined ? first.dtype : checkDType(options.dtype, "options.dtype");
  const shape = options.shape ?? first.shape;
  const chunks = options.chunks === undefined ? first.chunks.map((s) => [...s]) : normalizeChunks(shape, options.chunks);
  const grid = gridShape(first.chunks);
  if (chunks.length !== grid.length || chunks.some((sizes, d) => sizes.length !== grid[d])) {
    throw new RangeError(`mapBlocks: options.chunks must keep the inputs' number of blocks per axis [${grid.join(", ")}]`);
  }
  const extra = options.args ?? [];
  const token = `${name}-${tokenize(inputs.map((a) => a.name), extra, chunks, dtype)}`;
  const tasks: Graph = new Map();
  const keys: Key[] = blockIndices(grid).map((index, i) => {
    const key = blockKey(token, index);
    tasks.set(key, taskSpec(key, name, [...inputs.map((a) => new Ref(a.blockKeys()[i])), ...extra]));
    return key;
  });
  return new ChunkedArray([...shape], chunks, dtype, { name: token, keys, tasks, dependencies: inputs });
}

/** Options of {@link blockwise}. */
export interface BlockwiseOptions {
  /** dtype of the result. Default: the first array's. */
  readonly dtype?: DType;
  /** Block sizes per output index letter, when the function changes them (default: the inputs'). */
  readonly chunks?: Readonly<Record<string, readonly number[]>>;
  /** Plain arguments passed after the blocks. */
  readonly args?: readonly unknown[];
}

/**
 * Applies `fn` block by block with index letters (Dask's `blockwise`): `out` names the output axes,
 * each input is `[array, letters]`. Output block `[i, j, ...]` calls `fn` with, for each input, its
 * block at the letters' indices; a letter absent from `out` is contracted: that input is passed as
 * the list of its blocks along the contracted letters (row-major), for `fn` to combine.
 *
 * Arrays sharing a letter must be chunked alike along it.
 *
 * @example
 * ```ts
 * blockwise(blockMatmul, "ij", [[a, "ik"], [b, "kj"]], { chunks: ... }); // fn gets lists over k
 * blockwise(add2, "ij", [[x, "ij"], [y, "ji"]]); // x + y.T block by block
 * ```
 */
export function blockwise(fn: BlockFunction, out: string, inputs: readonly (readonly [ChunkedArray, string])[], options: BlockwiseOptions = {}): ChunkedArray {
  const fnName = checkFunction(fn, "blockwise");
  if (inputs.length === 0) throw new RangeError("blockwise needs at least one input");
  const letterChunks = new Map<string, readonly number[]>();
  inputs.forEach(([array, letters], k) => {
    if (!(array instanceof ChunkedArray)) throw new TypeError(`blockwise input ${k} must be an array`);
    if (letters.length !== array.ndim) throw new RangeError(`blockwise input ${k} has ${array.ndim} axes but index "${letters}"`);
    [...letters].forEach((letter, d) => {
      const known = letterChunks.get(letter);
      if (known === undefined) {
        letterChunks.set(letter, array.chunks[d]);
      } else if (known.length !== array.chunks[d].length || known.some((s, i) => s !== array.chunks[d][i])) {
        throw new RangeError(`blockwise: index "${letter}" is chunked differently in input ${k} (axis ${d}); rechunk first`);
      }
    });
  });
  for (const letter of out) {
    if (!letterChunks.has(letter)) throw new RangeError(`blockwise: output index "${letter}" appears in no input`);
  }
  const dtype = options.dtype === undefined ? inputs[0][0].dtype : checkDType(options.dtype, "options.dtype");
  const outLetters = [...out];
  const chunks = outLetters.map((letter) => [...(options.chunks?.[letter] ?? letterChunks.get(letter)!)]);
  chunks.forEach((sizes, d) => {
    if (sizes.length !== letterChunks.get(outLetters[d])!.length) throw new RangeError(`blockwise: options.chunks for "${outLetters[d]}" must keep its number of blocks`);
  });
  const shape = chunks.map((sizes) => sizes.reduce((a, b) => a + b, 0));
  const extra = options.args ?? [];
  const name = `${fnName}-${tokenize(out, inputs.map(([a, l]) => [a.name, l]), extra, chunks, dtype)}`;
  const tasks: Graph = new Map();
  const keys: Key[] = blockIndices(gridShape(chunks)).map((index) => {
    const at = new Map(outLetters.map((letter, d) => [letter, index[d]]));
    const args = inputs.map(([array, letters]) => {
      const contracted = [...new Set([...letters].filter((l) => !at.has(l)))];
      const grid = gridShape(array.chunks);
      const refFor = (extraAt: Map<string, number>) =>
        new Ref(array.blockKeys()[linearIndex([...letters].map((l) => at.get(l) ?? extraAt.get(l)!), grid)]);
      if (contracted.length === 0) return refFor(new Map());
      return blockIndices(contracted.map((l) => letterChunks.get(l)!.length)).map((combo) => refFor(new Map(contracted.map((l, c) => [l, combo[c]]))));
    });
    const key = blockKey(name, index);
    tasks.set(key, taskSpec(key, fnName, [...args, ...extra]));
    return key;
  });
  return new ChunkedArray(shape, chunks, dtype, { name, keys, tasks, dependencies: inputs.map(([a]) => a) });
}
