/** Shape changes: transposition (free, folded into kernels), reshape, and new length-1 axes. */
import { Ref, taskSpec, type Graph, type Key } from "../../graph/task-spec.js";
import { tokenize } from "../../graph/tokenize.js";
import { ChunkedArray, blockKey, eachBlock } from "./chunked-array.js";
import { blockIndices, blockShape, gridShape, offsetsOf, sizeOf } from "../../kernels/array/chunks.js";
import { RESHAPE_BLOCK } from "../../kernels/array/assemble-kernels.js";
import { rechunk } from "./rechunk.js";
import { leafOf, permuteAxes } from "./term.js";

/**
 * `array` with its axes permuted: axis `d` of the result is axis `axes[d]` of `array` (default:
 * reversed). No task of its own: the permutation is read by the kernel that consumes it (an
 * elementwise expression, a reduction), or made into one copying task per block when needed alone.
 */
export function transpose(array: ChunkedArray, axes?: readonly number[]): ChunkedArray {
  const perm = axes === undefined ? array.shape.map((_, d) => array.ndim - 1 - d) : [...axes];
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== array.ndim || sorted.some((a, d) => a !== d)) {
    throw new RangeError(`transpose axes must be a permutation of 0..${array.ndim - 1}; got [${perm.join(", ")}]`);
  }
  if (perm.every((a, d) => a === d)) return array;
  return new ChunkedArray(
    perm.map((d) => array.shape[d]),
    perm.map((d) => array.chunks[d]),
    array.dtype,
    permuteAxes(leafOf(array), perm),
  );
}

/** A shape with its one `-1` worked out from `size`, or a RangeError. */
function resolveShape(shape: readonly number[], size: number): number[] {
  const unknown = shape.filter((n) => n === -1).length;
  if (unknown > 1) throw new RangeError("reshape takes at most one -1");
  shape.forEach((n, axis) => {
    if (n !== -1 && (!Number.isInteger(n) || n < 0)) throw new RangeError(`reshape length on axis ${axis} must be a whole number >= 0 or -1; got ${n}`);
  });
  const known = sizeOf(shape.filter((n) => n !== -1));
  const out = shape.map((n) => (n === -1 ? (known === 0 ? 0 : size / known) : n));
  if (sizeOf(out) !== size || out.some((n) => !Number.isInteger(n))) {
    throw new RangeError(`cannot reshape an array of ${size} elements into [${shape.join(", ")}]`);
  }
  return out;
}

/**
 * `array` with a new shape, elements in row-major order (NumPy's `reshape`). Leading axes that keep
 * their length keep their chunks. After them, as in Dask:
 * - axes merged into one (`[a, b, c] -> [a * b * c]`) keep the chunks of the first, and the others are
 *   rechunked to one block each;
 * - an axis split into several (`[a * b] -> [a, b]`) is rechunked at multiples of the trailing lengths
 *   (`b`), so the first new axis takes its chunks and the others are whole;
 * - any other change rechunks the remaining axes to one block.
 * Each block is then reshaped where it is, without copying.
 *
 * @example
 * ```ts
 * reshape(x, [100, -1]);
 * ```
 */
export function reshape(array: ChunkedArray, shape: readonly number[]): ChunkedArray {
  const target = resolveShape(shape, array.size);
  if (target.length === array.ndim && target.every((n, d) => n === array.shape[d])) return array;
  let prefix = 0;
  while (prefix < Math.min(target.length, array.ndim) && target[prefix] === array.shape[prefix]) prefix++;
  const kept = array.chunks.slice(0, prefix).map((s) => [...s]);
  const restIn = array.shape.slice(prefix);
  const restOut = target.slice(prefix);
  if (array.size > 0 && restIn.length > 1 && restOut.length === 1) {
    const inner = sizeOf(restIn.slice(1));
    const source = rechunk(array, array.chunks.map((sizes, d) => (d <= prefix ? sizes : -1)));
    return perBlock(source, target, [...kept, source.chunks[prefix].map((c) => c * inner)], "reshape");
  }
  if (array.size > 0 && restIn.length === 1 && restOut.length > 1) {
    const inner = sizeOf(restOut.slice(1));
    const aligned = alignedChunks(array.chunks[prefix], inner, restIn[0]);
    const source = rechunk(array, [...kept, aligned]);
    return perBlock(source, target, [...kept, aligned.map((c) => c / inner), ...restOut.slice(1).map((n) => [n])], "reshape");
  }
  const source = rechunk(array, array.chunks.map((sizes, d) => (d < prefix ? sizes : -1)));
  return perBlock(source, target, [...kept, ...restOut.map((n) => [n])], "reshape");
}

/** Block sizes along an axis of `length` with every cut moved to the nearest multiple of `step` (at least one block). */
function alignedChunks(sizes: readonly number[], step: number, length: number): number[] {
  const cuts = new Set<number>();
  for (const offset of offsetsOf(sizes).slice(1, -1)) {
    const cut = Math.round(offset / step) * step;
    if (cut > 0 && cut < length) cuts.add(cut);
  }
  const sorted = [0, ...[...cuts].sort((a, b) => a - b), length];
  return sorted.slice(1).map((cut, i) => cut - sorted[i]);
}

/** `array` with a new axis of length 1 at `axis` (NumPy's `expand_dims`). */
export function expandDims(array: ChunkedArray, axis: number): ChunkedArray {
  const d = axis < 0 ? axis + array.ndim + 1 : axis;
  if (!Number.isInteger(d) || d < 0 || d > array.ndim) throw new RangeError(`expandDims: axis ${axis} is out of range for ${array.ndim + 1} axes`);
  const shape = [...array.shape.slice(0, d), 1, ...array.shape.slice(d)];
  const chunks = [...array.chunks.slice(0, d).map((s) => [...s]), [1], ...array.chunks.slice(d).map((s) => [...s])];
  return perBlock(array, shape, chunks, "expand-dims");
}

/** One reshaping task per block: block `i` of `source` becomes block `i` of the result, whose grid has the same blocks in the same order. */
function perBlock(source: ChunkedArray, shape: readonly number[], chunks: number[][], prefix: string): ChunkedArray {
  const name = `${prefix}-${tokenize(source.name, shape, chunks)}`;
  const tasks: Graph = new Map();
  const targetIndices = blockIndices(gridShape(chunks));
  const keys: Key[] = eachBlock(source).map(({ key: input }, i) => {
    const index = targetIndices[i];
    const key = blockKey(name, index);
    tasks.set(key, taskSpec(key, RESHAPE_BLOCK, [new Ref(input), blockShape(chunks, index)]));
    return key;
  });
  return new ChunkedArray(shape, chunks, source.dtype, { name, keys, tasks, dependencies: [source] });
}
