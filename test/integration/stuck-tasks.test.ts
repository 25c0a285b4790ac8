import { describe, expect, it } from "vitest";
import { Client } from "../../client/client.js";
import { delayed } from "../../client/delayed.js";
import { TaskError } from "../../protocol/task-error.js";
import { DistributedScheduler } from "../../scheduler/distributed-scheduler.js";
import { Nanny } from "../../worker/nanny.js";
import { inc, spinForever } from "../fixtures/math-tasks.js";
import { usePrivateRedis, useStoppables, waitForWorkers } from "../support/cluster-setup.js";

/** Worker processes import the task functions from here. */
const fixtures = new URL("../fixtures/math-tasks.ts", import.meta.url).href;

const server = usePrivateRedis();
const stopAfterTest = useStoppables();

/** One worker process with one worker thread, and a scheduler: a stuck thread there stops everything. */
async function oneThreadCluster(prefix: string): Promise<DistributedScheduler> {
  const nanny = Nanny.start({
    nprocs: 1,
    worker: { redis: server().url, prefix, nthreads: 1, executor: "threads", imports: [fixtures], logLevel: "error" },
  });
  stopAfterTest(nanny);
  const scheduler = await DistributedScheduler.start({ redis: server().url, prefix, tickMs: 50 });
  stopAfterTest(scheduler);
  await waitForWorkers(scheduler, 1);
  return scheduler;
}

describe("stuck tasks on worker processes", () => {
  it("fails a task that runs past its timeout, and the worker goes on with other work on a fresh thread", async () => {
    const scheduler = await oneThreadCluster("timeout");
    const client = Client.attach(scheduler);
    const error = (await client.compute(delayed(spinForever, { timeoutMs: 500 })("worker")).catch((e: unknown) => e)) as TaskError;
    expect(error).toBeInstanceOf(TaskError);
    expect(error.remoteName).toBe("TaskTimeoutError");
    expect(error.message).toContain("ran longer than its timeout of 500 ms");
    // The worker's only thread was spinning: it runs this only because that thread was replaced.
    expect(await client.compute(delayed(inc)(1))).toEqual([2]);
  }, 120_000);

  it("applies a computation's default timeout on the workers", async () => {
    const scheduler = await oneThreadCluster("default-timeout");
    const client = Client.attach(scheduler, { taskTimeoutMs: 400 });
    const error = (await client.compute(delayed(spinForever)("default")).catch((e: unknown) => e)) as TaskError;
    expect(error.remoteName).toBe("TaskTimeoutError");
    expect(await client.compute(delayed(inc)(2))).toEqual([3]);
  }, 120_000);

  it("ends a spinning task on the scheduler's cancel, freeing the worker's thread", async () => {
    const scheduler = await oneThreadCluster("cancel");
    const client = Client.attach(scheduler);
    const future = client.submit(spinForever, "cancelled");
    const key = future.key;
    const deadline = Date.now() + 20_000;
    while (scheduler.stateOf(key) !== "processing" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // Taken by the worker and spinning on its thread by now.
    await new Promise((r) => setTimeout(r, 500));
    await future.cancel();
    expect(await client.compute(delayed(inc)(41))).toEqual([42]);
  }, 120_000);
});
