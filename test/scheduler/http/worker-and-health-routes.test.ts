import { describe, expect, it } from "vitest";
import { usePrivateRedis } from "../../support/cluster-setup.js";
import { json, useApiCluster } from "./api-cluster.js";

const server = usePrivateRedis();
const cluster = useApiCluster(server);

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
