import { describe, expect, it } from "vitest";
import { collectIndexedGraph, delayed } from "../../client/delayed.js";
import { DistributedScheduler } from "../../scheduler/distributed-scheduler.js";
import { usePrivateRedis, useStoppables } from "../support/cluster-setup.js";
import { runGraph } from "../../scheduler/run-graph.js";
import { WorkerProcess } from "../../worker/worker-process.js";
import { fill, sleepThen, total } from "../fixtures/math-tasks.js";

const server = usePrivateRedis();
const stopAfterTest = useStoppables();

describe("data locality", () => {
  it("runs a task on the worker holding its 50 MB input while that worker has room", async () => {
    const prefix = "locality";
    const scheduler = await DistributedScheduler.start({ redis: server().url, prefix, tickMs: 50 });
    stopAfterTest(scheduler);
    const joined = async (n: number) => {
      while (scheduler.workerIds.length < n) await new Promise((r) => setTimeout(r, 20));
    };
    // The first worker to join wins ties between idle workers. Keep it busy while the 50 MB result is
    // made, so the result lands on the second: a scheduler blind to locality would then send its
    // readers to the first, idle worker.
    const first = await WorkerProcess.start({ redis: server().url, prefix, nthreads: 1, executor: "main" });
    stopAfterTest(first);
    await joined(1);
    const busy = delayed(sleepThen, { pure: false })(1500, 0);
    const busyGraph = collectIndexedGraph([busy]);
    // With one worker joined, the long task can only go to it.
    const busyRun = runGraph(scheduler, busyGraph.graph, [busy.key], "busy", { collected: true, index: busyGraph.index });
    const second = await WorkerProcess.start({ redis: server().url, prefix, nthreads: 1, executor: "main" });
    stopAfterTest(second);
    await joined(2);

    // 6.25 million float64 values: 50 MB, kept for the test's "holder" client.
    const big = delayed(fill)(6_250_000, 1);
    const held = collectIndexedGraph([big]);
    await runGraph(scheduler, held.graph, [big.key], "holder", { collected: true, index: held.index, keep: true });
    const holder = [first, second].find((w) => w.store.has(big.key))!;
    const other = holder === first ? second : first;
    expect(holder).toBe(second);
    expect(holder.store.get(big.key)?.nbytes).toBe(50_000_000);
    await busyRun;

    for (let round = 0; round < 5; round++) {
      const before = { holder: holder.completed, other: other.completed };
      const sum = delayed(total, { pure: false })(big);
      const { graph, index } = collectIndexedGraph([sum]);
      expect(await runGraph(scheduler, graph, [sum.key], `reader-${round}`, { collected: true, index })).toEqual([6_250_000]);
      expect(holder.completed - before.holder).toBe(1);
      expect(other.completed - before.other).toBe(0);
    }
    scheduler.release("holder", [big.key]);
  }, 60_000);
});
