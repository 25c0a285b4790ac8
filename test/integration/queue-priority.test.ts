import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { Client } from "../../client/client.js";
import { delayed } from "../../client/delayed.js";
import { ControlPlane } from "../../protocol/redis/control-plane.js";
import { redisKeys } from "../../protocol/redis/redis-keys.js";
import type { CoreState } from "../../scheduler/core/core-state.js";
import { DistributedScheduler } from "../../scheduler/distributed-scheduler.js";
import { inc } from "../fixtures/math-tasks.js";
import { usePrivateRedis, useStoppables, waitForWorkers } from "../support/cluster-setup.js";

const server = usePrivateRedis();
const stopAfterTest = useStoppables();

let prefixSeq = 0;
const WORKER = "w-hand";
const HEARTBEAT_TTL_MS = 60_000;

/**
 * A real scheduler on the private Redis, with one worker that is this test's hands: it registers,
 * and takes tasks from its Redis queue only when the test says, through the same take script a
 * worker process uses. So what the queue hands out first is what the test sees.
 */
async function schedulerAndHands() {
  const prefix = `qp${++prefixSeq}`;
  const redis = new Redis(server().url);
  stopAfterTest({ stop: async () => void (await redis.quit()) });
  const hands = new ControlPlane(redis, { prefix, heartbeatTtlMs: HEARTBEAT_TTL_MS });
  await hands.heartbeat({ id: WORKER, nthreads: 1, dataAddress: "http://127.0.0.1:9", pid: process.pid });
  const scheduler = await DistributedScheduler.start({ redis: server().url, prefix, tickMs: 50, heartbeatTtlMs: HEARTBEAT_TTL_MS });
  stopAfterTest(scheduler);
  await waitForWorkers(scheduler, 1);
  const client = Client.attach(scheduler);
  const queueLength = () => redis.zcard(redisKeys(prefix).workerQueue(WORKER));
  /** Submits `inc(x)` and waits until its task sits in the worker's queue; the result is never awaited. */
  const submitQueued = async (x: number, priority: number) => {
    const before = await queueLength();
    // The hand never runs the task: the computation stays pending until the scheduler stops.
    client.compute(delayed(inc, { priority })(x)).catch(() => undefined);
    const deadline = Date.now() + 5000;
    while ((await queueLength()) === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(await queueLength()).toBe(before + 1);
  };
  /** The scheduling core's state, to put its counters where a long-running scheduler's would be. */
  const core = () => (scheduler as unknown as { core: { state: CoreState } }).core.state;
  /** Moves the core on as `submissions` one-task graphs run since would have (see queue-progress.ts). */
  const age = (submissions: number) => {
    core().generation += submissions;
    for (const level of core().progress.values()) level.progress += submissions;
  };
  return { hands, submitQueued, core, age };
}

describe("worker queue priorities through Redis", () => {
  it("hands out a priority-1 task before a priority-0 one after more than a million submissions", async () => {
    const { hands, submitQueued, core, age } = await schedulerAndHands();
    await submitQueued(1, 0);
    // A priority-1 task queued first keeps that priority's progress (see queue-progress.ts) in use.
    await submitQueued(3, 1);
    // As if 1,000,005 one-task graphs had been submitted since: past where the old score overflowed.
    age(1_000_005);
    await submitQueued(2, 1);
    expect(core().progress.get(-1)!.progress).toBeGreaterThan(1_000_000);
    const taken = await hands.takeTasks(WORKER, 2);
    expect(taken.map((entry) => entry.key)).toEqual([delayed(inc, { priority: 1 })(3).key, delayed(inc, { priority: 1 })(2).key]);
  });

  it("keeps the earlier of two priority-0 tasks first across a renumbering, by rescoring it in Redis", async () => {
    const { hands, submitQueued, core } = await schedulerAndHands();
    // A task queued first keeps the priority's progress in use; then the sequences are nearly used
    // up: the next task gets the last one (999), the one after forces a renumbering.
    core().queueSeqLimit = 1000;
    await submitQueued(0, 0);
    core().progress.get(0)!.progress = 998;
    await submitQueued(1, 0);
    await submitQueued(2, 0);
    expect(core().progress.get(0)!.progress).toBeLessThan(999);
    // Without the rescore in Redis, inc(1) would keep score 999 there and come after inc(2).
    const taken = await hands.takeTasks(WORKER, 3);
    expect(taken.map((entry) => entry.key)).toEqual([delayed(inc)(0).key, delayed(inc)(1).key, delayed(inc)(2).key]);
  });
});
