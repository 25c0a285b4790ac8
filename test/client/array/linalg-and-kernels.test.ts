import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../../../client/client.js";
import * as wa from "../../../client/array/index.js";
import { at, type Dense, expectClose, make, matmul, randomDense, transpose, chunked } from "./dense-reference.js";
import { seededRandom } from "../../support/seeded-random.js";
import { addBlocks, bareData, blockMatmul, doublePlus, rowSums } from "../../fixtures/array-tasks.js";

let client: Client;
beforeAll(async () => {
  client = await Client.local({ executor: "sync" });
});
afterAll(() => client.close());

/** Sum of |a_ik * b_kj| over k: the scale of a matrix product's rounding error. */
function productScale(a: Dense, b: Dense): ArrayLike<number> {
  const abs = (d: Dense): Dense => ({ ...d, dtype: "float64", data: Float64Array.from(d.data as ArrayLike<number>, Math.abs) });
  return matmul(abs(a), abs(b), "float64").data;
}

describe("linear algebra", () => {
  it("multiplies random matrices with unrelated uneven chunks", async () => {
    const random = seededRandom(21);
    for (let trial = 0; trial < 8; trial++) {
      const [m, k, n] = [1, 2, 3].map(() => 1 + Math.floor(random() * 9));
      const a = randomDense([m, k], trial % 3 === 0 ? "int32" : "float64", random);
      const b = randomDense([k, n], "float64", random);
      const [actual] = await client.compute(chunked(a, random).matmul(chunked(b, random)));
      expectClose(actual, matmul(a, b, "float64"), 1e-12, productScale(a, b));
    }
  });

  it("gives the same result for dot as for matmul", async () => {
    const random = seededRandom(22);
    const a = chunked(randomDense([4, 5], "float64", random), random);
    const b = chunked(randomDense([5, 3], "float64", random), random);
    const [viaDot, viaMatmul] = await client.compute(a.dot(b), wa.matmul(a, b));
    expect(viaDot).toEqual(viaMatmul);
  });

  it("contracts every pairing of axes of two 2-d arrays with tensordot", async () => {
    const random = seededRandom(23);
    const a = randomDense([4, 5], "float64", random);
    const b5x4 = randomDense([5, 4], "float64", random);
    const b4x5 = randomDense([4, 5], "float64", random);
    const A = chunked(a, random);
    // Each case: the tensordot, and the two dense matrices whose product it is.
    const cases: [wa.ChunkedArray, Dense, Dense][] = [
      [wa.tensordot(A, chunked(b5x4, random), 1), a, b5x4],
      [wa.tensordot(A, chunked(b4x5, random), [[0], [0]]), transpose(a), b4x5],
      [wa.tensordot(A, chunked(b4x5, random), [[1], [1]]), a, transpose(b4x5)],
      [wa.tensordot(A, chunked(b5x4, random), [[0], [1]]), transpose(a), transpose(b5x4)],
    ];
    for (const [array, left, right] of cases) {
      expectClose((await client.compute(array))[0], matmul(left, right, "float64"), 1e-12, productScale(left, right));
    }
    const full = make([], "float64", () => {
      let s = 0;
      for (let i = 0; i < 4; i++) for (let j = 0; j < 5; j++) s += at(a, [i, j]) * at(b4x5, [i, j]);
      return s;
    });
    expectClose((await client.compute(wa.tensordot(A, chunked(b4x5, random), 2)))[0], full, 1e-12, [40 * 100]);
    const outer = make([4, 5, 4, 5], "float64", ([i, j, k, l]) => at(a, [i, j]) * at(b4x5, [k, l]));
    expectClose((await client.compute(wa.tensordot(A, chunked(b4x5, random), 0)))[0], outer);
  });

  it("refuses matrices whose inner lengths differ, naming both shapes", () => {
    expect(() => wa.zeros([2, 3]).matmul(wa.zeros([4, 2]))).toThrow(/\[2, 3\] and \[4, 2\] do not align/);
    expect(() => wa.tensordot(wa.zeros([2, 3]), wa.zeros([2, 3]), 1)).toThrow(/differ in length/);
  });
});

describe("user kernels", () => {
  it("maps a registered function over every block, passing extra arguments", async () => {
    const random = seededRandom(31);
    const dense = randomDense([7, 6], "float64", random);
    const [actual] = await client.compute(wa.mapBlocks(doublePlus, chunked(dense, random), { args: [0.5] }));
    expectClose(actual, make([7, 6], "float64", (index) => 2 * at(dense, index) + 0.5));
  });

  it("maps over several arrays block by block, rechunking the others like the first", async () => {
    const random = seededRandom(32);
    const a = randomDense([6, 5], "float64", random);
    const b = randomDense([6, 5], "float64", random);
    const [actual] = await client.compute(wa.mapBlocks(addBlocks, [chunked(a, random), chunked(b, random)]));
    expectClose(actual, make([6, 5], "float64", (index) => at(a, index) + at(b, index)));
  });

  it("maps a function that changes block shapes when told the new chunks", async () => {
    const x = wa.fromArray([[1, 2, 3], [4, 5, 6], [7, 8, 9]], { chunks: [2, 3] });
    const sums = wa.mapBlocks(rowSums, x, { shape: [3, 1], chunks: [[2, 1], [1]] });
    const [actual] = await client.compute(sums);
    expect(actual).toEqual({ data: Float64Array.of(6, 15, 24), shape: [3, 1], dtype: "float64" });
  });

  it("runs blockwise with a contracted index, handing the function lists of blocks", async () => {
    const random = seededRandom(33);
    const a = randomDense([5, 6], "float64", random);
    const b = randomDense([6, 4], "float64", random);
    const A = wa.fromArray(a.data as Float64Array, { shape: [5, 6], chunks: [[2, 3], [1, 2, 3]] });
    const B = wa.fromArray(b.data as Float64Array, { shape: [6, 4], chunks: [[1, 2, 3], [3, 1]] });
    const product = wa.blockwise(blockMatmul, "ij", [[A, "ik"], [B, "kj"]]);
    expect(product.shape).toEqual([5, 4]);
    expectClose((await client.compute(product))[0], matmul(a, b, "float64"), 1e-12, productScale(a, b));
  });

  it("runs blockwise with a transposed index pattern", async () => {
    const x = wa.fromArray([[1, 2], [3, 4]], { chunks: 1 });
    const [actual] = await client.compute(wa.blockwise(addBlocks, "ij", [[x, "ij"], [x, "ji"]]));
    // Blocks are 1x1, so block [i, j] of x plus block [j, i] of x is x + x.T.
    expect(Array.from(actual.data)).toEqual([2, 5, 5, 8]);
  });

  it("rejects a kernel result that is not a block, saying what it got", async () => {
    const error = await client.compute(wa.mapBlocks(bareData, wa.ones([4], { chunks: 2 }))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/must be a block \{ data, shape, dtype \}; got Float64Array/);
  });

  it("refuses plain closures and blockwise indices chunked differently", () => {
    const x = wa.zeros([4, 4], { chunks: 2 });
    const y = wa.zeros([4, 4], { chunks: [1, 2] });
    expect(() => wa.mapBlocks(((b: unknown) => b) as never, x)).toThrow(/registered with task\(\)/);
    expect(() => wa.blockwise(addBlocks, "ij", [[x, "ij"], [y, "ij"]])).toThrow(/index "i" is chunked differently in input 1/);
  });
});
