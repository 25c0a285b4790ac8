import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { collectGraph, delayed, type Delayed } from "../../client/delayed.js";
import { GraphJobs } from "../../scheduler/graph-jobs.js";
import { SchedulerProcess } from "../../scheduler/scheduler-process.js";
import { WorkerProcess } from "../../worker/worker-process.js";
import { add, fail, inc } from "../fixtures/math-tasks.js";
import { startRedisServer, type RedisServer } from "../../protocol/redis/private-redis-server.js";

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(() => redis.stop());

const open: { stop?(): Promise<void>; close?(): Promise<void> }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await (thing.stop ?? thing.close)!.call(thing);
});

let prefixSeq = 0;

async function deployment(): Promise<GraphJobs> {
  const prefix = `gj${++prefixSeq}`;
  const worker = await WorkerProcess.start({ redis: redis.url, prefix, nthreads: 2, executor: "main" });
  open.push(worker);
  const scheduler = await SchedulerProcess.start({ redis: redis.url, prefix, tickMs: 50 });
  open.push(scheduler);
  const jobs = new GraphJobs({ prefix, connection: () => new Redis(redis.url, { maxRetriesPerRequest: null }) });
  open.push(jobs);
  return jobs;
}

function tree(leaves: number): Delayed<number> {
  let level: Delayed<number>[] = Array.from({ length: leaves }, (_, i) => delayed(inc)(i));
  while (level.length > 1) {
    const next: Delayed<number>[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(delayed(add)(level[i], level[i + 1]));
    level = next;
  }
  return level[0];
}

describe("graph jobs", () => {
  it("runs a submitted graph and keeps its result queryable", async () => {
    const jobs = await deployment();
    const root = tree(64);
    const id = await jobs.submit(collectGraph([root]), [root.key]);
    expect(await jobs.result(id, 20_000)).toEqual([(64 * 65) / 2]);
    expect(await jobs.state(id)).toBe("completed");
  });

  it("fails a job whose task throws, with the task's key and error, and does not retry it", async () => {
    const jobs = await deployment();
    const broken = delayed(fail)("in a job");
    const id = await jobs.submit(collectGraph([broken]), [broken.key]);
    await expect(jobs.result(id, 20_000)).rejects.toThrow(/in a job/);
    expect(await jobs.state(id)).toBe("failed");
  });
});
