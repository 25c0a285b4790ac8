import { describe, expect, it } from "vitest";
import { usePrivateRedis } from "../../support/cluster-setup.js";
import { json, useApiCluster } from "./api-cluster.js";

const server = usePrivateRedis();
const cluster = useApiCluster(server);

// The API cluster's workers run tasks on their main thread, which cannot interrupt a task: one that
// runs past its timeout fails when it returns.
describe("task timeouts in the HTTP API", () => {
  it("fails a task that runs past its own timeoutMs with a TaskTimeoutError", async () => {
    const api = await cluster();
    const graph = { tasks: { slow: { fn: "test.spin", args: [300], timeoutMs: 50 } }, outputs: ["slow"] };
    const reply = await api.request("/v1/jobs?wait=10000", json(graph));
    expect(reply.status).toBe(409);
    expect(await reply.json()).toMatchObject({
      error: "task-failed",
      details: { key: "slow", task: { name: "TaskTimeoutError", message: expect.stringContaining("ran longer than its timeout of 50 ms") } },
    });
  });

  it("gives every task without a timeout the job's taskTimeoutMs", async () => {
    const api = await cluster();
    const graph = {
      tasks: { slow: { fn: "test.spin", args: [300] }, quick: { fn: "test.spin", args: [300], timeoutMs: 10_000 } },
      outputs: ["slow", "quick"],
      taskTimeoutMs: 50,
    };
    const reply = await api.request("/v1/jobs?wait=10000", json(graph));
    expect(await reply.json()).toMatchObject({ error: "task-failed", details: { key: "slow", task: { name: "TaskTimeoutError" } } });
    const own = await api.request("/v1/jobs?wait=10000&format=json", json({ ...graph, outputs: ["quick"] }));
    expect(await own.json()).toMatchObject({ quick: 300 });
  });

  it("refuses a timeout outside 1 to 2^31 - 1 ms with 400", async () => {
    const api = await cluster();
    for (const timeoutMs of [0, 2 ** 31, 1.5]) {
      const reply = await api.request("/v1/jobs", json({ tasks: { a: { fn: "weft.add", args: [1, 2], timeoutMs } }, outputs: ["a"] }));
      expect(reply.status).toBe(400);
    }
    const job = await api.request("/v1/jobs", json({ tasks: { a: { fn: "weft.add", args: [1, 2] } }, outputs: ["a"], taskTimeoutMs: 0 }));
    expect(job.status).toBe(400);
  });
});
