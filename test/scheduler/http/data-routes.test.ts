import { tableFromArrays, tableToIPC } from "apache-arrow";
import { pack } from "msgpackr";
import { describe, expect, it } from "vitest";
import "../../fixtures/table-tasks.js";
import { usePrivateRedis } from "../../support/cluster-setup.js";
import { json, useApiCluster, type ApiCluster } from "./api-cluster.js";

const server = usePrivateRedis();
const cluster = useApiCluster(server);

/** Runs a graph and returns its JSON result, or the error reply. */
async function run(api: ApiCluster, graph: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const reply = await api.request("/v1/jobs?wait=10000&format=json", json(graph));
  return { status: reply.status, body: (await reply.json()) as Record<string, unknown> };
}

const ARROW = { "content-type": "application/vnd.apache.arrow.stream" };

/**
 * Releases what a test holds, so that its workers stop at once (a worker holding results waits for
 * the scheduler, stopped first, to take them over).
 */
async function release(api: ApiCluster, ...replies: Response[]): Promise<void> {
  for (const reply of replies) {
    const location = reply.headers.get("location")!;
    expect((await api.request(location, { method: "DELETE" })).status).toBe(200);
  }
}

describe("POST /v1/data", () => {
  it("holds JSON values on a worker, for every later graph to read by key", async () => {
    const api = await cluster();
    const weights = Buffer.from(new Float64Array([0.5, 1.5, 2]).buffer).toString("base64");
    const reply = await api.request("/v1/data", json({ data: { weights: { $typed: "float64", data: weights }, offset: 10 } }));
    expect(reply.status).toBe(201);
    const { id, keys } = (await reply.json()) as { id: string; keys: string[] };
    expect(keys).toEqual(["weights", "offset"]);
    expect(reply.headers.get("location")).toBe(`/v1/data/${id}`);
    expect(api.scheduler.scheduler.whoHas("weights")).toHaveLength(1);
    const graph = { tasks: { t: { fn: "test.total", args: [{ $ref: "weights" }] }, s: { fn: "weft.add", args: [{ $ref: "t" }, { $ref: "offset" }] } }, outputs: ["s"] };
    expect(await run(api, graph)).toEqual({ status: 200, body: { s: 14 } });
    expect(await run(api, { tasks: { n: { fn: "weft.getattr", args: [{ $ref: "weights" }, "length"] } }, outputs: ["n"] })).toEqual({ status: 200, body: { n: 3 } });
    await release(api, reply);
  });

  it("holds an Arrow IPC table under ?key=, a MessagePack body's binary values too", async () => {
    const api = await cluster();
    const table = tableFromArrays({ k: Int32Array.from([1, 2, 3]), v: Float64Array.from([1, 2, 4]) });
    const arrow = await api.request("/v1/data?key=prices", { method: "POST", headers: ARROW, body: tableToIPC(table, "stream") });
    expect(arrow.status).toBe(201);
    const packed = await api.request("/v1/data", { method: "POST", headers: { "content-type": "application/msgpack" }, body: pack({ data: { raw: { $bytes: new Uint8Array([7, 8]) } } }) });
    expect(packed.status).toBe(201);
    const graph = { tasks: { sum: { fn: "test.table.sumV", args: [{ $ref: "prices" }] }, n: { fn: "weft.getattr", args: [{ $ref: "raw" }, "length"] } }, outputs: ["sum", "n"] };
    expect(await run(api, graph)).toEqual({ status: 200, body: { sum: 7, n: 2 } });
    await release(api, arrow, packed);
  });

  it("releases a hold with DELETE /v1/data/{id}: graphs can no longer read it, and a second DELETE is a 404", async () => {
    const api = await cluster();
    const { id } = (await (await api.request("/v1/data", json({ data: { gone: 5 } }))).json()) as { id: string };
    expect(await (await api.request(`/v1/data/${id}`, { method: "DELETE" })).json()).toEqual({ id, released: true });
    const after = await run(api, { tasks: { r: { fn: "weft.identity", args: [{ $ref: "gone" }] } }, outputs: ["r"] });
    expect(after).toMatchObject({ status: 400, body: { error: "missing-dependency" } });
    const again = await api.request(`/v1/data/${id}`, { method: "DELETE" });
    expect(again.status).toBe(404);
    expect(await again.json()).toMatchObject({ error: "data-not-found" });
  });

  it("takes uploads larger than the graph body limit, up to its own limit, and refuses larger ones with 413", async () => {
    const api = await cluster({ http: { bodyLimitBytes: 4096, dataLimitBytes: 64 * 1024 } });
    const table = tableFromArrays({ v: new Float64Array(4000).fill(1) });
    const fits = await api.request("/v1/data?key=big", { method: "POST", headers: ARROW, body: tableToIPC(table, "stream") });
    expect(fits.status).toBe(201);
    const tooLarge = tableFromArrays({ v: new Float64Array(10_000).fill(1) });
    const refused = await api.request("/v1/data?key=bigger", { method: "POST", headers: ARROW, body: tableToIPC(tooLarge, "stream") });
    expect(refused.status).toBe(413);
    expect(await refused.json()).toMatchObject({ error: "body-too-large" });
    await release(api, fits);
  });

  it("refuses a key that is a task's result with 409, references in data and a nameless table with 400", async () => {
    const api = await cluster();
    const kept = await api.request("/v1/jobs?wait=10000", json({ tasks: { kept: { fn: "weft.add", args: [1, 2] } }, outputs: ["kept"], keep: true }));
    expect(kept.status).toBe(200);
    const conflict = await api.request("/v1/data", json({ data: { kept: 1 } }));
    expect(conflict.status).toBe(409);
    expect(await conflict.json()).toMatchObject({ error: "conflicting-spec", details: { keys: ["kept"] } });
    const reference = await api.request("/v1/data", json({ data: { x: { $ref: "kept" } } }));
    expect(reference.status).toBe(400);
    expect(await reference.json()).toMatchObject({ error: "invalid-graph" });
    const nameless = await api.request("/v1/data", { method: "POST", headers: ARROW, body: tableToIPC(tableFromArrays({ v: [1] }), "stream") });
    expect(nameless.status).toBe(400);
    expect(await nameless.json()).toMatchObject({ error: "key-required" });
    await release(api, kept);
  });

  it("refuses data with 503 while no worker has joined to hold it", async () => {
    const api = await cluster({ workers: 0 });
    const reply = await api.request("/v1/data", json({ data: { x: 1 } }));
    expect(reply.status).toBe(503);
    expect(await reply.json()).toMatchObject({ error: "no-workers" });
  });

  it("needs the bearer token", async () => {
    const api = await cluster();
    const reply = await fetch(`${api.url}/v1/data`, json({ data: { x: 1 } }));
    expect(reply.status).toBe(401);
  });
});
