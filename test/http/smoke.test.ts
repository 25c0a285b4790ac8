import { describe, expect, it } from "vitest";
import { usePrivateRedis } from "../support/cluster-setup.js";
import { json, useApiCluster } from "./api-cluster.js";

const server = usePrivateRedis();
const cluster = useApiCluster(server);

describe("smoke", () => {
  it("round trip", async () => {
    const api = await cluster();
    const jobs = api.scheduler.jobs as unknown as { run: (...a: unknown[]) => Promise<unknown> };
    const origRun = jobs.run.bind(jobs);
    const picks: number[] = [];
    const runs: number[] = [];
    jobs.run = async (...a: unknown[]) => {
      const job = a[3] as { timestamp: number };
      picks.push(Date.now() - job.timestamp);
      const t = performance.now();
      const v = await origRun(...a);
      runs.push(performance.now() - t);
      return v;
    };
    const sub: number[] = [];
    const res: number[] = [];
    for (let i = 0; i < 60; i++) {
      const t0 = performance.now();
      const s = (await (await api.request("/v1/jobs", json({ tasks: { a: { fn: "weft.add", args: [i, 2] } }, outputs: ["a"] }))).json()) as { id: string };
      const t1 = performance.now();
      const r = await api.request(`/v1/jobs/${s.id}/result?wait=5000&format=json`);
      await r.text();
      sub.push(t1 - t0);
      res.push(performance.now() - t1);
    }
    const med = (x: number[]) => [...x].sort((a, b) => a - b)[x.length >> 1];
    console.log("submit", med(sub), "result", med(res), "pick", med(picks), "run", med(runs));
    expect(1).toBe(1);
  });
});
