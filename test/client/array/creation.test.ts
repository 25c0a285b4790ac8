import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../../../client/client.js";
import { delayed } from "../../../client/delayed.js";
import * as wa from "../../../client/array/index.js";
import { DTYPES, promote, promoteScalar } from "../../../kernels/array/dtype.js";
import { normalizeChunks } from "../../../kernels/array/chunks.js";
import { uniformAt, seedKeys } from "../../../kernels/array/random-kernels.js";
import { fill } from "../../fixtures/math-tasks.js";

let client: Client;
beforeAll(async () => {
  client = await Client.local({ executor: "sync" });
});
afterAll(() => client.close());

describe("creating arrays", () => {
  it("makes an array from nested arrays, keeping values and shape", async () => {
    const x = wa.fromArray([[1, 2, 3], [4, 5, 6]], { chunks: [1, 2] });
    expect(x.numblocks).toEqual([2, 2]);
    const [dense] = await client.compute(x);
    expect(dense).toEqual({ data: Float64Array.of(1, 2, 3, 4, 5, 6), shape: [2, 3], dtype: "float64" });
  });

  it("makes a bool array from nested booleans and keeps a typed array's dtype", async () => {
    const [flags, ints] = await client.compute(wa.fromArray([[true, false], [false, true]]), wa.fromArray(Int32Array.of(1, 2, 3, 4, 5, 6), { shape: [3, 2], chunks: 2 }));
    expect(flags.dtype).toBe("bool");
    expect(Array.from(flags.data)).toEqual([1, 0, 0, 1]);
    expect(ints).toEqual({ data: Int32Array.of(1, 2, 3, 4, 5, 6), shape: [3, 2], dtype: "int32" });
  });

  it("refuses ragged nested arrays and a shape that does not hold the data", () => {
    expect(() => wa.fromArray([[1, 2], [3]])).toThrow(/ragged at \[1\]/);
    expect(() => wa.fromArray(new Float64Array(6), { shape: [4, 2] })).toThrow(/does not hold 6 elements/);
  });

  it("fills zeros, ones and full arrays in the asked dtype", async () => {
    const [z, o, f] = await client.compute(wa.zeros([2, 3], { chunks: 2 }), wa.ones([3], { dtype: "uint8" }), wa.full([2, 2], 7.5, { dtype: "int32", chunks: 1 }));
    expect(z).toEqual({ data: new Float64Array(6), shape: [2, 3], dtype: "float64" });
    expect(o).toEqual({ data: Uint8Array.of(1, 1, 1), shape: [3], dtype: "uint8" });
    expect(f).toEqual({ data: Int32Array.of(7, 7, 7, 7), shape: [2, 2], dtype: "int32" });
  });

  it("makes ranges like NumPy's arange, integer or float", async () => {
    const [ints, floats, down] = await client.compute(
      wa.arange(0, 10, { step: 3, chunks: 2 }),
      wa.arange(0.5, 2, { step: 0.25, chunks: 4 }),
      wa.arange(5, 0, { step: -2 }),
    );
    expect(ints).toEqual({ data: Int32Array.of(0, 3, 6, 9), shape: [4], dtype: "int32" });
    expect(Array.from(floats.data)).toEqual([0.5, 0.75, 1, 1.25, 1.5, 1.75]);
    expect(Array.from(down.data)).toEqual([5, 3, 1]);
  });

  it("makes linspace end exactly on stop, whatever the chunks", async () => {
    const [a, b] = await client.compute(wa.linspace(0, 1, 7, { chunks: 3 }), wa.linspace(-2, 0.3, 11, { chunks: 4 }));
    // NumPy's formula: start + i * step, with step = (stop - start) / (num - 1); the last is stop itself.
    expect(Array.from(a.data)).toEqual(Array.from({ length: 7 }, (_, i) => (i === 6 ? 1 : 0 + i * (1 / 6))));
    expect(b.data[10]).toBe(0.3);
    for (let i = 0; i < 10; i++) expect(b.data[i]).toBeCloseTo(-2 + (i * 2.3) / 10, 14);
  });

  it("builds an array from a delayed value of declared shape", async () => {
    const values = delayed(fill)(6, 2.5);
    const [dense] = await client.compute(wa.fromDelayed(values, [6]).mul(2));
    expect(Array.from(dense.data)).toEqual([5, 5, 5, 5, 5, 5]);
  });

  it("fails the block's task, naming both shapes, when a delayed value has another shape", async () => {
    const error = await client.compute(wa.fromDelayed(delayed(fill)(5, 1), [6])).catch((e: unknown) => e);
    expect(String((error as Error).message)).toMatch(/promised shape \[6\] but computed \[5\]/);
  });

  it("normalizes chunk specifications and names the axis of a bad one", () => {
    expect(normalizeChunks([5, 3], 2)).toEqual([[2, 2, 1], [2, 1]]);
    expect(normalizeChunks([5, 3], [[3, 2], -1])).toEqual([[3, 2], [3]]);
    expect(() => normalizeChunks([5, 3], [[3, 3], -1])).toThrow(/axis 0 add up to 6, but the axis has length 5/);
    expect(() => normalizeChunks([5, 3], [2, 0])).toThrow(/axis 1/);
  });

  it("refuses an unknown dtype, naming the argument", () => {
    expect(() => wa.zeros([2], { dtype: "float16" as never })).toThrow(/options.dtype must be one of/);
  });
});

describe("dtype promotion", () => {
  it("follows NumPy's result_type table for the five dtypes", () => {
    // From numpy.result_type, with float16 results (bool/uint8 with floats) read as float32.
    const table: Record<string, string> = {
      "bool,bool": "bool", "bool,uint8": "uint8", "bool,int32": "int32", "bool,float32": "float32", "bool,float64": "float64",
      "uint8,uint8": "uint8", "uint8,int32": "int32", "uint8,float32": "float32", "uint8,float64": "float64",
      "int32,int32": "int32", "int32,float32": "float64", "int32,float64": "float64",
      "float32,float32": "float32", "float32,float64": "float64", "float64,float64": "float64",
    };
    for (const a of DTYPES) for (const b of DTYPES) expect(promote(a, b)).toBe(table[`${a},${b}`] ?? table[`${b},${a}`]);
  });

  it("treats plain numbers as weak scalars (NEP 50)", () => {
    expect(promoteScalar("uint8", 3)).toBe("uint8");
    expect(promoteScalar("int32", 2.5)).toBe("float64");
    expect(promoteScalar("float32", 2.5)).toBe("float32");
    expect(promoteScalar("bool", 1)).toBe("int32");
    expect(promoteScalar("bool", true)).toBe("bool");
  });
});

describe("seeded random arrays", () => {
  it("gives the same values whatever the chunking", async () => {
    const [a, b, c] = await client.compute(
      wa.random.uniform([13, 17], { seed: 5, chunks: [4, 5] }),
      wa.random.uniform([13, 17], { seed: 5, chunks: [13, 3] }),
      wa.random.uniform([13, 17], { seed: 5 }),
    );
    expect(a.data).toEqual(c.data);
    expect(b.data).toEqual(c.data);
    const [n1, n2] = await client.compute(wa.random.normal([50], { seed: 9, chunks: 7 }), wa.random.normal([50], { seed: 9, chunks: 50 }));
    expect(n1.data).toEqual(n2.data);
  });

  it("draws element g from its row-major position, so a slice of a bigger array equals the same positions", async () => {
    const [whole] = await client.compute(wa.random.uniform([6, 10], { seed: 3, chunks: 4 }));
    const [k0, k1] = seedKeys(3);
    for (let g = 0; g < 60; g++) expect(whole.data[g]).toBe(uniformAt(g, k0, k1));
  });

  it("gives different values for different seeds, in [low, high)", async () => {
    const [a, b] = await client.compute(wa.random.uniform([1000], { seed: 1, low: -2, high: 3 }), wa.random.uniform([1000], { seed: 2, low: -2, high: 3 }));
    expect(a.data).not.toEqual(b.data);
    expect(Math.min(...a.data)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...a.data)).toBeLessThan(3);
  });

  it("has the moments of its distribution over a million draws", async () => {
    const u = wa.random.uniform([1000, 1000], { seed: 11, chunks: 250 });
    const n = wa.random.normal([1000, 1000], { seed: 11, chunks: 250, mean: 2, std: 3 });
    const [uMean, uVar, nMean, nStd] = await client.compute(u.mean(), u.var(), n.mean(), n.std());
    // Standard errors: uniform mean 0.0003, variance 0.00008; normal mean 0.003, std 0.002.
    expect(Math.abs(uMean.data[0] - 0.5)).toBeLessThan(0.0015);
    expect(Math.abs(uVar.data[0] - 1 / 12)).toBeLessThan(0.0004);
    expect(Math.abs(nMean.data[0] - 2)).toBeLessThan(0.015);
    expect(Math.abs(nStd.data[0] - 3)).toBeLessThan(0.01);
  });

  it("refuses a seed that is not a safe integer and integer dtypes", () => {
    expect(() => wa.random.uniform([2], { seed: 1.5 })).toThrow(/seed/);
    expect(() => wa.random.uniform([2], { dtype: "int32" as never })).toThrow(/float64 or float32/);
  });
});
