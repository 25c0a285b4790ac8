import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../../../client/client.js";
import * as wa from "../../../client/array/index.js";
import { resolveSlice } from "../../../client/array/slicing.js";
import { at, expectClose, make, randomChunks, randomDense, transpose, chunked } from "./dense-reference.js";
import { seededRandom } from "../../support/seeded-random.js";

let client: Client;
beforeAll(async () => {
  client = await Client.local({ executor: "sync" });
});
afterAll(() => client.close());

/** Python's `range(start, stop, step)` resolved on an axis, element positions listed directly. */
function pythonSlice(length: number, start: number | undefined, stop: number | undefined, step: number): number[] {
  const norm = (v: number) => (v < 0 ? v + length : v);
  const out: number[] = [];
  if (step > 0) {
    const from = start === undefined ? 0 : Math.max(0, Math.min(length, norm(start)));
    const to = stop === undefined ? length : Math.max(0, Math.min(length, norm(stop)));
    for (let i = from; i < to; i += step) out.push(i);
  } else {
    const from = start === undefined ? length - 1 : Math.max(-1, Math.min(length - 1, norm(start)));
    const to = stop === undefined ? -1 : Math.max(-1, Math.min(length - 1, norm(stop)));
    for (let i = from; i > to; i += step) out.push(i);
  }
  return out;
}

describe("slicing and integer indexing", () => {
  it("resolves slices as Python does, for every start, stop and step on a short axis", () => {
    const bounds = [undefined, -7, -3, -1, 0, 1, 2, 4, 5, 9];
    for (const step of [-3, -2, -1, 1, 2, 3]) {
      for (const start of bounds) {
        for (const stop of bounds) {
          const { start: s, step: k, count } = resolveSlice({ start, stop, step }, 5, 0);
          expect(Array.from({ length: count }, (_, i) => s + i * k)).toEqual(pythonSlice(5, start, stop, step));
        }
      }
    }
  });

  it("selects random slices and integers on every axis of random arrays with uneven chunks", async () => {
    const random = seededRandom(2024);
    for (let trial = 0; trial < 40; trial++) {
      const ndim = 1 + Math.floor(random() * 3);
      const shape = Array.from({ length: ndim }, () => 1 + Math.floor(random() * 9));
      const dense = randomDense(shape, "float64", random);
      const picks = shape.map((length) => {
        if (random() < 0.25) return { kind: "int" as const, index: Math.floor(random() * length) - (random() < 0.5 ? length : 0) };
        const pick = () => (random() < 0.2 ? undefined : Math.floor(random() * (2 * length + 3)) - length - 1);
        const step = (random() < 0.5 ? 1 : -1) * (1 + Math.floor(random() * 3));
        return { kind: "slice" as const, start: pick(), stop: pick(), step };
      });
      const positions = picks.map((p, axis) => (p.kind === "int" ? [p.index < 0 ? p.index + shape[axis] : p.index] : pythonSlice(shape[axis], p.start, p.stop, p.step)));
      const outShape = positions.filter((_, axis) => picks[axis].kind === "slice").map((list) => list.length);
      const expected = make(outShape, "float64", (index) => {
        let k = 0;
        return at(dense, positions.map((list, axis) => (picks[axis].kind === "int" ? list[0] : list[index[k++]])));
      });
      const indices = picks.map((p) => (p.kind === "int" ? p.index : wa.slice(p.start, p.stop, p.step)));
      const [actual] = await client.compute(chunked(dense, random).get(...indices));
      expectClose(actual, expected);
    }
  });

  it("takes axes left out whole and returns the array itself for a selection of everything", () => {
    const x = wa.zeros([4, 5], { chunks: 2 });
    expect(x.get(1).shape).toEqual([5]);
    expect(x.get(null, wa.slice())).toBe(x);
  });

  it("refuses an index out of bounds, a zero step and too many indices, naming the axis", () => {
    const x = wa.zeros([4, 5]);
    expect(() => x.get(0, 5)).toThrow(/index 5 is out of bounds for axis 1 of length 5/);
    expect(() => x.get(wa.slice(0, 4, 0))).toThrow(/step on axis 0/);
    expect(() => x.get(0, 0, 0)).toThrow(/too many indices/);
  });
});

describe("transpose, reshape, rechunk", () => {
  it("transposes with every permutation of 3 axes", async () => {
    const random = seededRandom(7);
    const dense = randomDense([3, 4, 5], "int32", random);
    const array = chunked(dense, random);
    for (const perm of [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]) {
      const [actual] = await client.compute(array.transpose(perm));
      expectClose(actual, transpose(dense, perm));
    }
    const [reversed] = await client.compute(array.T);
    expectClose(reversed, transpose(dense));
  });

  it("adds a transposed view of the same array block by block (x + x.T)", async () => {
    const random = seededRandom(8);
    const dense = randomDense([7, 7], "float64", random);
    const x = chunked(dense, random);
    const [actual] = await client.compute(x.add(x.T));
    expectClose(actual, make([7, 7], "float64", ([i, j]) => at(dense, [i, j]) + at(dense, [j, i])));
  });

  it("reshapes random arrays into random compatible shapes, keeping row-major order", async () => {
    const random = seededRandom(9);
    const shapes = [[12], [3, 4], [4, 3], [2, 6], [2, 2, 3], [6, 2], [1, 12], [12, 1], [3, 2, 2], [2, 3, 2]];
    for (let trial = 0; trial < 60; trial++) {
      const from = shapes[Math.floor(random() * shapes.length)];
      const to = shapes[Math.floor(random() * shapes.length)];
      const dense = randomDense(from, "float64", random);
      const [actual] = await client.compute(chunked(dense, random).reshape(random() < 0.3 ? [...to.slice(0, -1), -1] : to));
      expectClose(actual, { data: dense.data, shape: to, dtype: "float64" });
    }
  });

  it("keeps the chunks of leading axes that a reshape leaves alone", () => {
    const x = wa.zeros([6, 4, 5], { chunks: [2, 2, 5] });
    // [4, 5] -> [2, 10] is neither a merge nor a split: those axes become one block each.
    expect(x.reshape([6, 2, 10]).chunks).toEqual([[2, 2, 2], [2], [10]]);
  });

  it("merges axes keeping the first one's chunks, as Dask does", () => {
    const x = wa.zeros([8, 6], { chunks: [3, 2] });
    expect(x.reshape([48]).chunks).toEqual([[18, 18, 12]]);
  });

  it("splits an axis at multiples of the trailing lengths", () => {
    const x = wa.zeros([48], { chunks: 10 });
    // Cuts at 10, 20, 30, 40 move to the nearest multiples of 6: 12, 18, 30, 42.
    expect(x.reshape([8, 6]).chunks).toEqual([[2, 1, 2, 2, 1], [6]]);
  });

  it("rechunks random arrays to random chunks without changing a value", async () => {
    const random = seededRandom(10);
    for (let trial = 0; trial < 15; trial++) {
      const shape = Array.from({ length: 1 + Math.floor(random() * 3) }, () => 1 + Math.floor(random() * 8));
      const dense = randomDense(shape, "uint8", random);
      const target = shape.map((n) => randomChunks(n, random));
      const rechunked = chunked(dense, random).rechunk(target);
      expect(rechunked.chunks).toEqual(target);
      expectClose((await client.compute(rechunked))[0], dense);
    }
  });

  it("refuses a reshape to another number of elements and two -1s", () => {
    expect(() => wa.zeros([4, 3]).reshape([5, 2])).toThrow(/cannot reshape an array of 12 elements into \[5, 2\]/);
    expect(() => wa.zeros([4, 3]).reshape([-1, -1])).toThrow(/at most one -1/);
  });

  it("refuses transpose axes that are not a permutation", () => {
    expect(() => wa.zeros([2, 3]).transpose([0, 0])).toThrow(/permutation/);
  });
});

describe("concatenate and stack", () => {
  it("concatenates random arrays along every axis, with mixed chunks and dtypes", async () => {
    const random = seededRandom(11);
    for (let axis = 0; axis < 3; axis++) {
      const base = [2 + Math.floor(random() * 3), 2 + Math.floor(random() * 3), 2 + Math.floor(random() * 3)];
      const parts = [0, 1, 2].map((k) => randomDense(base.map((n, d) => (d === axis ? 1 + Math.floor(random() * 4) : n)), k === 1 ? "int32" : "float64", random));
      const shape = base.map((n, d) => (d === axis ? parts.reduce((s, p) => s + p.shape[d], 0) : n));
      const expected = make(shape, "float64", (index) => {
        let i = index[axis];
        for (const part of parts) {
          if (i < part.shape[axis]) return at(part, index.map((v, d) => (d === axis ? i : v)));
          i -= part.shape[axis];
        }
        throw new Error("unreachable");
      });
      const [actual] = await client.compute(wa.concatenate(parts.map((p) => chunked(p, random)), axis));
      expectClose(actual, expected);
    }
  });

  it("concatenates without tasks of its own when chunks already agree", () => {
    const a = wa.ones([4, 3], { chunks: 2 });
    const b = wa.zeros([2, 3], { chunks: 2 });
    const joined = wa.concatenate([a, b]);
    expect(joined.graph().size).toBe(a.graph().size + b.graph().size);
  });

  it("stacks arrays along a new axis at every position", async () => {
    const random = seededRandom(12);
    const parts = [0, 1, 2].map(() => randomDense([3, 4], "float64", random));
    for (const axis of [0, 1, 2, -1]) {
      const d = axis < 0 ? axis + 3 : axis;
      const shape = [3, 4];
      shape.splice(d, 0, 3);
      const expected = make(shape, "float64", (index) => at(parts[index[d]], index.filter((_, k) => k !== d)));
      const [actual] = await client.compute(wa.stack(parts.map((p) => chunked(p, random)), axis));
      expectClose(actual, expected);
    }
  });

  it("refuses arrays whose other axes differ, naming the axis", () => {
    expect(() => wa.concatenate([wa.zeros([2, 3]), wa.zeros([2, 4])])).toThrow(/array 1 has length 4 on axis 1/);
    expect(() => wa.stack([wa.zeros([2]), wa.zeros([3])])).toThrow(/array 1 has shape \[3\]/);
  });
});
