import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { usePrivateRedis } from "../../support/cluster-setup.js";
import { TEST_TOKEN, useApiCluster } from "./api-cluster.js";

const server = usePrivateRedis();
const cluster = useApiCluster(server);

/** The API's error shape, exactly: a code, a message and details. */
function expectErrorBody(body: unknown, error: string): void {
  expect(Object.keys(body as object).sort()).toEqual(["details", "error", "message"]);
  expect(body).toMatchObject({ error, message: expect.any(String), details: expect.any(Object) });
}

/** Sends raw bytes on a new connection and returns everything the server writes before it closes. */
function rawExchange(url: string, request: string): Promise<{ status: number; body: unknown }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(request));
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
      const body = text.slice(text.indexOf("\r\n\r\n") + 4);
      try {
        resolve({ status, body: JSON.parse(body) });
      } catch {
        resolve({ status, body });
      }
    });
  });
}

describe("errors fastify and Node raise come back in the API's {error, message, details} shape", () => {
  it("a path parameter longer than the router takes: 414 uri-too-long with the limit", async () => {
    const api = await cluster();
    const reply = await api.request(`/v1/jobs/${"a".repeat(5000)}`);
    expect(reply.status).toBe(414);
    const body = await reply.json();
    expectErrorBody(body, "uri-too-long");
    expect(body).toMatchObject({ details: { maxParamLength: 200 } });
  });

  it("a path with broken percent-encoding: 400 bad-url", async () => {
    const api = await cluster();
    const reply = await api.request("/v1/jobs/%E0%A4%A");
    expect(reply.status).toBe(400);
    expectErrorBody(await reply.json(), "bad-url");
  });

  it("headers larger than Node reads: 431 headers-too-large", async () => {
    const api = await cluster();
    const reply = await rawExchange(api.url, `GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Filler: ${"f".repeat(64 * 1024)}\r\n\r\n`);
    expect(reply.status).toBe(431);
    expectErrorBody(reply.body, "headers-too-large");
  });

  it("a request that is not HTTP: 400 bad-request", async () => {
    const api = await cluster();
    const reply = await rawExchange(api.url, "NOT HTTP AT ALL\r\n\r\n");
    expect(reply.status).toBe(400);
    expectErrorBody(reply.body, "bad-request");
  });

  it("a method a route does not have: 405 method-not-allowed with Allow", async () => {
    const api = await cluster();
    const reply = await api.request("/v1/jobs", { method: "PUT", headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect(reply.status).toBe(405);
    expect(reply.headers.get("allow")).toBe("GET, HEAD, POST");
    expectErrorBody(await reply.json(), "method-not-allowed");
  });

  it("a route that does not exist: 404 not-found", async () => {
    const api = await cluster();
    const reply = await api.request("/v1/nothing-here");
    expect(reply.status).toBe(404);
    expectErrorBody(await reply.json(), "not-found");
  });
});
