/** Linear algebra on 2-d arrays: `matmul` / `dot` and `tensordot`. */
import { Ref, taskSpec, type Graph } from "../../graph/task-spec.js";
import { tokenize } from "../../graph/tokenize.js";
import { ChunkedArray, blockKey } from "./chunked-array.js";
import { blockIndices, gridShape, linearIndex, refineChunks } from "../../kernels/array/chunks.js";
import { promote } from "../../kernels/array/dtype.js";
import { astype, elementwise } from "./elementwise.js";
import { MATMUL } from "../../kernels/array/linalg-kernels.js";
import { rechunk } from "./rechunk.js";
import { reduce } from "./reductions.js";
import { expandDims, transpose } from "./reshape.js";

/**
 * The matrix product of two 2-d arrays. The inner axis is rechunked to the common refinement of
 * both; output block `[i, j]` is one task summing `a[i, k] @ b[k, j]` over the blocks `k`, in
 * float64, cast to the promoted dtype.
 *
 * @example
 * ```ts
 * matmul(a, b); // a: [m, k], b: [k, n] -> [m, n]
 * ```
 */
export function matmul(a: ChunkedArray, b: ChunkedArray): ChunkedArray {
  if (a.ndim !== 2 || b.ndim !== 2) throw new RangeError(`matmul takes 2-d arrays; got ${a.ndim}-d and ${b.ndim}-d`);
  if (a.shape[1] !== b.shape[0]) throw new RangeError(`matmul: shapes [${a.shape.join(", ")}] and [${b.shape.join(", ")}] do not align (${a.shape[1]} != ${b.shape[0]})`);
  const dtype = promote(a.dtype, b.dtype);
  const inner = refineChunks(a.chunks[1], b.chunks[0]);
  const left = rechunk(a, [a.chunks[0], inner]);
  const right = rechunk(b, [inner, b.chunks[1]]);
  const chunks = [[...left.chunks[0]], [...right.chunks[1]]];
  const name = `matmul-${tokenize(left.name, right.name, dtype)}`;
  const tasks: Graph = new Map();
  const leftGrid = gridShape(left.chunks);
  const rightGrid = gridShape(right.chunks);
  const keys = blockIndices(gridShape(chunks)).map(([i, j]) => {
    const key = blockKey(name, [i, j]);
    const as = inner.map((_, k) => new Ref(left.blockKeys()[linearIndex([i, k], leftGrid)]));
    const bs = inner.map((_, k) => new Ref(right.blockKeys()[linearIndex([k, j], rightGrid)]));
    tasks.set(key, taskSpec(key, MATMUL, [dtype, as, bs]));
    return key;
  });
  return new ChunkedArray([a.shape[0], b.shape[1]], chunks, dtype, { name, keys, tasks, dependencies: [left, right] });
}

/** The same as {@link matmul} (for 2-d arrays, NumPy's `dot` is the matrix product). */
export function dot(a: ChunkedArray, b: ChunkedArray): ChunkedArray {
  return matmul(a, b);
}

/**
 * Sums products over the paired axes of two 2-d arrays (NumPy's `tensordot`): `axes = n` pairs the
 * last `n` axes of `a` with the first `n` of `b` (default 2, as in NumPy); `[[...], [...]]` names the
 * pairs. The result has the free axes of `a`, then those of `b`.
 *
 * @example
 * ```ts
 * tensordot(a, b, 1); // matmul
 * tensordot(a, b, [[0], [0]]); // a.T @ b
 * tensordot(a, b, 0); // outer product, 4-d
 * ```
 */
export function tensordot(a: ChunkedArray, b: ChunkedArray, axes: number | readonly [readonly number[], readonly number[]] = 2): ChunkedArray {
  if (a.ndim !== 2 || b.ndim !== 2) throw new RangeError(`tensordot takes 2-d arrays; got ${a.ndim}-d and ${b.ndim}-d`);
  let aAxes: number[];
  let bAxes: number[];
  if (typeof axes === "number") {
    if (!Number.isInteger(axes) || axes < 0 || axes > 2) throw new RangeError(`tensordot axes must be 0, 1, 2 or pairs of axes; got ${axes}`);
    aAxes = [0, 1].slice(2 - axes);
    bAxes = [0, 1].slice(0, axes);
  } else {
    if (!Array.isArray(axes) || axes.length !== 2 || axes[0].length !== axes[1].length) {
      throw new RangeError("tensordot axes pairs must be two lists of equal length");
    }
    const norm = (list: readonly number[], what: string) =>
      list.map((x) => {
        if (!Number.isInteger(x) || x < -2 || x > 1) throw new RangeError(`tensordot: axis ${x} of ${what} is out of range for 2 axes`);
        return x < 0 ? x + 2 : x;
      });
    aAxes = norm(axes[0], "a");
    bAxes = norm(axes[1], "b");
    if (new Set(aAxes).size !== aAxes.length || new Set(bAxes).size !== bAxes.length) throw new RangeError("tensordot: an axis is paired twice");
  }
  aAxes.forEach((x, k) => {
    if (a.shape[x] !== b.shape[bAxes[k]]) throw new RangeError(`tensordot: axis ${x} of a (${a.shape[x]}) and axis ${bAxes[k]} of b (${b.shape[bAxes[k]]}) differ in length`);
  });
  const dtype = promote(a.dtype, b.dtype);
  if (aAxes.length === 0) {
    // Outer product: a[i, j, 1, 1] * b[k, l] broadcasts to [i, j, k, l].
    return elementwise("multiply", [expandDims(expandDims(astype(a, dtype), 2), 3), astype(b, dtype)]);
  }
  if (aAxes.length === 1) {
    const left = aAxes[0] === 1 ? a : transpose(a);
    const right = bAxes[0] === 0 ? b : transpose(b);
    return matmul(left, right);
  }
  const product = elementwise("multiply", [transpose(a, aAxes), transpose(b, bAxes)]);
  return reduce(product, "sum");
}
