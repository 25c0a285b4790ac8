import { describe, expect, it } from "vitest";
import { delayed, type Delayed } from "../../client/delayed.js";
import { Client } from "../../client/client.js";
import { TaskError } from "../../protocol/task-error.js";
import { DistributedScheduler } from "../../scheduler/distributed-scheduler.js";
import { WorkerProcess } from "../../worker/worker-process.js";
import { add, fail, fill, inc, threadId, total } from "../fixtures/math-tasks.js";
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
});
