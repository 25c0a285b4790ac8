/** Joining arrays: `concatenate` along an existing axis, `stack` along a new one. */
import { tokenize } from "../../graph/tokenize.js";
import { ChunkedArray } from "./chunked-array.js";
import { blockIndices, gridShape, linearIndex, refineChunks } from "../../kernels/array/chunks.js";
import { promote } from "../../kernels/array/dtype.js";
import { astype } from "./elementwise.js";
import { rechunk } from "./rechunk.js";
import { expandDims } from "./reshape.js";

/**
 * The arrays joined along `axis` (default 0). Shapes must agree on every other axis; dtypes are
 * promoted; the other axes are rechunked to the common refinement of the inputs' chunks. The blocks
 * of the result are the inputs' own blocks: concatenation adds no task.
 *
 * @example
 * ```ts
 * concatenate([a, b], 1);
 * ```
 */
export function concatenate(arrays: readonly ChunkedArray[], axis = 0): ChunkedArray {
  if (arrays.length === 0) throw new RangeError("concatenate needs at least one array");
  const ndim = arrays[0].ndim;
  if (ndim === 0) throw new RangeError("0-d arrays cannot be concatenated; use stack");
  const d = axis < 0 ? axis + ndim : axis;
  if (!Number.isInteger(d) || d < 0 || d >= ndim) throw new RangeError(`concatenate: axis ${axis} is out of range for ${ndim} axes`);
  arrays.forEach((array, k) => {
    if (array.ndim !== ndim) throw new RangeError(`concatenate: array ${k} has ${array.ndim} axes, array 0 has ${ndim}`);
    array.shape.forEach((length, a) => {
      if (a !== d && length !== arrays[0].shape[a]) {
        throw new RangeError(`concatenate: array ${k} has length ${length} on axis ${a}, array 0 has ${arrays[0].shape[a]}`);
      }
    });
  });
  const dtype = arrays.map((a) => a.dtype).reduce(promote);
  const common = arrays[0].chunks.map((sizes, a) => (a === d ? undefined : arrays.reduce<number[]>((acc, array) => refineChunks(acc, array.chunks[a]), [...sizes])));
  const aligned = arrays.map((array) => rechunk(astype(array, dtype), array.chunks.map((sizes, a) => common[a] ?? sizes)));
  const chunks = common.map((sizes, a) => sizes ?? aligned.flatMap((array) => [...array.chunks[a]]));
  const shape = arrays[0].shape.map((length, a) => (a === d ? arrays.reduce((n, array) => n + array.shape[a], 0) : length));
  // Output block i along the axis is block j of input k.
  const owner: [number, number][] = aligned.flatMap((array, k) => array.chunks[d].map((_, j): [number, number] => [k, j]));
  const keys = blockIndices(gridShape(chunks)).map((index) => {
    const [k, j] = owner[index[d]];
    const input = aligned[k];
    const inner = index.map((b, a) => (a === d ? j : b));
    return input.blockKeys()[linearIndex(inner, gridShape(input.chunks))];
  });
  const name = `concatenate-${tokenize(aligned.map((a) => a.name), d)}`;
  return new ChunkedArray(shape, chunks, dtype, { name, keys, tasks: new Map(), dependencies: aligned });
}

/**
 * The arrays (all of one shape) stacked along a new axis `axis` (default 0).
 *
 * @example
 * ```ts
 * stack([a, b, c]); // shape [3, ...a.shape]
 * ```
 */
export function stack(arrays: readonly ChunkedArray[], axis = 0): ChunkedArray {
  if (arrays.length === 0) throw new RangeError("stack needs at least one array");
  arrays.forEach((array, k) => {
    if (array.ndim !== arrays[0].ndim || array.shape.some((n, a) => n !== arrays[0].shape[a])) {
      throw new RangeError(`stack: array ${k} has shape [${array.shape.join(", ")}], array 0 has [${arrays[0].shape.join(", ")}]`);
    }
  });
  const d = axis < 0 ? axis + arrays[0].ndim + 1 : axis;
  return concatenate(arrays.map((array) => expandDims(array, d)), d);
}
