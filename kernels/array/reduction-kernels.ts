/**
 * Task functions of tree reductions. Each block is first reduced to a partial *state* over the
 * reduced axes (kept with length 1), states of blocks along the reduced axes are combined in a tree,
 * and the last step turns the state into the result block. States are plain objects of Float64Arrays
 * so they travel between threads and processes as they are.
 *
 * A block's partial may come straight from a fused elementwise program: for a reduction over all
 * axes the elements are folded as they are computed and never stored.
 */
import { registerTask } from "../../protocol/task-registry.js";
import { type Block, checkBlock, stridesOf, BORROWS_INPUTS } from "./block.js";
import { sizeOf } from "./chunks.js";
import { accumulateProgram, type AccumulateMode, type ElementwiseProgram, evaluateProgram } from "./compile-kernel.js";
import { type DType, storageOf } from "./dtype.js";
import { castNumber } from "./elementwise-ops.js";

const here = import.meta.url;

/** The reductions arrays support. */
export type ReductionMode = "sum" | "prod" | "min" | "max" | "any" | "all" | "mean" | "var" | "std" | "argmin" | "argmax";

/** A partial result: per output element, what the mode needs (`n` counts elements, the same for all). */
export interface ReductionState {
  readonly n: number;
  readonly v: Float64Array;
  /** Sum of squared deviations from `v` (the mean), for var and std. */
  readonly m2?: Float64Array;
  /** Global index of the extreme `v`, for argmin and argmax. */
  readonly i?: Float64Array;
}

/** `weft.array.reducePartial(mode, axes, start, arrayShape, program, shape, ...blocks)`. */
export const REDUCE_PARTIAL = "weft.array.reducePartial";
/** `weft.array.reduceCombine(mode, states)`. */
export const REDUCE_COMBINE = "weft.array.reduceCombine";
/** `weft.array.reduceFinalize(mode, states, dtype, shape, ddof)`. */
export const REDUCE_FINALIZE = "weft.array.reduceFinalize";

const MODES: readonly ReductionMode[] = ["sum", "prod", "min", "max", "any", "all", "mean", "var", "std", "argmin", "argmax"];

/** Refuses a reduction name that is not one of {@link ReductionMode} (graphs may come from anywhere). */
function checkMode(mode: unknown): ReductionMode {
  if (!(MODES as readonly unknown[]).includes(mode)) throw new TypeError(`unknown reduction ${JSON.stringify(mode)}`);
  return mode as ReductionMode;
}

const FOLDED: Partial<Record<ReductionMode, AccumulateMode>> = { sum: "sum", prod: "prod", min: "min", max: "max", any: "any", all: "all", mean: "sum" };

/**
 * The state of one block: the block is `blocks[0]` when `program` is null, else what `program`
 * computes over `blocks` with `shape`. `axes` are the reduced axes, `start` the block's position in
 * the array of `arrayShape` (argmin and argmax report global indices).
 */
export function reducePartial(
  mode: ReductionMode,
  axes: readonly number[],
  start: readonly number[],
  arrayShape: readonly number[],
  program: ElementwiseProgram | null,
  shape: readonly number[],
  ...blocks: Block[]
): ReductionState {
  const folded = FOLDED[checkMode(mode)];
  if (program !== null && folded !== undefined && axes.length === shape.length) {
    const n = sizeOf(shape);
    const value = accumulateProgram(program, shape, blocks, folded);
    return { n, v: Float64Array.of(mode === "mean" ? (n === 0 ? NaN : value / n) : value) };
  }
  const block = program === null ? checkBlock(blocks[0], "a reduced block") : evaluateProgram(program, shape, blocks);
  return partialOf(mode, axes, start, arrayShape, block);
}

function partialOf(mode: ReductionMode, axes: readonly number[], start: readonly number[], arrayShape: readonly number[], block: Block): ReductionState {
  const shape = block.shape;
  const nd = shape.length;
  const reduced = shape.map((_, d) => axes.includes(d));
  const outShape = shape.map((length, d) => (reduced[d] ? 1 : length));
  const outStrides = stridesOf(outShape).map((s, d) => (reduced[d] ? 0 : s));
  const outSize = sizeOf(outShape);
  const n = sizeOf(shape) / Math.max(outSize, 1);
  const data = block.data;
  const v = new Float64Array(outSize).fill(initial(mode));
  const i = mode === "argmin" || mode === "argmax" ? new Float64Array(outSize).fill(-1) : undefined;
  const arrayStrides = stridesOf(arrayShape);
  const index = new Array<number>(nd).fill(0);
  const total = sizeOf(shape);
  let o = 0;
  for (let e = 0; e < total; e++) {
    const x = data[e];
    switch (mode) {
      case "sum":
      case "mean":
      case "var":
      case "std":
        v[o] += x;
        break;
      case "prod":
        v[o] *= x;
        break;
      case "min":
        if (x < v[o] || x !== x) v[o] = x;
        break;
      case "max":
        if (x > v[o] || x !== x) v[o] = x;
        break;
      case "any":
        if (x !== 0) v[o] = 1;
        break;
      case "all":
        if (x === 0) v[o] = 0;
        break;
      case "argmin":
      case "argmax":
        if (i![o] < 0 || better(mode, x, v[o])) {
          v[o] = x;
          i![o] = globalIndex(index, start, arrayStrides, axes, nd);
        }
        break;
    }
    for (let d = nd - 1; d >= 0; d--) {
      index[d]++;
      o += outStrides[d];
      if (index[d] < shape[d]) break;
      o -= outStrides[d] * shape[d];
      index[d] = 0;
    }
  }
  if (mode === "mean" || mode === "var" || mode === "std") {
    for (let k = 0; k < outSize; k++) v[k] = n === 0 ? NaN : v[k] / n;
  }
  if (mode !== "var" && mode !== "std") return i === undefined ? { n, v } : { n, v, i };
  // Second pass: squared deviations from each output element's mean.
  const m2 = new Float64Array(outSize);
  index.fill(0);
  o = 0;
  for (let e = 0; e < total; e++) {
    const dev = data[e] - v[o];
    m2[o] += dev * dev;
    for (let d = nd - 1; d >= 0; d--) {
      index[d]++;
      o += outStrides[d];
      if (index[d] < shape[d]) break;
      o -= outStrides[d] * shape[d];
      index[d] = 0;
    }
  }
  return { n, v, m2 };
}

/** argmin/argmax over all axes report the row-major position in the whole array; over one axis, the position along it. */
function globalIndex(index: readonly number[], start: readonly number[], arrayStrides: readonly number[], axes: readonly number[], nd: number): number {
  if (axes.length === 1 && nd > 1) return start[axes[0]] + index[axes[0]];
  let g = 0;
  for (let d = 0; d < nd; d++) g += (start[d] + index[d]) * arrayStrides[d];
  return g;
}

/** True when `x` should replace `current` as the extreme (the first NaN wins, as in NumPy). */
function better(mode: "argmin" | "argmax", x: number, current: number): boolean {
  if (current !== current) return false;
  if (x !== x) return true;
  return mode === "argmin" ? x < current : x > current;
}

function initial(mode: ReductionMode): number {
  switch (mode) {
    case "prod":
    case "all":
      return 1;
    case "min":
      return Infinity;
    case "max":
      return -Infinity;
    default:
      return 0;
  }
}

/** Merges states of blocks along the reduced axes (same shapes), in order. */
export function reduceCombine(mode: ReductionMode, states: readonly ReductionState[]): ReductionState {
  checkMode(mode);
  let acc = states[0];
  for (let k = 1; k < states.length; k++) acc = merge(mode, acc, states[k]);
  return acc;
}

function merge(mode: ReductionMode, a: ReductionState, b: ReductionState): ReductionState {
  const size = a.v.length;
  const v = new Float64Array(size);
  const n = a.n + b.n;
  if (mode === "mean" || mode === "var" || mode === "std") {
    // Chan et al.'s pairwise update: exact in exact arithmetic, stable in floating point.
    const m2 = mode === "mean" ? undefined : new Float64Array(size);
    for (let k = 0; k < size; k++) {
      const delta = b.v[k] - a.v[k];
      v[k] = n === 0 ? NaN : a.v[k] + (delta * b.n) / n;
      if (m2 !== undefined) m2[k] = a.m2![k] + b.m2![k] + (n === 0 ? 0 : (delta * delta * a.n * b.n) / n);
    }
    return m2 === undefined ? { n, v } : { n, v, m2 };
  }
  if (mode === "argmin" || mode === "argmax") {
    const i = new Float64Array(size);
    for (let k = 0; k < size; k++) {
      // a comes first in the array, so ties keep a's index.
      const takeB = better(mode, b.v[k], a.v[k]);
      v[k] = takeB ? b.v[k] : a.v[k];
      i[k] = takeB ? b.i![k] : a.i![k];
    }
    return { n, v, i };
  }
  for (let k = 0; k < size; k++) {
    const x = a.v[k];
    const y = b.v[k];
    switch (mode) {
      case "sum":
        v[k] = x + y;
        break;
      case "prod":
        v[k] = x * y;
        break;
      case "min":
        v[k] = x !== x || y !== y ? NaN : Math.min(x, y);
        break;
      case "max":
        v[k] = x !== x || y !== y ? NaN : Math.max(x, y);
        break;
      case "any":
        v[k] = x !== 0 || y !== 0 ? 1 : 0;
        break;
      case "all":
        v[k] = x !== 0 && y !== 0 ? 1 : 0;
        break;
    }
  }
  return { n, v };
}

/** The result block of `shape` and `dtype` from the last states. */
export function reduceFinalize(mode: ReductionMode, states: readonly ReductionState[], dtype: DType, shape: readonly number[], ddof: number): Block {
  const state = reduceCombine(mode, states);
  const data = new (storageOf(dtype))(state.v.length);
  for (let k = 0; k < data.length; k++) {
    let x: number;
    switch (mode) {
      case "var":
        x = state.m2![k] / (state.n - ddof);
        break;
      case "std":
        x = Math.sqrt(state.m2![k] / (state.n - ddof));
        break;
      case "argmin":
      case "argmax":
        x = state.i![k];
        break;
      default:
        x = state.v[k];
    }
    data[k] = castNumber(x, dtype);
  }
  return { data, shape: [...shape], dtype };
}

registerTask(REDUCE_PARTIAL, reducePartial, here, BORROWS_INPUTS);
registerTask(REDUCE_COMBINE, reduceCombine, here, BORROWS_INPUTS);
registerTask(REDUCE_FINALIZE, reduceFinalize, here, BORROWS_INPUTS);
