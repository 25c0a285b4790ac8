import { describe, expect, it } from "vitest";
import { usePrivateRedis } from "../../support/cluster-setup.js";
import { json, useApiCluster } from "./api-cluster.js";

const server = usePrivateRedis();
const cluster = useApiCluster(server);

interface Refusal {
  error: string;
  message: string;
  details: { issues: { path: string; params: Record<string, unknown> }[] };
}

describe("?wait= outside its documented bounds (whole milliseconds, 0 to 300000)", () => {
  it.each(["Infinity", "0x10", "1e3", "-1", "1.5", " 5", "300001"])("is refused on the result route with 400 naming the bounds: wait=%s", async (wait) => {
    const api = await cluster();
    const reply = await api.request(`/v1/jobs/no-such-job/result?wait=${encodeURIComponent(wait)}`);
    expect(reply.status).toBe(400);
    const body = (await reply.json()) as Refusal;
    expect(body.error).toBe("invalid-querystring");
    expect(body.message).toContain("wait");
    expect(body.message).toContain("300000");
  });

  it("is refused on submission with 400, and nothing is submitted", async () => {
    const api = await cluster();
    const reply = await api.request("/v1/jobs?wait=Infinity", json({ tasks: { a: { fn: "test.inc", args: [1] } }, outputs: ["a"] }));
    expect(reply.status).toBe(400);
    expect(((await (await api.request("/v1/jobs")).json()) as { jobs: unknown[] }).jobs).toEqual([]);
  });

  it("is refused as ?limit= on the job list too: 0x10 is not a decimal count", async () => {
    const api = await cluster();
    const reply = await api.request("/v1/jobs?limit=0x10");
    expect(reply.status).toBe(400);
    expect(((await reply.json()) as Refusal).message).toContain("limit");
  });

  it("accepts whole milliseconds in decimal digits", async () => {
    const api = await cluster();
    const reply = await api.request("/v1/jobs?wait=5000&format=json", json({ tasks: { a: { fn: "test.inc", args: [1] } }, outputs: ["a"] }));
    expect(reply.status).toBe(200);
    expect(await reply.json()).toEqual({ a: 2 });
  });
});
