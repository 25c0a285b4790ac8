import { describe, expect, it } from "vitest";
import { delayed, type Delayed } from "../../client/delayed.js";
import { Client } from "../../client/client.js";
import { TaskError } from "../../protocol/task-error.js";
import { DistributedScheduler } from "../../scheduler/distributed-scheduler.js";
import { WorkerProcess } from "../../worker/worker-process.js";
import { add, fail, fill, inc, sleepThen, threadId, total } from "../fixtures/math-tasks.js";
import { redisKeys } from "../../protocol/redis/redis-keys.js";
import { Redis } from "ioredis";
import { usePrivateRedis, useStoppables } from "../support/cluster-setup.js";

const server = usePrivateRedis();
const stopAfterTest = useStoppables();

let prefixSeq = 0;

async function cluster(workers = 2): Promise<{ scheduler: DistributedScheduler; workers: WorkerProcess[] }> {
  const prefix = `ds${++prefixSeq}`;
  const started = await Promise.all(
    Array.from({ length: workers }, () => WorkerProcess.start({ redis: server().url, prefix, nthreads: 2, executor: "main" })),
  );
  stopAfterTest(...started);
  const scheduler = await DistributedScheduler.start({ redis: server().url, prefix, tickMs: 50 });
  stopAfterTest(scheduler);
  const deadline = Date.now() + 5000;
  while (scheduler.workerIds.length < workers && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(scheduler.workerIds).toHaveLength(workers);
  return { scheduler, workers: started };
}


function tree(leaves: number): { root: Delayed<number>; expected: number } {
  let level: Delayed<number>[] = Array.from({ length: leaves }, (_, i) => delayed(inc)(i));
  while (level.length > 1) {
    const next: Delayed<number>[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(delayed(add)(level[i], level[i + 1]));
    level = next;
  }
  return { root: level[0], expected: (leaves * (leaves + 1)) / 2 };
}

describe("distributed scheduler", () => {
  it("computes a tree reduction across two worker processes' worth of workers", async () => {
    const { scheduler } = await cluster(2);
    const { root, expected } = tree(256);
    expect(await Client.attach(scheduler).compute(root)).toEqual([expected]);
  });

  it("uses every worker", async () => {
    const { scheduler, workers } = await cluster(2);
    const values = Array.from({ length: 40 }, (_, i) => delayed(inc)(i));
    await Client.attach(scheduler).compute(...values);
    // Results were released after delivery, so count what each worker computed from its reports:
    // every worker must have run some of the 40 independent tasks.
    expect(workers.every((w) => w.completed > 0)).toBe(true);
  });

  it("computes on large results that stay on the workers, and fetches the ones a client wants", async () => {
    const { scheduler } = await cluster(2);
    const blocks = Array.from({ length: 6 }, (_, i) => delayed(fill)(50_000, i));
    const sums = blocks.map((block) => delayed(total)(block));
    const [block] = await Client.attach(scheduler).compute(blocks[3]);
    expect((block as Float64Array).length).toBe(50_000);
    expect((block as Float64Array)[0]).toBe(3);
    expect(await Client.attach(scheduler).compute(...sums)).toEqual([0, 50_000, 100_000, 150_000, 200_000, 250_000]);
  });

  it("reports a task's error with its key and the worker's stack", async () => {
    const { scheduler } = await cluster(1);
    const broken = delayed(fail)("far away");
    const error = (await Client.attach(scheduler).compute(delayed(inc)(broken)).catch((e: unknown) => e)) as TaskError;
    expect(error).toBeInstanceOf(TaskError);
    expect(error.message).toContain("far away");
    expect(error.remoteStack).toContain("math-tasks.ts");
  });

  it("keeps serving after a failed graph", async () => {
    const { scheduler } = await cluster(1);
    await Client.attach(scheduler).compute(delayed(fail)("once")).catch(() => undefined);
    expect(await Client.attach(scheduler).compute(delayed(inc)(41))).toEqual([42]);
  });

  it("refuses a graph whose arguments cannot travel, naming the task", async () => {
    const { scheduler } = await cluster(1);
    // Impure, so that no key is hashed from the function and the scheduler's own check is reached.
    const bad = delayed(threadId, { pure: false })((() => 1) as never);
    await expect(Client.attach(scheduler).compute(bad)).rejects.toThrow(/cannot be serialized/);
  });

  it("takes a cancelled task still waiting in a worker's queue out of it, so that the worker never runs it", async () => {
    const prefix = `ds${++prefixSeq}`;
    const worker = await WorkerProcess.start({ redis: server().url, prefix, nthreads: 1, executor: "main" });
    stopAfterTest(worker);
    const scheduler = await DistributedScheduler.start({ redis: server().url, prefix, tickMs: 50 });
    stopAfterTest(scheduler);
    const deadline = Date.now() + 5000;
    while (scheduler.workerIds.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const client = Client.attach(scheduler);
    // One runs on the only thread; the others, of a kind never seen to finish, wait in its Redis queue.
    const futures = Array.from({ length: 6 }, (_, i) => client.submit(sleepThen, 1_500, i));
    const queue = redisKeys(prefix).workerQueue(worker.id);
    const redis = new Redis(server().url);
    try {
      while ((await redis.zcard(queue)) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(await redis.zcard(queue)).toBeGreaterThan(0);
      await Promise.all(futures.map((future) => future.cancel()));
      await new Promise((r) => setTimeout(r, 2_000));
      expect(await redis.zcard(queue)).toBe(0);
      // Only the running task started: it was ended by the cancel; none of the queued ones ran after it.
      expect(worker.completed).toBe(1);
    } finally {
      await redis.quit();
    }
  }, 30_000);
});
