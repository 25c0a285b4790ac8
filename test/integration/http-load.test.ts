import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../../client/client.js";
import { delayed } from "../../client/delayed.js";
import type { Logger } from "../../protocol/logger.js";
import { GRAPH_JOBS_QUEUE } from "../../scheduler/graph-jobs.js";
import { startRedisServer, type RedisServer } from "../../protocol/redis/private-redis-server.js";
import { SchedulerProcess } from "../../scheduler/scheduler-process.js";
import { lookupTask } from "../../protocol/task-registry.js";
import { Nanny } from "../../worker/nanny.js";
import { add, inc } from "../fixtures/math-tasks.js";

const CLIENTS = 20;
const GRAPHS_PER_CLIENT = 50;
const TOKEN = "load-test-token-0123456789";
const prefix = "http-load";

let redis: RedisServer;
let nanny: Nanny;
let scheduler: SchedulerProcess;

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

beforeAll(async () => {
  redis = await startRedisServer();
  nanny = Nanny.start({
    nprocs: 2,
    logger: quiet,
    execArgv: [],
    worker: { redis: redis.url, prefix, nthreads: 2, logLevel: "warn", imports: [lookupTask(inc.taskName)!.module!] },
  });
  scheduler = await SchedulerProcess.start({ redis: redis.url, prefix, tickMs: 50, http: { token: TOKEN, port: 0 } });
  const deadline = Date.now() + 30_000;
  while (scheduler.scheduler.workerIds.length < 2) {
    if (Date.now() > deadline) throw new Error("the 2 worker processes did not join within 30 s");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}, 60_000);

afterAll(async () => {
  await scheduler?.stop();
  await nanny?.stop();
  await redis?.stop();
});

/** Graph g of client c over HTTP as JSON: (c*1000+g + 1) + (c*1000+g + 2), keys unique to the graph. */
function jsonGraph(c: number, g: number): { body: string; expected: number; output: string } {
  const n = c * 1000 + g;
  const k = (name: string) => `c${c}-g${g}-${name}`;
  const tasks = {
    [k("x")]: { fn: "test.inc", args: [n] },
    [k("y")]: { fn: "test.inc", args: [n + 1] },
    [k("sum")]: { fn: "test.add", args: [{ $ref: k("x") }, { $ref: k("y") }] },
  };
  return { body: JSON.stringify({ tasks, outputs: [k("sum")] }), expected: 2 * n + 3, output: k("sum") };
}

/** A client speaking plain HTTP: submits its graphs one after another, then fetches every result. */
async function jsonClient(url: string, c: number): Promise<{ jobs: string[]; wrong: string[] }> {
  const headers = { authorization: `Bearer ${TOKEN}` };
  const submitted: { id: string; expected: number; output: string }[] = [];
  for (let g = 0; g < GRAPHS_PER_CLIENT; g++) {
    const { body, expected, output } = jsonGraph(c, g);
    const reply = await fetch(`${url}/v1/jobs`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body });
    if (reply.status !== 201) throw new Error(`client ${c} graph ${g}: submit answered ${reply.status} ${await reply.text()}`);
    submitted.push({ id: ((await reply.json()) as { id: string }).id, expected, output });
  }
  const wrong: string[] = [];
  for (const { id, expected, output } of submitted) {
    let reply: Response;
    do reply = await fetch(`${url}/v1/jobs/${id}/result?wait=30000&format=json`, { headers });
    while (reply.status === 202);
    const value = ((await reply.json()) as Record<string, unknown>)[output];
    if (value !== expected) wrong.push(`job ${id}: ${JSON.stringify(value)} instead of ${expected}`);
  }
  return { jobs: submitted.map((s) => s.id), wrong };
}

/** A TypeScript client: its 50 graphs computed at once through Client.connect (MessagePack). */
async function typescriptClient(url: string, c: number): Promise<{ wrong: string[] }> {
  const client = await Client.connect(url, { token: TOKEN });
  const results = await Promise.all(
    Array.from({ length: GRAPHS_PER_CLIENT }, async (_, g) => {
      const n = c * 1000 + g;
      const [value] = await client.compute(delayed(add)(delayed(inc)(n), delayed(inc)(n + 1)));
      return value === 2 * n + 3 ? undefined : `client ${c} graph ${g}: ${value} instead of ${2 * n + 3}`;
    }),
  );
  return { wrong: results.filter((r): r is string => r !== undefined) };
}

describe("HTTP API under load", () => {
  it("20 clients submitting 50 graphs each, concurrently, get all 1,000 results right, none lost or duplicated", async () => {
    const url = scheduler.http!.url;
    const outcomes = await Promise.all(
      Array.from({ length: CLIENTS }, (_, c) => (c % 2 === 0 ? jsonClient(url, c) : typescriptClient(url, c).then((r) => ({ ...r, jobs: [] as string[] })))),
    );
    expect(outcomes.flatMap((o) => o.wrong)).toEqual([]);
    // Every JSON graph got its own job.
    const jsonJobs = outcomes.flatMap((o) => o.jobs);
    expect(jsonJobs).toHaveLength((CLIENTS / 2) * GRAPHS_PER_CLIENT);
    expect(new Set(jsonJobs).size).toBe(jsonJobs.length);
    // The durable queue holds exactly one completed job per graph, and none failed.
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(GRAPH_JOBS_QUEUE, { connection, prefix });
    try {
      const deadline = Date.now() + 20_000;
      let counts = await queue.getJobCounts("completed", "failed", "active", "wait");
      while (counts.completed < CLIENTS * GRAPHS_PER_CLIENT && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        counts = await queue.getJobCounts("completed", "failed", "active", "wait");
      }
      expect(counts).toEqual({ completed: CLIENTS * GRAPHS_PER_CLIENT, failed: 0, active: 0, wait: 0 });
    } finally {
      await queue.close();
      connection.disconnect();
    }
  }, 180_000);
});
