import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import type { WorkerInfo } from "../../../protocol/job-api.js";
import { Nanny } from "../../../worker/nanny.js";
import { usePrivateRedis } from "../../support/cluster-setup.js";
import { json, useApiCluster, type ApiCluster } from "./api-cluster.js";

const server = usePrivateRedis();
const cluster = useApiCluster(server);

const nannies: Nanny[] = [];
afterEach(async () => {
  await Promise.all(nannies.splice(0).map((nanny) => nanny.stop()));
});

/** Worker processes of their own (not in this process), supervised by a nanny, joined to the cluster. */
async function workerProcesses(api: ApiCluster, nprocs: number): Promise<Nanny> {
  const quiet = () => undefined;
  const nanny = Nanny.start({
    nprocs,
    execArgv: [],
    logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
    worker: {
      redis: server().url,
      prefix: api.prefix,
      nthreads: 1,
      executor: "main",
      imports: [new URL("../../fixtures/math-tasks.ts", import.meta.url).href],
      logLevel: "error",
    },
  });
  nannies.push(nanny);
  await until(async () => (await listWorkers(api)).length === nprocs, `${nprocs} worker processes did not join within 20 s`, 20_000);
  return nanny;
}

async function listWorkers(api: ApiCluster): Promise<WorkerInfo[]> {
  return ((await (await api.request("/v1/workers")).json()) as { workers: WorkerInfo[] }).workers;
}

async function until(check: () => Promise<boolean>, failure: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(failure);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A process's resident memory in bytes, as Linux reports it. */
function residentBytes(pid: number): number {
  const line = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (line === null) throw new Error(`no VmRSS for process ${pid}`);
  return Number(line[1]) * 1024;
}

describe("GET /v1/workers", () => {
  it("lists each worker with its threads, queued and running tasks, and memory held", async () => {
    const api = await cluster({ workers: 2 });
    const reply = await api.request("/v1/workers");
    expect(reply.status).toBe(200);
    const { workers } = (await reply.json()) as { workers: Record<string, unknown>[] };
    expect(workers.map((w) => w.id).sort()).toEqual(api.workers.map((w) => w.id).sort());
    for (const worker of workers) {
      expect(worker).toMatchObject({ nthreads: 2, queued: 0, running: 0, results: 0, memoryBytes: 0, pid: process.pid });
      expect(worker.functions as number).toBeGreaterThan(0);
    }
  });

  it("counts a worker's running tasks and the memory its kept results hold", async () => {
    const api = await cluster({ workers: 1 });
    const kept = await api.request("/v1/jobs", json({ tasks: { big: { fn: "test.fill", args: [100_000, 1] } }, outputs: ["big"], keep: true }));
    const keptId = ((await kept.json()) as { id: string }).id;
    await api.request(`/v1/jobs/${keptId}/result?wait=10000`);
    await api.request("/v1/jobs", json({ tasks: { s: { fn: "test.sleep", args: [1500] } }, outputs: ["s"] }));
    let worker: Record<string, number> = {};
    const deadline = Date.now() + 5000;
    while (worker.running !== 1 && Date.now() < deadline) {
      worker = ((await (await api.request("/v1/workers")).json()) as { workers: Record<string, number>[] }).workers[0];
    }
    expect(worker.running).toBe(1);
    expect(worker.results).toBe(1);
    expect(worker.memoryBytes).toBeGreaterThanOrEqual(800_000);
  });
});

describe("GET /v1/workers: process memory", () => {
  it("reports each worker process's resident memory (RSS), as the process measures it", async () => {
    const api = await cluster({ workers: 0 });
    const nanny = await workerProcesses(api, 2);
    const pids = nanny.children().map((child) => child.pid);
    const workers = await listWorkers(api);
    expect(workers.map((worker) => worker.pid).sort()).toEqual([...pids].sort());
    for (const worker of workers) {
      // The worker measured its RSS at its last heartbeat; an idle process's RSS barely moves since.
      const measured = residentBytes(worker.pid);
      expect(worker.rssBytes).toBeGreaterThan(0.7 * measured);
      expect(worker.rssBytes).toBeLessThan(1.3 * measured);
      expect(worker.memoryBytes).toBe(0);
    }
  });

  it("refreshes a worker's RSS with its heartbeats: a worker whose process grows by 100 MB reports it", async () => {
    const api = await cluster({ workers: 0 });
    await workerProcesses(api, 1);
    const [before] = await listWorkers(api);
    const grown = await api.request("/v1/jobs?wait=10000", json({ tasks: { grow: { fn: "test.retainMemory", args: [100_000_000] } }, outputs: ["grow"] }));
    expect(grown.status).toBe(200);
    let after = before;
    await until(async () => {
      [after] = await listWorkers(api);
      return after.rssBytes >= before.rssBytes + 90_000_000;
    }, `the worker's reported RSS did not grow by 90 MB within 10 s: ${before.rssBytes} bytes before, ${after.rssBytes} after`);
    // Not results: the bytes of results held stay apart from the process's memory.
    expect(after).toMatchObject({ results: 0, memoryBytes: 0 });
    const measured = residentBytes(after.pid);
    expect(after.rssBytes).toBeGreaterThan(0.7 * measured);
    expect(after.rssBytes).toBeLessThan(1.3 * measured);
  });
});

describe("health and readiness", () => {
  it("GET /v1/health answers without a token", async () => {
    const api = await cluster();
    const reply = await fetch(`${api.url}/v1/health`);
    expect(reply.status).toBe(200);
    expect(await reply.json()).toEqual({ status: "ok" });
  });

  it("GET /v1/ready answers 200 with the number of workers once one has joined", async () => {
    const api = await cluster({ workers: 2 });
    const reply = await fetch(`${api.url}/v1/ready`);
    expect(reply.status).toBe(200);
    expect(await reply.json()).toEqual({ status: "ready", workers: 2 });
  });

  it("GET /v1/ready answers 503 while no worker has joined", async () => {
    const api = await cluster({ workers: 0 });
    const reply = await fetch(`${api.url}/v1/ready`);
    expect(reply.status).toBe(503);
    expect(await reply.json()).toMatchObject({ error: "not-ready", details: { redis: true, workers: 0 } });
  });
});
