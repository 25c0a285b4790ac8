import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { collectGraph, collectIndexedGraph, delayed, type Delayed } from "../../client/delayed.js";
import { startRedisServer, type RedisServer } from "../../protocol/redis/private-redis-server.js";
import { DistributedScheduler } from "../../scheduler/distributed-scheduler.js";
import { runGraph } from "../../scheduler/run-graph.js";
import { SchedulerProcess } from "../../scheduler/scheduler-process.js";
import type { LeaseLostError } from "../../scheduler/scheduler-role.js";
import { WorkerProcess } from "../../worker/worker-process.js";
import { add, sleepThen } from "../fixtures/math-tasks.js";
import { waitForWorkers } from "../support/cluster-setup.js";

/** A private Redis without persistence, which the tests restart empty on the same port: Redis losing its data. */
let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(() => server.stop());

const open: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.stop();
});

async function loseRedisData(): Promise<void> {
  await server.stop();
  server = await startRedisServer({ port: server.port });
}

/** A sum of `leaves` (a power of two) tasks of `ms` each, pairwise: `2 × leaves − 1` tasks. */
function treeSum(leaves: number, ms: number): Delayed<number> {
  let level: Delayed<number>[] = Array.from({ length: leaves }, (_, i) => delayed(sleepThen)(ms, i));
  while (level.length > 1) {
    const next: Delayed<number>[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(delayed(add)(level[i], level[i + 1]));
    level = next;
  }
  return level[0];
}

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

async function startWorkers(prefix: string, count: number): Promise<WorkerProcess[]> {
  const workers: WorkerProcess[] = [];
  for (let i = 0; i < count; i++) {
    const worker = await WorkerProcess.start({ redis: server.url, prefix, nthreads: 2, executor: "main", heartbeatTtlMs: 1_500 });
    open.push(worker);
    workers.push(worker);
  }
  return workers;
}

describe("Redis restarted empty (without persistence) mid-job", () => {
  it("a computation the program still holds completes with the right result, on the same workers", async () => {
    const prefix = "wipe-run";
    const workers = await startWorkers(prefix, 2);
    const lost: LeaseLostError[] = [];
    const scheduler = await DistributedScheduler.start({
      redis: server.url,
      prefix,
      tickMs: 50,
      heartbeatTtlMs: 1_500,
      lease: { ttlMs: 1_500, onLost: (error) => lost.push(error) },
    });
    open.push(scheduler);
    await waitForWorkers(scheduler, 2);

    const root = treeSum(64, 60);
    const { graph, index } = collectIndexedGraph([root]);
    const run = runGraph(scheduler, graph, [root.key], "client", { collected: true, index });
    const completed = () => workers.reduce((sum, worker) => sum + worker.completed, 0);
    await until(() => completed() >= 16, 20_000);
    expect(completed()).toBeGreaterThanOrEqual(16);
    await loseRedisData();

    expect(await run).toEqual([(63 * 64) / 2]);
    expect(lost).toEqual([]);
    expect(scheduler.deposed).toBeUndefined();
    // The workers registered again under their ids: none was declared dead and replaced.
    expect(new Set(scheduler.workerIds)).toEqual(new Set(workers.map((worker) => worker.id)));
  }, 60_000);

  it("a running job whose durable record is gone fails with a clear error, and the next job runs", async () => {
    const prefix = "wipe-jobs";
    await startWorkers(prefix, 1);
    const scheduler = await SchedulerProcess.start({ redis: server.url, prefix, tickMs: 50, heartbeatTtlMs: 1_500, lease: { ttlMs: 1_500 } });
    open.push(scheduler);
    await waitForWorkers(scheduler.scheduler, 1);

    const slow = treeSum(16, 300);
    const running = await scheduler.jobs.submit(collectGraph([slow]), [slow.key]);
    await until(() => scheduler.jobs.outcome(running) !== undefined, 500);
    await loseRedisData();

    const outcome = await scheduler.jobs.outcome(running, 20_000);
    expect(outcome).toMatchObject({ state: "failed", failure: { error: "record-lost" } });
    expect(outcome?.state === "failed" && outcome.failure.message).toMatch(/Redis lost its data .* submit the job again/);

    const next = delayed(add)(delayed(sleepThen)(10, 2), 3);
    const after = await scheduler.jobs.submit(collectGraph([next]), [next.key]);
    expect(await scheduler.jobs.outcome(after, 20_000)).toMatchObject({ state: "completed", values: [5] });
  }, 60_000);
});
