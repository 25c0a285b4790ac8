import { describe, expect, it } from "vitest";
import { collectIndexedGraph, delayed } from "../../client/delayed.js";
import { DistributedScheduler } from "../../scheduler/distributed-scheduler.js";
import { runGraph } from "../../scheduler/run-graph.js";
import { WorkerProcess } from "../../worker/worker-process.js";
import { fill, totalOfTwo } from "../fixtures/math-tasks.js";
import { usePrivateRedis, useStoppables, waitForWorkers } from "../support/cluster-setup.js";

const server = usePrivateRedis();
const stopAfterTest = useStoppables();

/**
 * A scheduler and two workers (`nthreads` each, tasks on the main thread), holding two float64 blocks
 * made in one graph, one on each worker, kept for the client "holder". Each worker's data server
 * counts the keys it serves to peers.
 */
async function blocksHeldApart(prefix: string, nthreads: number, sizes: readonly [number, number]) {
  const scheduler = await DistributedScheduler.start({ redis: server().url, prefix, tickMs: 50 });
  stopAfterTest(scheduler);
  const workers: WorkerProcess[] = [];
  const served = new Map<WorkerProcess, string[]>();
  for (let i = 0; i < 2; i++) {
    const worker = await WorkerProcess.start({ redis: server().url, prefix, nthreads, executor: "main" });
    stopAfterTest(worker);
    workers.push(worker);
  }
  await waitForWorkers(scheduler, 2);
  // Two tasks without inputs, ready together, go to the two idle workers, one each.
  const a = delayed(fill)(sizes[0], 1);
  const b = delayed(fill)(sizes[1], 2);
  const made = collectIndexedGraph([a, b]);
  await runGraph(scheduler, made.graph, [a.key, b.key], "holder", { collected: true, index: made.index, keep: true });
  const holderOf = (key: string) => {
    const holders = workers.filter((w) => w.store.has(key));
    expect(holders).toHaveLength(1);
    return holders[0];
  };
  const [holderA, holderB] = [holderOf(a.key), holderOf(b.key)];
  expect(holderA).not.toBe(holderB);
  // Count from here on, the scheduler having fetched both blocks for "holder" above: the data server
  // reads the store once per key a peer asks for (so do the worker's own tasks, for their inputs).
  for (const worker of workers) {
    const keys: string[] = [];
    served.set(worker, keys);
    const get = worker.store.get.bind(worker.store);
    worker.store.get = (key) => {
      keys.push(key);
      return get(key);
    };
  }
  return { scheduler, a, b, holderA, holderB, served };
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(condition()).toBe(true);
}

describe("replicas of fetched inputs", () => {
  it("keeps an input fetched from a peer, which the scheduler then lists as held there, and drops every copy when the key is released", async () => {
    // 800 KB and 8 MB: a reader of both goes to the holder of the larger, which fetches the smaller.
    const { scheduler, a: small, b: big, holderA: smallHolder, holderB: bigHolder } = await blocksHeldApart("replicas-kept", 1, [100_000, 1_000_000]);
    const reader = delayed(totalOfTwo, { pure: false })(small, big);
    const read = collectIndexedGraph([reader]);
    expect(await runGraph(scheduler, read.graph, [reader.key], "reader", { collected: true, index: read.index })).toEqual([2_100_000]);

    expect(bigHolder.store.has(small.key)).toBe(true);
    expect(scheduler.whoHas(small.key).sort()).toEqual([smallHolder.id, bigHolder.id].sort());
    expect(scheduler.whoHas(big.key)).toEqual([bigHolder.id]);

    scheduler.release("holder", [small.key, big.key]);
    await until(() => !smallHolder.store.has(small.key) && !bigHolder.store.has(small.key) && !bigHolder.store.has(big.key));
    expect(scheduler.stateOf(small.key)).toBe(undefined);
  }, 60_000);

  it("runs the two readers of two blocks held apart on one worker, which fetches the block it lacks once", async () => {
    // Two 8 MB blocks, like X[i, j] and X[j, i]; two threads per worker, so both readers run at once.
    const { scheduler, a, b, holderA, holderB, served } = await blocksHeldApart("replicas-pair", 2, [1_000_000, 1_000_000]);
    const ab = delayed(totalOfTwo, { pure: false })(a, b);
    const ba = delayed(totalOfTwo, { pure: false })(b, a);
    const read = collectIndexedGraph([ab, ba]);
    expect(await runGraph(scheduler, read.graph, [ab.key, ba.key], "reader", { collected: true, index: read.index })).toEqual([3_000_000, 3_000_000]);

    // One block moved, once: the readers shared a worker, and its two tasks shared one fetch.
    const copies = [scheduler.whoHas(a.key), scheduler.whoHas(b.key)];
    expect(copies.flat()).toHaveLength(3);
    const [reading, lacked] = copies[0].length === 2 ? [holderB, a.key] : [holderA, b.key];
    const other = reading === holderA ? holderB : holderA;
    expect(served.get(other)).toEqual([lacked]);
    scheduler.release("holder", [a.key, b.key]);
  }, 60_000);
});
