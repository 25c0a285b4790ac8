/**
 * A straightforward dense implementation of the array operations, element by element in float64
 * with the same dtype rules, that the chunked arrays are checked against. Written for clarity, not
 * speed: every function walks every element by its N-d index.
 */
import { expect } from "vitest";
import type { ChunkedArray, DenseArray } from "../../../client/array/chunked-array.js";
import { fromArray } from "../../../client/array/creation.js";
import { type DType, storageOf } from "../../../kernels/array/dtype.js";
import { castNumber } from "../../../kernels/array/elementwise-ops.js";

export interface Dense {
  readonly data: ArrayLike<number>;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Every N-d index of a shape, row-major. */
export function indices(shape: readonly number[]): number[][] {
  const out: number[][] = [];
  const total = size(shape);
  for (let n = 0; n < total; n++) {
    const index: number[] = [];
    let rest = n;
    for (let d = shape.length - 1; d >= 0; d--) {
      index.unshift(rest % shape[d]);
      rest = Math.floor(rest / shape[d]);
    }
    out.push(index);
  }
  return out;
}

export function offset(shape: readonly number[], index: readonly number[]): number {
  let at = 0;
  for (let d = 0; d < shape.length; d++) at = at * shape[d] + index[d];
  return at;
}

export function at(a: Dense, index: readonly number[]): number {
  return a.data[offset(a.shape, index)];
}

export function make(shape: readonly number[], dtype: DType, f: (index: number[]) => number): Dense {
  const data = new (storageOf(dtype))(size(shape));
  indices(shape).forEach((index, n) => {
    data[n] = castNumber(f(index), dtype);
  });
  return { data, shape: [...shape], dtype };
}

/** Elementwise `f` over broadcast operands (arrays or numbers), cast to `dtype`. */
export function broadcastMap(operands: readonly (Dense | number)[], dtype: DType, f: (...values: number[]) => number): Dense {
  const shapes = operands.filter((o): o is Dense => typeof o !== "number").map((o) => o.shape);
  const ndim = Math.max(0, ...shapes.map((s) => s.length));
  const shape = new Array<number>(ndim).fill(1);
  for (const s of shapes) s.forEach((n, d) => (shape[d + ndim - s.length] = Math.max(shape[d + ndim - s.length], n)));
  return make(shape, dtype, (index) =>
    f(
      ...operands.map((o) => {
        if (typeof o === "number") return o;
        const own = index.slice(ndim - o.shape.length).map((i, d) => (o.shape[d] === 1 ? 0 : i));
        return at(o, own);
      }),
    ),
  );
}

export function transpose(a: Dense, axes = a.shape.map((_, d) => a.shape.length - 1 - d)): Dense {
  const shape = axes.map((d) => a.shape[d]);
  return make(shape, a.dtype, (index) => {
    const own = new Array<number>(a.shape.length);
    axes.forEach((d, k) => (own[d] = index[k]));
    return at(a, own);
  });
}

/** Reduces over `axes` with `f`, which receives the values of one output element in row-major order and their positions. */
export function reduceDense(a: Dense, axes: readonly number[], dtype: DType, f: (values: number[], positions: number[][]) => number, keepdims = false): Dense {
  const outShape = a.shape.map((n, d) => (axes.includes(d) ? 1 : n));
  const groups = new Map<number, { values: number[]; positions: number[][] }>();
  for (const index of indices(a.shape)) {
    const key = offset(outShape, index.map((i, d) => (axes.includes(d) ? 0 : i)));
    let group = groups.get(key);
    if (group === undefined) groups.set(key, (group = { values: [], positions: [] }));
    group.values.push(at(a, index));
    group.positions.push(index);
  }
  const full = make(outShape, dtype, (index) => {
    const group = groups.get(offset(outShape, index))!;
    return f(group.values, group.positions);
  });
  return keepdims ? full : { ...full, shape: a.shape.filter((_, d) => !axes.includes(d)) };
}

export function matmul(a: Dense, b: Dense, dtype: DType): Dense {
  const [m, k] = a.shape;
  const n = b.shape[1];
  return make([m, n], dtype, ([i, j]) => {
    let sum = 0;
    for (let t = 0; t < k; t++) sum += at(a, [i, t]) * at(b, [t, j]);
    return sum;
  });
}

/** A random dense array with values suited to `dtype` (small integers for integers, 0/1 for bool). */
export function randomDense(shape: readonly number[], dtype: DType, random: () => number): Dense {
  return make(shape, dtype, () => {
    switch (dtype) {
      case "bool":
        return random() < 0.5 ? 1 : 0;
      case "uint8":
        return Math.floor(random() * 256);
      case "int32":
        return Math.floor(random() * 2001) - 1000;
      default:
        return (random() - 0.5) * 20;
    }
  });
}

/** Random chunk sizes for an axis of `length`: uneven, at least one block. */
export function randomChunks(length: number, random: () => number): number[] {
  if (length === 0) return [0];
  const sizes: number[] = [];
  let left = length;
  while (left > 0) {
    const size = Math.min(left, 1 + Math.floor(random() * Math.max(1, Math.ceil(length / 2))));
    sizes.push(size);
    left -= size;
  }
  return sizes;
}

/**
 * Asserts `actual` equals `expected`: same shape and dtype, and every element equal to within
 * `relative` of its magnitude (float64: 1e-12), NaNs in the same places. `scale` widens the
 * tolerance for sums, whose error grows with the sum of magnitudes rather than with the result.
 */
export function expectClose(actual: DenseArray, expected: Dense, relative = 1e-12, scale?: ArrayLike<number>): void {
  expect(actual.shape).toEqual(expected.shape);
  expect(actual.dtype).toBe(expected.dtype);
  expect(actual.data.length).toBe(expected.data.length);
  const tolerance = expected.dtype === "float32" ? Math.max(relative, 1e-6) : relative;
  for (let i = 0; i < expected.data.length; i++) {
    const want = expected.data[i];
    const got = actual.data[i];
    if (Number.isNaN(want)) {
      if (!Number.isNaN(got)) expect.fail(`element ${i}: expected NaN, got ${got}`);
      continue;
    }
    if (got === want) continue;
    const magnitude = Math.max(Math.abs(want), scale === undefined ? 0 : scale[i]);
    if (!(Math.abs(got - want) <= tolerance * magnitude)) expect.fail(`element ${i}: expected ${want}, got ${got} (relative tolerance ${tolerance})`);
  }
}

/** `dense` as a chunked array with random, uneven chunks along every axis. */
export function chunked(dense: Dense, random: () => number): ChunkedArray {
  return fromArray(dense.data as Float64Array, { shape: dense.shape, dtype: dense.dtype, chunks: dense.shape.map((n) => randomChunks(n, random)) });
}
