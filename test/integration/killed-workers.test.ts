import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { collectIndexedGraph, delayed, type Delayed } from "../../client/delayed.js";
import { TaskError } from "../../client/task-error.js";
import { DistributedScheduler } from "../../scheduler/distributed-scheduler.js";
import { Nanny } from "../../worker/nanny.js";
import { inc, killProcess } from "../fixtures/math-tasks.js";
import { startRedisServer, type RedisServer } from "../support/redis-server.js";

/** Worker processes import the task functions from here. */
const fixtures = new URL("../fixtures/math-tasks.ts", import.meta.url).href;

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(() => redis.stop());

const open: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.stop();
});

let clientSeq = 0;

function compute(scheduler: DistributedScheduler, ...values: Delayed[]): Promise<unknown[]> {
  const client = `c${++clientSeq}`;
  const { graph, index } = collectIndexedGraph(values);
  const outputs = values.map((value) => value.key);
  const results = new Map<string, unknown>();
  return new Promise((resolve, reject) => {
    scheduler.submit(
      graph,
      outputs,
      client,
      {
        onResult: (key, value) => {
          results.set(key, value);
          if (results.size === new Set(outputs).size) {
            scheduler.release(client, outputs);
            resolve(outputs.map((key) => results.get(key)));
          }
        },
        onError: (key, failure) => {
          scheduler.release(client, outputs);
          reject(new TaskError(key, failure));
        },
        onRejected: reject,
      },
      { collected: true, index },
    );
  });
}

describe("killed workers", () => {
  it("fails a task that kills its worker every time after 3 deaths, naming the workers, and keeps serving", async () => {
    const prefix = "killed";
    const nanny = Nanny.start({
      nprocs: 1,
      worker: { redis: redis.url, prefix, nthreads: 1, executor: "main", imports: [fixtures], heartbeatTtlMs: 600, logLevel: "error" },
    });
    open.push(nanny);
    const scheduler = await DistributedScheduler.start({ redis: redis.url, prefix, tickMs: 50, heartbeatTtlMs: 600 });
    open.push(scheduler);

    const poison = delayed(killProcess, { pure: false })();
    const error = (await compute(scheduler, poison).catch((e: unknown) => e)) as TaskError;
    expect(error).toBeInstanceOf(TaskError);
    expect(error.remoteName).toBe("KilledWorker");
    expect(error.message).toMatch(/was running on 3 workers that died: \S+, \S+, \S+/);

    expect(await compute(scheduler, delayed(inc)(1))).toEqual([2]);
  }, 60_000);
});
