import { describe, expect, it } from "vitest";
import { collectIndexedGraph, delayed } from "../../client/delayed.js";
import { DistributedScheduler } from "../../scheduler/distributed-scheduler.js";
import { runGraph } from "../../scheduler/run-graph.js";
import { WorkerProcess } from "../../worker/worker-process.js";
import { inc } from "../fixtures/math-tasks.js";
import { usePrivateRedis, useStoppables } from "../support/cluster-setup.js";

const server = usePrivateRedis();
const stopAfterTest = useStoppables();

describe("worker memory limit", () => {
  it("takes no tasks while its resident memory is over 80% of the limit", async () => {
    const prefix = "memory-limit";
    const scheduler = await DistributedScheduler.start({ redis: server().url, prefix, tickMs: 50 });
    stopAfterTest(scheduler);
    // Any process is over 80% of a 1 MB limit, so this worker stays paused.
    const paused = await WorkerProcess.start({ redis: server().url, prefix, nthreads: 1, executor: "main", memoryLimit: 1_000_000 });
    stopAfterTest(paused);
    while (scheduler.workerIds.length < 1) await new Promise((r) => setTimeout(r, 20));
    const value = delayed(inc)(41);
    const { graph, index } = collectIndexedGraph([value]);
    const run = runGraph(scheduler, graph, [value.key], "paused", { collected: true, index });
    await new Promise((r) => setTimeout(r, 1000));
    expect(paused.completed).toBe(0);
    // Stopping the paused worker hands its queued task back, to the worker that has room.
    const roomy = await WorkerProcess.start({ redis: server().url, prefix, nthreads: 1, executor: "main", memoryLimit: 64 * 2 ** 30 });
    stopAfterTest(roomy);
    while (scheduler.workerIds.length < 2) await new Promise((r) => setTimeout(r, 20));
    await paused.stop();
    expect(await run).toEqual([42]);
    expect(paused.completed).toBe(0);
    expect(roomy.completed).toBe(1);
  }, 30_000);

});
