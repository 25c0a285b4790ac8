import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { collectIndexedGraph, delayed } from "../../client/delayed.js";
import { ControlPlane } from "../../protocol/redis/control-plane.js";
import { SchedulerLease } from "../../protocol/redis/scheduler-lease.js";
import { DistributedScheduler } from "../../scheduler/distributed-scheduler.js";
import { runGraph } from "../../scheduler/run-graph.js";
import { SchedulerRoleTakenError, type LeaseLostError } from "../../scheduler/scheduler-role.js";
import { WorkerProcess } from "../../worker/worker-process.js";
import { add, inc } from "../fixtures/math-tasks.js";
import { usePrivateRedis, useStoppables, waitForWorkers } from "../support/cluster-setup.js";

const server = usePrivateRedis();
const stopAfterTest = useStoppables();

let prefixSeq = 0;

/** Waits up to `timeoutMs` for `check` to hold. */
async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** Settles within `ms`, to tell a pending promise from a settled one. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | "pending"> {
  return Promise.race([promise, new Promise<"pending">((resolve) => setTimeout(() => resolve("pending"), ms))]);
}

describe("the scheduler role in a distributed scheduler", () => {
  it("a second scheduler stands by while the first holds the role, and takes it at once when the first stops", async () => {
    const prefix = `role${++prefixSeq}`;
    const first = await DistributedScheduler.start({ redis: server().url, prefix, tickMs: 50 });
    const standing: unknown[] = [];
    const second = DistributedScheduler.start({ redis: server().url, prefix, tickMs: 50, lease: { onStandby: (holder) => standing.push(holder) } });
    second.then((scheduler) => stopAfterTest(scheduler), () => undefined);
    expect(await within(second, 1_000)).toBe("pending");
    expect(standing).toEqual([expect.objectContaining({ epoch: 1, pid: process.pid })]);

    await first.stop();
    const took = await within(second, 3_000);
    expect(took).toBeInstanceOf(DistributedScheduler);
    expect((took as DistributedScheduler).epoch).toBe(2);
    expect((took as DistributedScheduler).role.previous?.epoch).toBe(1);
  });

  it("without standby, a second scheduler is refused at once, naming the holder; an aborted standby gives up", async () => {
    const prefix = `role${++prefixSeq}`;
    const first = await DistributedScheduler.start({ redis: server().url, prefix, tickMs: 50 });
    stopAfterTest(first);
    await expect(DistributedScheduler.start({ redis: server().url, prefix, lease: { standby: false } })).rejects.toThrow(SchedulerRoleTakenError);
    await expect(DistributedScheduler.start({ redis: server().url, prefix, lease: { standby: false } })).rejects.toThrow(
      new RegExp(`another scheduler holds the lease on prefix ${prefix}: id \\w+ on host .+, pid ${process.pid}, epoch 1, since \\d{4}-`),
    );
    await expect(DistributedScheduler.start({ redis: server().url, prefix, lease: { signal: AbortSignal.timeout(300) } })).rejects.toThrow(/timeout|abort/i);
  });

  it("a scheduler whose write is refused by the fence stops acting at once: it sends nothing and takes no events", async () => {
    const prefix = `role${++prefixSeq}`;
    const worker = await WorkerProcess.start({ redis: server().url, prefix, nthreads: 1, executor: "main" });
    stopAfterTest(worker);
    const lost: LeaseLostError[] = [];
    // A long lease: its renewal would notice the loss only seconds later, so the fence must.
    const scheduler = await DistributedScheduler.start({ redis: server().url, prefix, tickMs: 50, lease: { ttlMs: 60_000, onLost: (error) => lost.push(error) } });
    stopAfterTest(scheduler);
    await waitForWorkers(scheduler, 1);

    // As if the scheduler had frozen past its lease: the lease lapses and another scheduler takes it.
    const redis = new Redis(server().url);
    try {
      const lease = new SchedulerLease(redis, { prefix });
      await redis.del(lease.keys.schedulerLease);
      const taken = await lease.acquire({ id: "usurper", host: "elsewhere", pid: 1 });
      expect(taken.holder.epoch).toBe(2);

      const root = delayed(add)(delayed(inc)(1), 10);
      const { graph, index } = collectIndexedGraph([root]);
      const run = runGraph(scheduler, graph, [root.key], "client", { collected: true, index });
      await until(() => lost.length > 0, 5_000);
      expect(scheduler.deposed).toBeDefined();
      expect(lost.map((error) => error.message)).toEqual([
        "lost the scheduler lease (epoch 1): scheduler usurper on elsewhere (pid 1) holds it with epoch 2; noticed by a refused write to the workers' queues",
      ]);
      // Nothing reached the worker's queue, and the run never ends here: it is the new scheduler's to run.
      expect(await redis.zcard(lease.keys.workerQueue(worker.id))).toBe(0);
      expect(await within(run, 300)).toBe("pending");
      expect(() => scheduler.prepare(graph, [root.key], "later")).toThrow(/stopped acting: it lost the scheduler lease/);

      // A report written now stays in the stream for the scheduler holding the role.
      await new ControlPlane(redis, { prefix }).finishTasks(worker.id, [], Buffer.from("for the new scheduler"));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await redis.xlen(lease.keys.events)).toBe(1);
    } finally {
      redis.disconnect();
    }
  });
});
