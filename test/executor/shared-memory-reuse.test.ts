import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Block } from "../../kernels/array/block.js";
import { Client } from "../../client/client.js";
import { delayed } from "../../client/delayed.js";
import { uniform } from "../../client/array/random.js";
import { RANDOM, randomBlock } from "../../kernels/array/random-kernels.js";
import { LocalScheduler } from "../../scheduler/local-scheduler.js";
import type { ExecutionOutcome, ExecutionRequest, HeldValues } from "../../executor/executor.js";
import { ThreadPoolExecutor } from "../../executor/thread-pool-executor.js";
import { bareData } from "../fixtures/array-tasks.js";
import { fill } from "../fixtures/math-tasks.js";

/** A 400×400 float64 block (1.28 MB): large enough to come from the threads' shared-memory pool. */
const SHAPE = [400, 400];

function randomArgs(seed: number): unknown[] {
  return ["uniform", seed, SHAPE, [0, 0], SHAPE, "float64", 0, 1];
}

/** The block of `seed`, computed on this thread (ordinary memory), to compare with. */
function expected(seed: number): Float64Array {
  return randomBlock("uniform", seed, SHAPE, [0, 0], SHAPE, "float64", 0, 1).data as Float64Array;
}

/** Element-wise equality, reported as a boolean: a failing `toEqual` on arrays this large takes minutes to diff. */
function same(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

describe("shared memory of the threads executor", () => {
  let pool: ThreadPoolExecutor;
  let held: HeldValues;
  const waiting = new Map<string, (outcome: ExecutionOutcome) => void>();
  let seq = 0;

  beforeAll(async () => {
    pool = await ThreadPoolExecutor.start(
      (outcomes) => {
        for (const outcome of outcomes) waiting.get(outcome.request.key)?.(outcome);
      },
      { nthreads: 1, imports: [new URL("../fixtures/array-tasks.ts", import.meta.url), new URL("../fixtures/math-tasks.ts", import.meta.url)] },
    );
    held = pool.heldValues;
  });
  afterAll(() => pool.close());

  function run(fn: string, args: readonly unknown[]): Promise<unknown> {
    const request: ExecutionRequest = { key: `task-${++seq}`, fn, args };
    return new Promise((resolve, reject) => {
      waiting.set(request.key, (outcome) => (outcome.ok ? resolve(outcome.value) : reject(new Error(outcome.error.message))));
      pool.run([request]);
    });
  }

  const randomBlockOf = async (seed: number) => (await run(RANDOM, randomArgs(seed))) as Block;

  it("reuses the memory of a block that no held result references for the next block of its size", async () => {
    const first = await randomBlockOf(1);
    expect(same(first.data, expected(1))).toBe(true);
    held.hold(first);
    held.release(first);
    const second = await randomBlockOf(2);
    // The first block's view now shows the second's numbers: they share memory.
    expect(same(first.data, second.data)).toBe(true);
    expect(same(second.data, expected(2))).toBe(true);
  });

  it("reuses the shared copy of a large array any function returns, which only weft ever sees", async () => {
    const first = (await run(fill.taskName, [200_000, 1])) as Float64Array;
    expect(first.buffer).toBeInstanceOf(SharedArrayBuffer);
    held.hold(first);
    held.release(first);
    await run(fill.taskName, [200_000, 2]);
    expect(first[0]).toBe(2);
  });

  it("never reuses a block while a held result references it", async () => {
    const first = await randomBlockOf(3);
    held.hold(first);
    await randomBlockOf(4);
    expect(same(first.data, expected(3))).toBe(true);
    held.release(first);
  });

  it("reuses a block referenced by two held results only once both are released", async () => {
    const block = await randomBlockOf(5);
    const wrapper = { parts: [block], label: "two results share one buffer" };
    held.hold(block);
    held.hold(wrapper);
    held.release(block);
    await randomBlockOf(6);
    expect(same(block.data, expected(5))).toBe(true);
    held.release(wrapper);
    const next = await randomBlockOf(7);
    expect(same(block.data, next.data)).toBe(true);
  });

  it("never reuses a block given to the program, even once released", async () => {
    const given = await randomBlockOf(8);
    held.hold(given);
    held.escape(given);
    held.release(given);
    await randomBlockOf(9);
    expect(same(given.data, expected(8))).toBe(true);
  });

  it("never reuses the input of a function that does not borrow its inputs, which may keep it", async () => {
    const input = await randomBlockOf(10);
    held.hold(input);
    const kept = (await run(bareData.taskName, [input])) as Float64Array;
    held.release(input);
    await randomBlockOf(11);
    expect(same(input.data, expected(10))).toBe(true);
    expect(same(kept, expected(10))).toBe(true);
  });
});

describe("results of the threads executor given to the program", () => {
  let scheduler: LocalScheduler;
  let client: Client;
  beforeAll(async () => {
    scheduler = await LocalScheduler.start({ executor: "threads", nthreads: 2 });
    client = Client.attach(scheduler);
  });
  afterAll(async () => {
    await client.close();
    await scheduler.close();
  });

  it("stay intact while later computations reuse the threads' memory", async () => {
    // A large typed array made by a task: the program gets the thread's shared copy itself.
    const [first] = await client.compute(delayed(fill)(200_000, 1));
    expect(first.buffer).toBeInstanceOf(SharedArrayBuffer);
    for (let value = 2; value < 12; value++) {
      const [other] = await client.compute(delayed(fill)(200_000, value));
      expect(other[0]).toBe(value);
    }
    expect(first.every((x) => x === 1)).toBe(true);
  });

  it("give the memory of blocks that finalizing copied back for reuse, and hold none afterwards", async () => {
    const before = scheduler.stats().sharedMemory!;
    // Four 2 MB blocks, assembled into one new array for the program.
    const [result] = await client.compute(uniform([1000, 1000], { chunks: 500, seed: 3 }).add(1));
    const after = scheduler.stats().sharedMemory!;
    expect(result.data[0]).toBeGreaterThanOrEqual(1);
    expect(after.returned - before.returned).toBeGreaterThanOrEqual(4);
    expect(after.escaped).toBe(before.escaped);
    expect(after.held).toBe(0);
  });

  it("give a result the program receives as it is to the program for good", async () => {
    const before = scheduler.stats().sharedMemory!;
    await client.compute(delayed(fill)(200_000, 4));
    const after = scheduler.stats().sharedMemory!;
    expect(after.escaped - before.escaped).toBe(1);
    expect(after.held).toBe(0);
  });

  it("are the same on every repeat of a computation whose blocks reuse memory", async () => {
    const x = uniform([1200, 1200], { chunks: 300, seed: 7 });
    const expression = x.add(x.T).mul(0.5).sum({ axis: 0 });
    const [reference] = await Client.local({ executor: "sync" }).then(async (sync) => {
      try {
        return await sync.compute(expression);
      } finally {
        await sync.close();
      }
    });
    for (let repeat = 0; repeat < 5; repeat++) {
      const [result] = await client.compute(expression);
      expect(same(result.data, reference.data)).toBe(true);
    }
  });
});
