/**
 * Reductions as tree reductions, like Dask's `reduction`: one partial task per block (fused with the
 * elementwise chain that feeds it, if any), then combine tasks each merging up to `splitEvery`
 * states, level by level, and a last task making the result block. Memory and parallelism stay
 * bounded whatever the number of blocks.
 */
import { Ref, taskSpec, type Graph, type Key } from "../../graph/task-spec.js";
import { tokenize } from "../../graph/tokenize.js";
import { ChunkedArray, blockKey, type GraphSource } from "./chunked-array.js";
import { blockIndices, blockShape, gridShape, linearIndex, offsetsOf } from "../../kernels/array/chunks.js";
import { type DType, sumDType } from "../../kernels/array/dtype.js";
import { compileTerm, leafRefs } from "./elementwise.js";
import { REDUCE_COMBINE, REDUCE_FINALIZE, REDUCE_PARTIAL, type ReductionMode } from "../../kernels/array/reduction-kernels.js";
import { isIdentityLeaf } from "./term.js";

export type { ReductionMode } from "../../kernels/array/reduction-kernels.js";

/** Options of the reductions. */
export interface ReductionOptions {
  /** The axis or axes to reduce; negative counts from the end. Default: all axes. */
  readonly axis?: number | readonly number[];
  /** Keep reduced axes with length 1, so the result broadcasts against the input. Default false. */
  readonly keepdims?: boolean;
  /** Most states one combine task merges (the tree's fan-in), at least 2. Default 16. */
  readonly splitEvery?: number;
  /** Delta degrees of freedom of `var` and `std`: the divisor is `n - ddof`. Default 0. */
  readonly ddof?: number;
}

/** The default fan-in of reduction trees. */
export const DEFAULT_SPLIT_EVERY = 16;

/** Checks and normalizes axis arguments (negative from the end, no repeats), naming the bad one. */
export function normalizeAxes(axis: number | readonly number[] | undefined, ndim: number, what: string): number[] {
  if (axis === undefined) return Array.from({ length: ndim }, (_, d) => d);
  const list = typeof axis === "number" ? [axis] : [...axis];
  const out: number[] = [];
  for (const a of list) {
    if (!Number.isInteger(a) || a < -ndim || a >= ndim) throw new RangeError(`${what}: axis ${a} is out of range for an array of ${ndim} axes`);
    const d = a < 0 ? a + ndim : a;
    if (out.includes(d)) throw new RangeError(`${what}: axis ${a} is repeated`);
    out.push(d);
  }
  return out.sort((x, y) => x - y);
}

function resultDType(mode: ReductionMode, dtype: DType): DType {
  switch (mode) {
    case "sum":
    case "prod":
      return sumDType(dtype);
    case "mean":
    case "var":
    case "std":
      return dtype === "float32" ? "float32" : "float64";
    case "min":
    case "max":
      return dtype;
    case "any":
    case "all":
      return "bool";
    case "argmin":
    case "argmax":
      return "int32";
  }
}

/**
 * `array` reduced with `mode` over `options.axis` (default all axes).
 *
 * Result dtypes: sums and products of integers and bools are float64 (weft has no int64); mean, var
 * and std are float32 for float32 input, else float64; min and max keep the dtype; any and all are
 * bool; argmin and argmax are int32 positions — along the axis, or row-major in the whole array when
 * reducing all axes (they take one axis or all). Accumulation is in float64.
 *
 * @example
 * ```ts
 * reduce(x, "sum", { axis: 0 });
 * reduce(x, "std", { axis: [0, 1], ddof: 1, splitEvery: 4 });
 * ```
 */
export function reduce(array: ChunkedArray, mode: ReductionMode, options: ReductionOptions = {}): ChunkedArray {
  const axes = normalizeAxes(options.axis, array.ndim, mode);
  const keepdims = options.keepdims ?? false;
  const splitEvery = options.splitEvery ?? DEFAULT_SPLIT_EVERY;
  const ddof = options.ddof ?? 0;
  if (!Number.isInteger(splitEvery) || splitEvery < 2) throw new RangeError(`splitEvery must be a whole number >= 2; got ${splitEvery}`);
  if (!Number.isFinite(ddof) || ddof < 0) throw new RangeError(`ddof must be a number >= 0; got ${ddof}`);
  if ((mode === "argmin" || mode === "argmax") && axes.length !== 1 && axes.length !== array.ndim) {
    throw new RangeError(`${mode} takes one axis or all axes; got ${axes.length} of ${array.ndim}`);
  }
  if ((mode === "argmin" || mode === "argmax" || mode === "min" || mode === "max") && axes.some((d) => array.shape[d] === 0)) {
    throw new RangeError(`${mode} of an empty axis has no result`);
  }
  const dtype = resultDType(mode, array.dtype);
  const token = tokenize(mode, axes, keepdims, splitEvery, ddof);

  // Partials: one per input block, fused with the elementwise expression when there is one.
  const term = array.term !== undefined && !isIdentityLeaf(array.term) ? array.term : undefined;
  const compiled = term === undefined ? undefined : compileTerm(term, array.dtype);
  const source = compiled === undefined ? array : undefined;
  const inputNames = compiled === undefined ? [array.name] : compiled.leaves.map((l) => l.array.name);
  const name = `${mode}-${tokenize(token, inputNames, compiled?.program ?? null, array.chunks)}`;
  const offsets = array.chunks.map(offsetsOf);
  const grid = gridShape(array.chunks);
  const tasks: Graph = new Map();
  const partialKeys: Key[] = blockIndices(grid).map((index) => {
    const key = blockKey(`${name}-partial`, index);
    const start = index.map((b, axis) => offsets[axis][b]);
    const shape = blockShape(array.chunks, index);
    const inputs = source !== undefined ? [new Ref(source.blockKeys()[linearIndex(index, grid)])] : leafRefs(compiled!.leaves, index, array.shape);
    tasks.set(key, taskSpec(key, REDUCE_PARTIAL, [mode, axes, start, array.shape, compiled?.program ?? null, shape, ...inputs]));
    return key;
  });

  // Per output block: the partials along the reduced axes, merged in a tree.
  const outGrid = grid.map((n, d) => (axes.includes(d) ? 1 : n));
  const reducedGrid = grid.map((n, d) => (axes.includes(d) ? n : 1));
  const outChunks = array.chunks.map((sizes, d) => (axes.includes(d) ? [1] : [...sizes]));
  const kept = <T>(list: readonly T[]): T[] => list.filter((_, d) => keepdims || !axes.includes(d));
  let level = 0;
  const keys: Key[] = blockIndices(outGrid).map((outIndex) => {
    let group = blockIndices(reducedGrid).map((inner) => {
      const index = outIndex.map((b, d) => (axes.includes(d) ? inner[d] : b));
      return partialKeys[linearIndex(index, grid)];
    });
    for (level = 0; group.length > splitEvery; level++) {
      const next: Key[] = [];
      for (let k = 0; k < group.length; k += splitEvery) {
        const key = blockKey(`${name}-combine${level}`, [...outIndex, k / splitEvery]);
        tasks.set(key, taskSpec(key, REDUCE_COMBINE, [mode, group.slice(k, k + splitEvery).map((g) => new Ref(g))]));
        next.push(key);
      }
      group = next;
    }
    const key = blockKey(name, kept(outIndex));
    const shape = kept(blockShape(outChunks, outIndex));
    tasks.set(key, taskSpec(key, REDUCE_FINALIZE, [mode, group.map((g) => new Ref(g)), dtype, shape, ddof]));
    return key;
  });
  const dependencies: GraphSource[] = source !== undefined ? [source] : [...new Set(compiled!.leaves.map((l) => l.array))];
  return new ChunkedArray(kept(array.shape.map((n, d) => (axes.includes(d) ? 1 : n))), kept(outChunks), dtype, {
    name,
    keys,
    tasks,
    dependencies,
  });
}
