import { describe, expect, it } from "vitest";
import { Client } from "../../client/client.js";
import * as wa from "../../client/array/index.js";
import { DistributedScheduler } from "../../scheduler/distributed-scheduler.js";
import { Nanny } from "../../worker/nanny.js";
import { jsonLogger } from "../../protocol/logger.js";
import { usePrivateRedis, useStoppables } from "../support/cluster-setup.js";

const server = usePrivateRedis();
const stopAfterTest = useStoppables();

describe("arrays on worker processes", () => {
  it("computes (x + x.T).mean() and a rechunked slice on two worker processes started without imports", async () => {
    const prefix = "arrays";
    // No `imports`: the array kernels must be known to every worker by default.
    const nanny = Nanny.start({ nprocs: 2, logger: jsonLogger({ level: "warn" }), worker: { redis: server().url, prefix, nthreads: 1, executor: "main", logLevel: "error" } });
    stopAfterTest(nanny);
    const scheduler = await DistributedScheduler.start({ redis: server().url, prefix, tickMs: 50 });
    stopAfterTest(scheduler);
    const deadline = Date.now() + 30_000;
    while (scheduler.workerIds.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(scheduler.workerIds).toHaveLength(2);

    const x = wa.random.uniform([600, 600], { chunks: 200, seed: 8 });
    const mean = x.add(x.T).mean();
    const part = x.get(wa.slice(100, 500, 3), wa.slice(null, null, -1)).rechunk(50);
    const [distributed, slice] = (await Client.attach(scheduler).compute(mean, part)) as wa.DenseArray[];
    const [local, localSlice] = await computeLocally(mean, part);
    expect(distributed).toEqual(local);
    expect(slice).toEqual(localSlice);
  }, 60_000);
});

async function computeLocally(...arrays: wa.ChunkedArray[]): Promise<wa.DenseArray[]> {
  const { Client } = await import("../../client/client.js");
  const client = await Client.local({ executor: "sync" });
  try {
    return (await client.compute(...arrays)) as wa.DenseArray[];
  } finally {
    await client.close();
  }
}
