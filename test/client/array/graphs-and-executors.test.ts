import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../../../client/client.js";
import { COLLECTION, isCollection } from "../../../client/collection.js";
import * as wa from "../../../client/array/index.js";
import { expectClose, make } from "./dense-reference.js";

let sync: Client;
let threads: Client;
beforeAll(async () => {
  sync = await Client.local({ executor: "sync" });
  threads = await Client.local({ executor: "threads", nthreads: 2 });
});
afterAll(async () => {
  await sync.close();
  await threads.close();
});

const count = (array: wa.ChunkedArray, fn: string) => [...array.graph().values()].filter((spec) => spec.fn === fn).length;

describe("blockwise fusion", () => {
  it("makes (x + 1) * 2 - y over 100 blocks one task per block", () => {
    const x = wa.random.uniform([1000, 1000], { chunks: 100, seed: 1 });
    const y = wa.random.uniform([1000, 1000], { chunks: 100, seed: 2 });
    const z = x.add(1).mul(2).sub(y);
    expect(count(z, "weft.array.elementwise")).toBe(100);
    expect(z.graph().size).toBe(300);
  });

  it("reads a transposed operand through the kernel instead of copying it", () => {
    const x = wa.random.uniform([400, 400], { chunks: 100, seed: 1 });
    const mean = x.add(x.T).mean();
    // 16 random blocks, 16 partials (each reading x[i, j] and x[j, i]), 1 combine-and-finalize.
    expect(mean.graph().size).toBe(16 + 16 + 1);
    expect(count(mean, "weft.array.assemble")).toBe(0);
  });

  it("gives equal expressions the same keys, so they are computed once", () => {
    const x = wa.ones([10], { chunks: 5 });
    expect(x.add(1).mul(2).blockKeys()).toEqual(x.add(1).mul(2).blockKeys());
    expect(x.add(1).blockKeys()).not.toEqual(x.add(2).blockKeys());
  });
});

describe("arrays as collections", () => {
  it("offers the collection protocol with one key per block", () => {
    const x = wa.zeros([4, 6], { chunks: [2, 3] });
    expect(isCollection(x)).toBe(true);
    expect(x[COLLECTION].keys()).toHaveLength(4);
  });

  it("computes several arrays together with delayed-free plain values", async () => {
    const x = wa.arange(0, 6, { chunks: 4 });
    const [a, b, plain] = await sync.compute(x.mul(2), x.sum(), "as is");
    expect(Array.from(a.data)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(Array.from(b.data)).toEqual([15]);
    expect(plain).toBe("as is");
  });

  it("persists an array so that later graphs start from its blocks", async () => {
    const x = wa.random.uniform([20, 20], { chunks: 5, seed: 4 });
    const [held] = await sync.persist(x);
    expect(held.graph().size).toBe(0);
    const [fromHeld, fresh] = await sync.compute(held.add(1), x.add(1));
    expect(fromHeld).toEqual(fresh);
  });
});

describe("executors", () => {
  it("computes the same result on the threads executor as on sync", async () => {
    const x = wa.random.normal([300, 300], { chunks: [100, 70], seed: 6 });
    const expression = wa.where(x.gt(0), x.T.mul(x), x.add(3)).std({ axis: 1 });
    const [onThreads] = await threads.compute(expression);
    const [onSync] = await sync.compute(expression);
    expect(onThreads).toEqual(onSync);
  });

  it("hands large blocks from worker threads back in shared memory", async () => {
    const [dense] = await threads.compute(wa.ones([300, 300], { chunks: 150 }).mul(3));
    expectClose(dense, make([300, 300], "float64", () => 3));
  });
});

describe("long elementwise chains", () => {
  it("cuts a chain of 200 operations into fused pieces of at most 64 nodes, with the right result", async () => {
    let x = wa.arange(0, 6, { chunks: 3, dtype: "float64" });
    for (let i = 0; i < 200; i++) x = x.add(1);
    // k additions make 1 + 2k nodes, so a piece holds 32 of them: 200 = 6 × 32 + 8, 7 pieces of 2 blocks.
    expect(count(x, "weft.array.elementwise")).toBe(14);
    const [dense] = await sync.compute(x);
    expect(Array.from(dense.data)).toEqual([200, 201, 202, 203, 204, 205]);
  });
});
