import { describe, expect, it } from "vitest";
import { collectIndexedGraph, delayed } from "../../client/delayed.js";
import { Client } from "../../client/client.js";
import { DistributedScheduler } from "../../scheduler/distributed-scheduler.js";
import { connectRedis } from "../../protocol/redis/connect-redis.js";
import { ControlPlane } from "../../protocol/redis/control-plane.js";
import { runGraph } from "../../scheduler/run-graph.js";
import { DataClient } from "../../protocol/data-client.js";
import { Nanny } from "../../worker/nanny.js";
import { fill, spin } from "../fixtures/math-tasks.js";
import { usePrivateRedis, useStoppables, waitForWorkers } from "../support/cluster-setup.js";
import { clusterDataToken } from "../support/data-token.js";

/** Worker processes import the task functions from here. */
const fixtures = new URL("../fixtures/math-tasks.ts", import.meta.url).href;

const server = usePrivateRedis();
const stopAfterTest = useStoppables();

describe("a CPU-bound task on a worker", () => {
  it("does not stop the worker's heartbeats or its peer data service while it runs", async () => {
    const prefix = "cpu-bound";
    const heartbeatTtlMs = 600;
    // The default executor: a pool of worker threads (one here), so the process's own thread stays free.
    const nanny = Nanny.start({
      nprocs: 1,
      worker: { redis: server().url, prefix, nthreads: 1, imports: [fixtures], heartbeatTtlMs, logLevel: "error" },
    });
    stopAfterTest(nanny);
    const scheduler = await DistributedScheduler.start({ redis: server().url, prefix, tickMs: 50, heartbeatTtlMs });
    stopAfterTest(scheduler);
    await waitForWorkers(scheduler, 1);
    const [worker] = scheduler.workerIds;

    // A 1 MB result held on the worker, for a peer to fetch later.
    const held = delayed(fill)(131_072, 2);
    const heldGraph = collectIndexedGraph([held]);
    await runGraph(scheduler, heldGraph.graph, [held.key], "holder", { collected: true, index: heldGraph.index, keep: true });

    const redis = connectRedis(server().url);
    const plane = new ControlPlane(redis, { prefix, heartbeatTtlMs });
    const peers = new DataClient({ token: await clusterDataToken(redis, prefix), timeoutMs: 2_000 });
    stopAfterTest({ stop: async () => { peers.close(); redis.disconnect(); } });
    const [{ dataAddress }] = await plane.listWorkers();

    // Spin for ten heartbeat lifetimes: a worker whose event loop it blocked would be declared dead.
    let spinning = true;
    const spun = Client.attach(scheduler).compute(delayed(spin, { pure: false })(10 * heartbeatTtlMs)).finally(() => (spinning = false));
    await new Promise((r) => setTimeout(r, heartbeatTtlMs));

    let checks = 0;
    while (spinning) {
      expect(await redis.exists(plane.keys.workerHeartbeat(worker))).toBe(1);
      const [frame] = await peers.fetch(dataAddress, [held.key]);
      expect(frame.found).toBe(true);
      checks++;
      await new Promise((r) => setTimeout(r, heartbeatTtlMs / 3));
    }
    expect(await spun).toEqual([10 * heartbeatTtlMs]);
    expect(checks).toBeGreaterThanOrEqual(5);
    expect(scheduler.workerIds).toEqual([worker]);
    scheduler.release("holder", [held.key]);
  }, 60_000);
});
