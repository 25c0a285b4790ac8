import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import type { JobPage, JobSummary } from "../../../protocol/job-api.js";
import { GraphJobs } from "../../../scheduler/graph-jobs.js";
import { listJobs } from "../../../scheduler/job-listing.js";
import { taskSpec } from "../../../graph/task-spec.js";
import { usePrivateRedis } from "../../support/cluster-setup.js";
import { json, useApiCluster, TEST_TOKEN, type ApiCluster } from "./api-cluster.js";

const server = usePrivateRedis();
const cluster = useApiCluster(server);

const queues: GraphJobs[] = [];
afterEach(async () => {
  for (const queue of queues.splice(0)) await queue.close();
});

const quick = { x: { fn: "weft.add", args: [1, 2] } };
const failing = { bad: { fn: "test.fail", args: ["no luck"] } };
const slow = { s: { fn: "test.sleep", args: [1000] } };

/** Submits a graph; waits a few ms after, so that each job has its own submission time. */
async function submit(api: ApiCluster, tasks: Record<string, unknown>): Promise<string> {
  const reply = await api.request("/v1/jobs", json({ tasks, outputs: Object.keys(tasks) }));
  expect(reply.status).toBe(201);
  await new Promise((resolve) => setTimeout(resolve, 3));
  return ((await reply.json()) as { id: string }).id;
}

async function ended(api: ApiCluster, id: string): Promise<void> {
  await api.request(`/v1/jobs/${id}/result?wait=10000`);
}

async function list(api: ApiCluster, query = ""): Promise<JobPage> {
  const reply = await api.request(`/v1/jobs${query}`);
  expect(reply.status).toBe(200);
  return (await reply.json()) as JobPage;
}

/**
 * Waits until the workers run and hold nothing: stopping a cluster whose worker still holds a result
 * waits seconds for the scheduler to take it over.
 */
async function idle(api: ApiCluster): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const { workers } = (await (await api.request("/v1/workers")).json()) as { workers: { running: number; results: number }[] };
    if (workers.every((worker) => worker.running === 0 && worker.results === 0)) return;
    if (Date.now() > deadline) throw new Error("the workers did not go idle within 5 s");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function waitUntilRunning(api: ApiCluster, id: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (((await (await api.request(`/v1/jobs/${id}`)).json()) as { state: string }).state !== "running") {
    if (Date.now() > deadline) throw new Error(`job ${id} did not start within 5 s`);
  }
}

/** Waits until the durable queue has recorded the job in `state`. */
async function recorded(queue: GraphJobs, id: string, state: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await queue.state(id)) !== state) {
    if (Date.now() > deadline) throw new Error(`the queue did not record job ${id} as ${state} within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A cluster with three jobs, in this order: one completed, one failed, one running. */
async function threeJobs(): Promise<{ api: ApiCluster; done: string; failed: string; running: string }> {
  const api = await cluster();
  const done = await submit(api, quick);
  const failed = await submit(api, failing);
  await ended(api, done);
  await ended(api, failed);
  const running = await submit(api, slow);
  await waitUntilRunning(api, running);
  return { api, done, failed, running };
}

describe("GET /v1/jobs", () => {
  it("lists the jobs newest first, each once, with its state, times, task counts and failure", async () => {
    const { api, done, failed, running } = await threeJobs();
    await recorded(api.scheduler.jobs.queue, failed, "failed");

    const { jobs, next } = await list(api);
    expect(jobs.map((job) => job.id)).toEqual([running, failed, done]);
    expect(next).toBeUndefined();
    const [r, f, d] = jobs;
    expect(r).toMatchObject({ state: "running", tasks: { total: 1, processing: 1 } });
    expect(r.finishedAt).toBeUndefined();
    expect(f).toMatchObject({ state: "failed", error: { error: "task-failed", key: "bad", task: { message: "no luck" } } });
    expect(d).toMatchObject({ state: "completed", tasks: { total: 1, finished: 1 } });
    expect(d.finishedAt! - d.submittedAt).toBe(d.elapsedMs);
    expect(d).not.toHaveProperty("outputs");
    await idle(api);
  });

  it("keeps only the jobs in the states asked for", async () => {
    const { api, done, failed, running } = await threeJobs();

    expect((await list(api, "?state=failed")).jobs.map((job) => job.id)).toEqual([failed]);
    expect((await list(api, "?state=completed&state=running")).jobs.map((job) => job.id)).toEqual([running, done]);
    expect((await list(api, "?state=cancelled")).jobs).toEqual([]);
    await idle(api);
  });

  it("pages with a cursor: every job once, newest first, and a job submitted meanwhile only before the first page", async () => {
    const api = await cluster();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await submit(api, { [`k${i}`]: { fn: "weft.add", args: [i, 1] } }));
    const first = await list(api, "?limit=2");
    const later = await submit(api, quick);
    const second = await list(api, `?limit=2&cursor=${first.next}`);
    const third = await list(api, `?limit=2&cursor=${second.next}`);
    expect([first, second, third].map((page) => page.jobs.length)).toEqual([2, 2, 1]);
    expect(third.next).toBeUndefined();
    expect([first, second, third].flatMap((page) => page.jobs.map((job) => job.id))).toEqual(ids.reverse());
    expect((await list(api, "?limit=1")).jobs[0].id).toBe(later);
  });

  it("refuses a request without a token with 401, listing nothing", async () => {
    const api = await cluster();
    await submit(api, quick);
    const reply = await fetch(`${api.url}/v1/jobs`);
    expect(reply.status).toBe(401);
    expect(await reply.json()).toMatchObject({ error: "unauthorized" });
    expect((await fetch(`${api.url}/v1/jobs`, { headers: { authorization: `Bearer ${TEST_TOKEN}x` } })).status).toBe(401);
  });

  it.each([
    ["?state=done", "state"],
    ["?limit=0", "limit"],
    ["?limit=501", "limit"],
    ["?cursor=not%20an%20id", "cursor"],
    ["?page=2", "page"],
  ])("refuses %s with 400 naming the parameter", async (query, name) => {
    const api = await cluster();
    const reply = await api.request(`/v1/jobs${query}`);
    expect(reply.status).toBe(400);
    const body = (await reply.json()) as { error: string; message: string };
    expect(body.error).toBe("invalid-querystring");
    expect(body.message).toContain(name);
  });
});

describe("listing the jobs a scheduler knows only from the durable queue", () => {
  it("shows completed, failed and cancelled jobs as the queue records them, without task counts", async () => {
    const api = await cluster();
    const queue = api.scheduler.jobs.queue;
    const done = await submit(api, quick);
    const failed = await submit(api, failing);
    const cancelled = await submit(api, slow);
    await ended(api, done);
    await ended(api, failed);
    await waitUntilRunning(api, cancelled);
    expect((await api.request(`/v1/jobs/${cancelled}`, { method: "DELETE" })).status).toBe(200);
    await recorded(queue, done, "completed");
    await recorded(queue, failed, "failed");
    await recorded(queue, cancelled, "failed");

    // Nothing in memory: what a scheduler started after these jobs ended would list.
    const { jobs } = await listJobs(new Map(), queue);
    expect(jobs.map((job) => [job.id, job.state])).toEqual([
      [cancelled, "cancelled"],
      [failed, "failed"],
      [done, "completed"],
    ]);
    const byId = new Map<string, JobSummary>(jobs.map((job) => [job.id, job]));
    expect(byId.get(failed)!.error).toMatchObject({ error: "task-failed", key: "bad", task: { message: "no luck" } });
    expect(byId.get(cancelled)!.error).toMatchObject({ error: "cancelled" });
    for (const job of jobs) {
      expect(job.tasks).toBeUndefined();
      expect(job.finishedAt! - job.submittedAt).toBe(job.elapsedMs);
    }
    expect((await listJobs(new Map(), queue, { states: ["cancelled"] })).jobs.map((job) => job.id)).toEqual([cancelled]);
    expect((await listJobs(new Map(), queue, { states: ["failed"], limit: 1 })).jobs.map((job) => job.id)).toEqual([failed]);
    await idle(api);
  });

  it("shows jobs no scheduler has taken yet as waiting", async () => {
    const queue = new GraphJobs({ prefix: `unserved-${process.pid}`, connection: () => new Redis(server().url, { maxRetriesPerRequest: null }) });
    queues.push(queue);
    const graph = new Map([["w", taskSpec("w", "weft.add", [1, 2])]]);
    const first = await queue.submit(graph, ["w"]);
    await new Promise((resolve) => setTimeout(resolve, 3));
    const second = await queue.submit(graph, ["w"]);
    const { jobs, next } = await listJobs(new Map(), queue, { limit: 1 });
    expect(jobs).toMatchObject([{ id: second, state: "waiting", startedAt: undefined, finishedAt: undefined }]);
    expect((await listJobs(new Map(), queue, { cursor: next })).jobs.map((job) => job.id)).toEqual([first]);
    expect((await listJobs(new Map(), queue, { states: ["running", "completed"] })).jobs).toEqual([]);
  });
});
