import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../../../client/client.js";
import * as wa from "../../../client/array/index.js";
import type { DType } from "../../../kernels/array/dtype.js";
import type { ReductionMode } from "../../../client/array/reductions.js";
import { type Dense, expectClose, randomDense, reduceDense, chunked } from "./dense-reference.js";
import { seededRandom } from "../../support/seeded-random.js";

let client: Client;
beforeAll(async () => {
  client = await Client.local({ executor: "sync" });
});
afterAll(() => client.close());

const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
const mean = (v: number[]) => sum(v) / v.length;
const variance = (v: number[], ddof: number) => {
  const m = mean(v);
  return sum(v.map((x) => (x - m) ** 2)) / (v.length - ddof);
};
const firstIndexOf = (v: number[], better: (x: number, y: number) => boolean) => {
  let best = 0;
  for (let i = 1; i < v.length; i++) {
    if (Number.isNaN(v[best])) break;
    if (Number.isNaN(v[i]) || better(v[i], v[best])) best = i;
  }
  return best;
};

/** Each reduction over the values of one output element, in row-major order, with their N-d positions. */
const REFERENCE: Record<ReductionMode, { dtype: (d: DType) => DType; f: (v: number[], p: number[][], ctx: { axes: number[]; shape: readonly number[]; ddof: number }) => number }> = {
  sum: { dtype: (d) => (d === "float32" ? "float32" : "float64"), f: sum },
  prod: { dtype: (d) => (d === "float32" ? "float32" : "float64"), f: (v) => v.reduce((a, b) => a * b, 1) },
  mean: { dtype: (d) => (d === "float32" ? "float32" : "float64"), f: mean },
  var: { dtype: (d) => (d === "float32" ? "float32" : "float64"), f: (v, _, { ddof }) => variance(v, ddof) },
  std: { dtype: (d) => (d === "float32" ? "float32" : "float64"), f: (v, _, { ddof }) => Math.sqrt(variance(v, ddof)) },
  min: { dtype: (d) => d, f: (v) => (v.some(Number.isNaN) ? NaN : Math.min(...v)) },
  max: { dtype: (d) => d, f: (v) => (v.some(Number.isNaN) ? NaN : Math.max(...v)) },
  any: { dtype: () => "bool", f: (v) => Number(v.some((x) => x !== 0)) },
  all: { dtype: () => "bool", f: (v) => Number(v.every((x) => x !== 0)) },
  argmin: { dtype: () => "int32", f: (v, p, ctx) => position(p[firstIndexOf(v, (x, y) => x < y)], ctx) },
  argmax: { dtype: () => "int32", f: (v, p, ctx) => position(p[firstIndexOf(v, (x, y) => x > y)], ctx) },
};

/** argmin/argmax positions: along the one reduced axis, or row-major in the whole array. */
function position(index: number[], { axes, shape }: { axes: number[]; shape: readonly number[] }): number {
  if (axes.length === 1 && shape.length > 1) return index[axes[0]];
  return index.reduce((at, i, d) => at * shape[d] + i, 0);
}

/** Every subset of axes of an N-d array (the empty one left out), as lists. */
function axisSets(ndim: number): number[][] {
  const sets: number[][] = [];
  for (let mask = 1; mask < 1 << ndim; mask++) sets.push(Array.from({ length: ndim }, (_, d) => d).filter((d) => mask & (1 << d)));
  return sets;
}

/** Sums' errors grow with the magnitudes summed, not with the result: the tolerance scale per output element. */
function magnitudes(dense: Dense, axes: number[], keepdims: boolean): ArrayLike<number> {
  return reduceDense({ ...dense, dtype: "float64" }, axes, "float64", (v) => sum(v.map(Math.abs)) * 4, keepdims).data;
}

const MODES = Object.keys(REFERENCE) as ReductionMode[];

describe("reductions against a dense reference", () => {
  it.each(MODES)("%s over every set of axes of random 1-3-d arrays with uneven chunks", async (mode) => {
    const random = seededRandom(mode.length * 104729 + mode.charCodeAt(1));
    const { dtype: resultType, f } = REFERENCE[mode];
    for (let ndim = 1; ndim <= 3; ndim++) {
      for (const axes of axisSets(ndim)) {
        if ((mode === "argmin" || mode === "argmax") && axes.length !== 1 && axes.length !== ndim) continue;
        const dtype: DType = (["float64", "float64", "int32", "float32", "uint8", "bool"] as const)[Math.floor(random() * 6)];
        const shape = Array.from({ length: ndim }, () => 1 + Math.floor(random() * 6));
        const dense = randomDense(shape, mode === "prod" ? "float64" : dtype, random);
        const splitEvery = 2 + Math.floor(random() * 3);
        const keepdims = random() < 0.3;
        const ddof = mode === "var" || mode === "std" ? Math.floor(random() * 2) : 0;
        const arg = axes.length === ndim && random() < 0.5 ? undefined : axes.length === 1 && random() < 0.5 ? axes[0] - ndim : axes;
        const ctx = { axes, shape, ddof };
        const expected = reduceDense(dense, axes, resultType(dense.dtype), (v, p) => f(v, p, ctx), keepdims);
        const [actual] = await client.compute(wa.reduce(chunked(dense, random), mode, { axis: arg, splitEvery, keepdims, ddof }));
        expectClose(actual, expected, 1e-12, mode === "sum" || mode === "mean" || mode === "var" || mode === "std" ? magnitudes(dense, axes, keepdims) : undefined);
      }
    }
  });

  it.each(MODES)("%s of an elementwise expression is fused into the per-block partials", async (mode) => {
    const random = seededRandom(mode.length + 3);
    const x = randomDense([9, 7], "float64", random);
    const y = randomDense([7], "float64", random);
    const expression = chunked(x, random).mul(2).add(chunked(y, random)).sub(1);
    const reduced = wa.reduce(expression, mode, {});
    // The random input blocks, one partial per block, combines and the result: no elementwise task.
    expect([...reduced.graph().values()].some((spec) => spec.fn === "weft.array.elementwise")).toBe(false);
    const denseExpr = { data: x.data, shape: x.shape, dtype: "float64" as const };
    const combined = Array.from(denseExpr.data as Float64Array, (v, i) => v * 2 + (y.data as Float64Array)[i % 7] - 1);
    const ctx = { axes: [0, 1], shape: [9, 7], ddof: 0 };
    const exprDense: Dense = { data: Float64Array.from(combined), shape: [9, 7], dtype: "float64" };
    const expected = reduceDense(exprDense, [0, 1], REFERENCE[mode].dtype("float64"), (v, p) => REFERENCE[mode].f(v, p, ctx));
    const [actual] = await client.compute(reduced);
    expectClose(actual, expected, 1e-12, mode === "sum" || mode === "mean" || mode === "var" || mode === "std" ? magnitudes(exprDense, [0, 1], false) : undefined);
  });

  it("builds a tree: 64 partials with splitEvery 4 take 16 then 4 combines and one final task", () => {
    const x = wa.ones([8, 8], { chunks: 1 });
    const specs = [...x.sum({ splitEvery: 4 }).graph().values()];
    const count = (fn: string) => specs.filter((spec) => spec.fn === fn).length;
    expect(count("weft.array.reducePartial")).toBe(64);
    expect(count("weft.array.reduceCombine")).toBe(16 + 4);
    expect(count("weft.array.reduceFinalize")).toBe(1);
    expect(specs.filter((spec) => spec.fn === "weft.array.reduceCombine").every((spec) => spec.deps.length <= 4)).toBe(true);
  });

  it("propagates NaN through min, max and sum, and argmin reports the first NaN", async () => {
    const x = wa.fromArray(Float64Array.of(3, NaN, 1, NaN), { chunks: 1 });
    const [min, max, total, arg] = await client.compute(x.min(), x.max(), x.sum(), x.argmin());
    expect(min.data[0]).toBeNaN();
    expect(max.data[0]).toBeNaN();
    expect(total.data[0]).toBeNaN();
    expect(arg.data[0]).toBe(1);
  });

  it("refuses argmin over two of three axes, a repeated axis, an axis out of range and splitEvery 1", () => {
    const x = wa.zeros([2, 3, 4]);
    expect(() => x.argmin({ axis: [0, 1] })).toThrow(/one axis or all axes/);
    expect(() => x.sum({ axis: [1, -2] })).toThrow(/axis -2 is repeated/);
    expect(() => x.sum({ axis: 3 })).toThrow(/axis 3 is out of range/);
    expect(() => x.sum({ splitEvery: 1 })).toThrow(/splitEvery/);
  });

  it("refuses the minimum of an empty axis", () => {
    expect(() => wa.zeros([0, 3]).min({ axis: 0 })).toThrow(/empty axis/);
  });
});

describe("reduction kernels", () => {
  it("sum a fused expression over rows of every length mod 4, read straight and transposed, as a plain loop does", async () => {
    const { accumulateProgram } = await import("../../../kernels/array/compile-kernel.js");
    const random = seededRandom(11);
    for (const cols of [1, 2, 3, 4, 5, 7, 8, 9]) {
      const rows = 6;
      const a = Float64Array.from({ length: rows * cols }, () => random() - 0.5);
      const b = Float64Array.from({ length: rows * cols }, () => random() - 0.5);
      const program = {
        root: { op: "add", dtype: "float64" as const, args: [{ input: 0 }, { op: "multiply", dtype: "float64" as const, args: [{ input: 1 }, { constant: 0 }] }] },
        inputs: [{ dtype: "float64" as const, axes: [0, 1] }, { dtype: "float64" as const, axes: [1, 0] }],
        constants: [3],
        dtype: "float64" as const,
      };
      // b is [cols, rows], read transposed.
      const total = accumulateProgram(program, [rows, cols], [{ data: a, shape: [rows, cols], dtype: "float64" }, { data: b, shape: [cols, rows], dtype: "float64" }], "sum");
      let expected = 0;
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) expected += a[r * cols + c] + b[c * rows + r] * 3;
      expect(total).toBeCloseTo(expected, 12);
    }
  });

  it("refuse a reduction name that is not one of theirs", async () => {
    const { reduceCombine } = await import("../../../kernels/array/reduction-kernels.js");
    expect(() => reduceCombine("constructor" as never, [{ n: 1, v: Float64Array.of(1) }])).toThrow(/unknown reduction "constructor"/);
  });
});
