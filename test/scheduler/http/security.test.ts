import { describe, expect, it } from "vitest";
import { usePrivateRedis } from "../../support/cluster-setup.js";
import { json, TEST_TOKEN, useApiCluster } from "./api-cluster.js";

const server = usePrivateRedis();
const cluster = useApiCluster(server);

const graph = { tasks: { a: { fn: "weft.add", args: [1, 2] } }, outputs: ["a"] };

describe("bearer token", () => {
  it("refuses a request without a token with 401", async () => {
    const api = await cluster();
    const reply = await fetch(`${api.url}/v1/jobs`, json(graph));
    expect(reply.status).toBe(401);
    expect(reply.headers.get("www-authenticate")).toBe("Bearer");
    expect(await reply.json()).toMatchObject({ error: "unauthorized" });
  });

  it("refuses a wrong token with 401", async () => {
    const api = await cluster();
    const reply = await fetch(`${api.url}/v1/workers`, { headers: { authorization: `Bearer ${TEST_TOKEN}x` } });
    expect(reply.status).toBe(401);
    expect(await reply.json()).toMatchObject({ error: "unauthorized", message: "the bearer token is not valid" });
  });

  it("refuses a token sent under another scheme with 401", async () => {
    const api = await cluster();
    const reply = await fetch(`${api.url}/v1/workers`, { headers: { authorization: `Basic ${TEST_TOKEN}` } });
    expect(reply.status).toBe(401);
  });

  it("refuses unknown routes without a token with 401, so probing tells nothing", async () => {
    const api = await cluster();
    expect((await fetch(`${api.url}/v1/secret-admin`)).status).toBe(401);
    expect((await api.request("/v1/secret-admin")).status).toBe(404);
  });

  it("does not read the body of a request without a token", async () => {
    const api = await cluster();
    const reply = await fetch(`${api.url}/v1/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" });
    expect(reply.status).toBe(401);
  });
});

describe("listening", () => {
  it("listens on 127.0.0.1 unless told otherwise", async () => {
    const api = await cluster();
    expect(new URL(api.url).hostname).toBe("127.0.0.1");
  });
});

describe("rate limit", () => {
  it("answers 429 once a client has made more requests than the limit in a minute", async () => {
    const api = await cluster({ http: { rateLimitPerMinute: 3 } });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await api.request("/v1/workers")).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const reply = await api.request("/v1/workers");
    expect(await reply.json()).toMatchObject({ error: "rate-limited", details: { max: 3 } });
  });
});

describe("OpenAPI", () => {
  it("serves the OpenAPI document without a token, describing every route", async () => {
    const api = await cluster();
    const reply = await fetch(`${api.url}/v1/openapi.json`);
    expect(reply.status).toBe(200);
    const document = (await reply.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths).sort()).toEqual(
      [
        "/v1/data",
        "/v1/data/{id}",
        "/v1/health",
        "/v1/jobs",
        "/v1/jobs/{id}",
        "/v1/jobs/{id}/events",
        "/v1/jobs/{id}/result",
        "/v1/ready",
        "/v1/workers",
      ].sort(),
    );
    expect(Object.keys(document.paths["/v1/jobs/{id}"]).sort()).toEqual(["delete", "get"]);
  });

  it("serves a docs page", async () => {
    const api = await cluster();
    const reply = await fetch(`${api.url}/v1/docs/`);
    expect(reply.status).toBe(200);
    expect(await reply.text()).toContain("swagger");
  });
});
