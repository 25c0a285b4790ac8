import { tableFromIPC } from "apache-arrow";
import { unpack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { decodeValue } from "../../../graph/codec.js";
import { usePrivateRedis } from "../../support/cluster-setup.js";
import { json, useApiCluster, type ApiCluster } from "./api-cluster.js";
import "../../fixtures/table-tasks.js";

const server = usePrivateRedis();
const cluster = useApiCluster(server);

async function submit(api: ApiCluster, tasks: Record<string, unknown>, outputs: string[], keep = false): Promise<string> {
  const reply = await api.request("/v1/jobs", json({ tasks, outputs, ...(keep ? { keep } : {}) }));
  expect(reply.status).toBe(201);
  return ((await reply.json()) as { id: string }).id;
}

const pair = { a: { fn: "weft.add", args: [1, 2] }, b: { fn: "weft.mul", args: [{ $ref: "a" }, 10] }, c: { fn: "test.fill", args: [3, 1.5] } };

describe("GET /v1/jobs/:id/result", () => {
  it("sends MessagePack by default, in weft's codec: typed arrays stay typed", async () => {
    const api = await cluster();
    const id = await submit(api, pair, ["b", "c"]);
    const reply = await api.request(`/v1/jobs/${id}/result?wait=10000`);
    expect(reply.status).toBe(200);
    expect(reply.headers.get("content-type")).toBe("application/msgpack");
    const value = decodeValue(new Uint8Array(await reply.arrayBuffer())) as Record<string, unknown>;
    expect(value.b).toBe(30);
    expect(value.c).toEqual(new Float64Array([1.5, 1.5, 1.5]));
  });

  it("sends plain MessagePack values that any decoder reads", async () => {
    const api = await cluster();
    const id = await submit(api, pair, ["b"]);
    const reply = await api.request(`/v1/jobs/${id}/result?wait=10000`);
    expect(unpack(Buffer.from(await reply.arrayBuffer()))).toEqual({ b: 30 });
  });

  it("sends JSON when the Accept header asks for it, typed arrays as arrays", async () => {
    const api = await cluster();
    const id = await submit(api, pair, ["b", "c"]);
    const reply = await api.request(`/v1/jobs/${id}/result?wait=10000`, { headers: { accept: "application/json" } });
    expect(reply.headers.get("content-type")).toContain("application/json");
    expect(await reply.json()).toEqual({ b: 30, c: [1.5, 1.5, 1.5] });
  });

  it("sends one output's value alone with ?key=", async () => {
    const api = await cluster();
    const id = await submit(api, pair, ["a", "b"]);
    const reply = await api.request(`/v1/jobs/${id}/result?wait=10000&format=json&key=a`);
    expect(await reply.json()).toBe(3);
  });

  it("refuses a key that is not an output with 400", async () => {
    const api = await cluster();
    const id = await submit(api, pair, ["b"]);
    const reply = await api.request(`/v1/jobs/${id}/result?wait=10000&key=a`);
    expect(reply.status).toBe(400);
    expect(await reply.json()).toMatchObject({ error: "unknown-output", details: { key: "a", outputs: ["b"] } });
  });

  it("sends a table a worker made as an Arrow IPC stream when asked", async () => {
    const api = await cluster();
    const id = await submit(api, { t: { fn: "test.table.make", args: [5] } }, ["t"]);
    const reply = await api.request(`/v1/jobs/${id}/result?wait=10000&key=t`, { headers: { accept: "application/vnd.apache.arrow.stream" } });
    expect(reply.status).toBe(200);
    expect(reply.headers.get("content-type")).toBe("application/vnd.apache.arrow.stream");
    const table = tableFromIPC(new Uint8Array(await reply.arrayBuffer()));
    expect([...(table.getChild("v")!.toArray() as Float64Array)]).toEqual([0, 1, 2, 3, 4]);
    expect([...(table.getChild("k")!.toArray() as Int32Array)]).toEqual([0, 1, 2, 3, 4]);
  });

  it("refuses Arrow for a result that is not a table with 406", async () => {
    const api = await cluster();
    const id = await submit(api, pair, ["b"]);
    const reply = await api.request(`/v1/jobs/${id}/result?wait=10000`, { headers: { accept: "application/vnd.apache.arrow.stream" } });
    expect(reply.status).toBe(406);
    expect(await reply.json()).toMatchObject({ error: "not-a-table" });
  });

  it("serves a result again once the durable queue has recorded the job", async () => {
    const api = await cluster();
    const id = await submit(api, pair, ["b", "c"]);
    await api.request(`/v1/jobs/${id}/result?wait=10000`);
    const queue = api.scheduler.jobs.queue;
    const deadline = Date.now() + 5000;
    while ((await (await queue.job(id))!.getState()) !== "completed" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    const reply = await api.request(`/v1/jobs/${id}/result?format=json`);
    expect(reply.status).toBe(200);
    expect(await reply.json()).toEqual({ b: 30, c: [1.5, 1.5, 1.5] });
  });

  it("answers 202 with the job's state while it runs", async () => {
    const api = await cluster();
    const id = await submit(api, { s: { fn: "test.sleep", args: [1000] } }, ["s"]);
    const reply = await api.request(`/v1/jobs/${id}/result`);
    expect(reply.status).toBe(202);
    expect(await reply.json()).toMatchObject({ id });
  });

  it("answers 409 for a failed job, with the failing task's key and the worker's stack", async () => {
    const api = await cluster();
    const id = await submit(api, { bad: { fn: "test.fail", args: ["no luck"] } }, ["bad"]);
    const reply = await api.request(`/v1/jobs/${id}/result?wait=10000`);
    expect(reply.status).toBe(409);
    const body = (await reply.json()) as { error: string; details: { key: string; task: { name: string; message: string; stack: string } } };
    expect(body.error).toBe("task-failed");
    expect(body.details.key).toBe("bad");
    expect(body.details.task).toMatchObject({ name: "TypeError", message: "no luck" });
    expect(body.details.task.stack).toContain("math-tasks.ts");
  });

  it("answers 404 for an unknown job", async () => {
    const api = await cluster();
    const reply = await api.request("/v1/jobs/999999/result");
    expect(reply.status).toBe(404);
    expect(await reply.json()).toMatchObject({ error: "job-not-found", details: { id: "999999" } });
  });
});

describe("GET /v1/jobs/:id", () => {
  it("reports a finished job's state, task counts and times", async () => {
    const api = await cluster();
    const id = await submit(api, { x: { fn: "weft.add", args: [1, 1] }, y: { fn: "weft.add", args: [2, 2] }, z: { fn: "weft.add", args: [{ $ref: "x" }, { $ref: "y" }] } }, ["z"]);
    await api.request(`/v1/jobs/${id}/result?wait=10000`);
    const status = (await (await api.request(`/v1/jobs/${id}`)).json()) as Record<string, unknown>;
    expect(status).toMatchObject({ id, state: "completed", outputs: ["z"], tasks: { total: 3, finished: 3, erred: 0, processing: 0 } });
    expect(status.finishedAt as number).toBeGreaterThanOrEqual(status.startedAt as number);
    expect(status.startedAt as number).toBeGreaterThanOrEqual(status.submittedAt as number);
    expect(status.elapsedMs).toBe((status.finishedAt as number) - (status.submittedAt as number));
  });

  it("reports a running job's tasks by state", async () => {
    const api = await cluster();
    const tasks = { s: { fn: "test.sleep", args: [800] }, t: { fn: "test.sleep", args: [801] }, u: { fn: "weft.add", args: [{ $ref: "s" }, { $ref: "t" }] } };
    const id = await submit(api, tasks, ["u"]);
    let status: { state: string; tasks?: { total: number; processing: number; waiting: number } } = { state: "waiting" };
    const deadline = Date.now() + 5000;
    while (status.state !== "running" && Date.now() < deadline) {
      status = (await (await api.request(`/v1/jobs/${id}`)).json()) as typeof status;
    }
    expect(status.state).toBe("running");
    // The worker has two threads: both sleeps run, the sum waits for them.
    expect(status.tasks).toMatchObject({ total: 3, processing: 2, waiting: 1 });
  });

  it("answers 404 for an unknown job", async () => {
    const api = await cluster();
    expect((await api.request("/v1/jobs/424242")).status).toBe(404);
  });

  it("refuses a malformed job id with 400", async () => {
    const api = await cluster();
    const reply = await api.request("/v1/jobs/not%20an%20id");
    expect(reply.status).toBe(400);
    expect(await reply.json()).toMatchObject({ error: "invalid-params" });
  });
});

describe("DELETE /v1/jobs/:id", () => {
  it("cancels a running job: its result becomes a 409 job-cancelled", async () => {
    const api = await cluster();
    const id = await submit(api, { s: { fn: "test.sleep", args: [2000] } }, ["s"]);
    const deadline = Date.now() + 5000;
    while (((await (await api.request(`/v1/jobs/${id}`)).json()) as { state: string }).state !== "running" && Date.now() < deadline);
    const reply = await api.request(`/v1/jobs/${id}`, { method: "DELETE" });
    expect(reply.status).toBe(200);
    expect(await reply.json()).toEqual({ id, cancelled: true });
    const result = await api.request(`/v1/jobs/${id}/result?wait=5000`);
    expect(result.status).toBe(409);
    expect(await result.json()).toMatchObject({ error: "job-cancelled" });
    expect(await (await api.request(`/v1/jobs/${id}`)).json()).toMatchObject({ state: "cancelled" });
  });

  it("releases the results a finished job kept for later graphs", async () => {
    const api = await cluster();
    const id = await submit(api, { kept: { fn: "weft.add", args: [20, 22] } }, ["kept"], true);
    await api.request(`/v1/jobs/${id}/result?wait=10000`);
    const reader = await submit(api, { r: { fn: "weft.add", args: [{ $ref: "kept" }, 1] } }, ["r"]);
    expect(await (await api.request(`/v1/jobs/${reader}/result?wait=10000&format=json`)).json()).toEqual({ r: 43 });
    expect((await api.request(`/v1/jobs/${id}`, { method: "DELETE" })).status).toBe(200);
    const refused = await api.request("/v1/jobs", json({ tasks: { r2: { fn: "weft.add", args: [{ $ref: "kept" }, 1] } }, outputs: ["r2"] }));
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: "missing-dependency" });
  });

  it("answers 409 for a job that already ended with nothing held", async () => {
    const api = await cluster();
    const id = await submit(api, pair, ["b"]);
    await api.request(`/v1/jobs/${id}/result?wait=10000`);
    const reply = await api.request(`/v1/jobs/${id}`, { method: "DELETE" });
    expect(reply.status).toBe(409);
    expect(await reply.json()).toMatchObject({ error: "job-ended", details: { state: "completed" } });
  });

  it("answers 404 for an unknown job", async () => {
    const api = await cluster();
    expect((await api.request("/v1/jobs/31337", { method: "DELETE" })).status).toBe(404);
  });
});

describe("POST /v1/jobs?wait=", () => {
  it("replies with the result when the job ends in time, naming the job in Location", async () => {
    const api = await cluster();
    const reply = await api.request("/v1/jobs?wait=10000&format=json", json({ tasks: pair, outputs: ["b"] }));
    expect(reply.status).toBe(200);
    expect(reply.headers.get("location")).toMatch(/^\/v1\/jobs\/[a-z0-9]+-[0-9a-f]{12}$/);
    expect(await reply.json()).toEqual({ b: 30 });
  });

  it("replies 201 with the id when the job has not ended in time", async () => {
    const api = await cluster();
    const reply = await api.request("/v1/jobs?wait=50", json({ tasks: { s: { fn: "test.sleep", args: [1000] } }, outputs: ["s"] }));
    expect(reply.status).toBe(201);
    expect(await reply.json()).toMatchObject({ state: "waiting" });
  });

  it("replies 409 with the task's failure when the job fails in time", async () => {
    const api = await cluster();
    const reply = await api.request("/v1/jobs?wait=10000", json({ tasks: { bad: { fn: "test.fail", args: ["now"] } }, outputs: ["bad"] }));
    expect(reply.status).toBe(409);
    expect(await reply.json()).toMatchObject({ error: "task-failed", details: { key: "bad", task: { message: "now" } } });
  });
});

describe("a job started at submission", () => {
  it("runs once: the queue's processor joins the run instead of starting another", async () => {
    const api = await cluster();
    const id = await submit(api, { once: { fn: "weft.add", args: [5, 5] } }, ["once"]);
    await api.request(`/v1/jobs/${id}/result?wait=10000`);
    const queue = api.scheduler.jobs.queue;
    const deadline = Date.now() + 5000;
    while ((await (await queue.job(id))!.getState()) !== "completed" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(await (await queue.job(id))!.getState()).toBe("completed");
    expect(api.workers[0].completed).toBe(1);
  });
});
