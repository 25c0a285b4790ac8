import { pack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { usePrivateRedis } from "../../support/cluster-setup.js";
import { json, useApiCluster } from "./api-cluster.js";

const server = usePrivateRedis();
const cluster = useApiCluster(server);

const addGraph = { tasks: { a: { fn: "weft.add", args: [1, 2] }, b: { fn: "weft.mul", args: [{ $ref: "a" }, 10] } }, outputs: ["b"] };

async function errorOf(reply: Response): Promise<{ status: number; error: string; message: string; details: Record<string, unknown> }> {
  const body = (await reply.json()) as { error: string; message: string; details: Record<string, unknown> };
  return { status: reply.status, ...body };
}

describe("POST /v1/jobs", () => {
  it("cancels a job submitted with clientGoneMs once no client has waited for it for that long, saying why", async () => {
    const api = await cluster();
    const reply = await api.request("/v1/jobs", json({ tasks: { s: { fn: "test.sleep", args: [10_000] } }, outputs: ["s"], clientGoneMs: 1_000 }));
    const { id } = (await reply.json()) as { id: string };
    const deadline = Date.now() + 8_000;
    let status: { state: string; error?: { error: string; message: string } } = { state: "waiting" };
    while ((status.state === "waiting" || status.state === "running") && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = (await (await api.request(`/v1/jobs/${id}`)).json()) as typeof status;
    }
    expect(status.state).toBe("cancelled");
    expect(status.error?.message).toMatch(/no client has asked for it for 1 s \(its clientGoneMs\), so the program that submitted it is gone/);
  });

  it("runs a job submitted with clientGoneMs to its end while a client waits for its result", async () => {
    const api = await cluster();
    const graph = { tasks: { s: { fn: "test.sleep", args: [2_500] }, b: { fn: "weft.add", args: [1, 2] } }, outputs: ["b", "s"], clientGoneMs: 1_000 };
    const { id } = (await (await api.request("/v1/jobs", json(graph))).json()) as { id: string };
    const result = await api.request(`/v1/jobs/${id}/result?wait=10000&format=json&key=b`);
    expect(result.status).toBe(200);
    expect(await result.json()).toBe(3);
  });

  it("queues a JSON graph and answers 201 with the job's id and location", async () => {
    const api = await cluster();
    const reply = await api.request("/v1/jobs", json(addGraph));
    expect(reply.status).toBe(201);
    const body = (await reply.json()) as { id: string; state: string; tasks: number };
    expect(body).toMatchObject({ state: "waiting", tasks: 2, outputs: ["b"] });
    expect(reply.headers.get("location")).toBe(`/v1/jobs/${body.id}`);
    const result = await api.request(`/v1/jobs/${body.id}/result?wait=10000&format=json`);
    expect(await result.json()).toEqual({ b: 30 });
  });

  it("queues a MessagePack graph, binary arguments included", async () => {
    const api = await cluster();
    const graph = { tasks: { n: { fn: "weft.getattr", args: [{ $bytes: new Uint8Array([7, 8, 9]) }, "length"] } }, outputs: ["n"] };
    const reply = await api.request("/v1/jobs", { method: "POST", headers: { "content-type": "application/msgpack" }, body: pack(graph) });
    expect(reply.status).toBe(201);
    const { id } = (await reply.json()) as { id: string };
    const result = await api.request(`/v1/jobs/${id}/result?wait=10000&format=json`);
    expect(await result.json()).toEqual({ n: 3 });
  });

  it("creates no second job for a submission sent again with the id it chose: the reply names the one job", async () => {
    const api = await cluster();
    const id = "client-chosen-1a2b3c";
    const first = await api.request("/v1/jobs", json({ ...addGraph, id }));
    expect(first.status).toBe(201);
    expect(await first.json()).toMatchObject({ id });
    // As a client whose first reply was lost sends it again.
    const again = await api.request("/v1/jobs?wait=10000", json({ ...addGraph, id }));
    expect(again.status).toBe(200);
    expect(again.headers.get("location")).toBe(`/v1/jobs/${id}`);
    const result = await api.request(`/v1/jobs/${id}/result?wait=10000&format=json`);
    expect(await result.json()).toEqual({ b: 30 });
    const page = (await (await api.request("/v1/jobs")).json()) as { jobs: { id: string }[] };
    expect(page.jobs.map((job) => job.id)).toEqual([id]);
  });

  it("refuses a chosen id of digits alone, or of other characters than letters, digits, - and _", async () => {
    const api = await cluster();
    for (const id of ["12345", "a:b", "", "x".repeat(129)]) {
      const error = await errorOf(await api.request("/v1/jobs", json({ ...addGraph, id })));
      expect(error).toMatchObject({ status: 400, error: "invalid-body" });
      expect(error.message).toContain("/id");
    }
  });

  it("refuses a cycle with 400, naming its keys", async () => {
    const api = await cluster();
    const cyclic = {
      tasks: { a: { fn: "weft.identity", args: [{ $ref: "c" }] }, b: { fn: "weft.identity", args: [{ $ref: "a" }] }, c: { fn: "weft.identity", args: [{ $ref: "b" }] } },
      outputs: ["c"],
    };
    const error = await errorOf(await api.request("/v1/jobs", json(cyclic)));
    expect(error.status).toBe(400);
    expect(error.error).toBe("cycle");
    expect([...(error.details.keys as string[])].sort()).toEqual(["a", "b", "c"]);
  });

  it("refuses a function no worker registered with 400, naming the task and the function", async () => {
    const api = await cluster();
    const graph = { tasks: { x: { fn: "os.system", args: ["rm -rf /"] } }, outputs: ["x"] };
    const error = await errorOf(await api.request("/v1/jobs", json(graph)));
    expect(error).toMatchObject({ status: 400, error: "unknown-function", details: { keys: ["x"] } });
    expect(error.message).toContain('"os.system"');
  });

  it("refuses a function nested in a $call that no worker registered", async () => {
    const api = await cluster();
    const graph = { tasks: { x: { fn: "weft.identity", args: [{ $call: "eval", args: ["1"] }] } }, outputs: ["x"] };
    const error = await errorOf(await api.request("/v1/jobs", json(graph)));
    expect(error).toMatchObject({ status: 400, error: "unknown-function" });
    expect(error.message).toContain('"eval"');
  });

  it("refuses a priority outside ±1,000,000 with 400, naming the field and the bound", async () => {
    const api = await cluster();
    for (const priority of [1_000_001, -1e13]) {
      const graph = { tasks: { a: { fn: "weft.add", args: [1, 2], priority } }, outputs: ["a"] };
      const error = await errorOf(await api.request("/v1/jobs", json(graph)));
      expect(error.status).toBe(400);
      expect(error.message).toContain("priority");
      expect(error.message).toMatch(/1000000/);
    }
  });

  it("runs tasks at both ends of the priority range", async () => {
    const api = await cluster();
    const graph = { tasks: { a: { fn: "weft.add", args: [1, 2], priority: 1_000_000 }, b: { fn: "weft.add", args: [3, 4], priority: -1_000_000 } }, outputs: ["a", "b"] };
    const reply = await api.request("/v1/jobs", json(graph));
    expect(reply.status).toBe(201);
    const { id } = (await reply.json()) as { id: string };
    const result = await api.request(`/v1/jobs/${id}/result?wait=10000&format=json`);
    expect(await result.json()).toEqual({ a: 3, b: 7 });
  });

  it("refuses a missing dependency with 400, naming the task and the key it lacks", async () => {
    const api = await cluster();
    const graph = { tasks: { b: { fn: "weft.identity", args: [{ $ref: "nowhere" }] } }, outputs: ["b"] };
    const error = await errorOf(await api.request("/v1/jobs", json(graph)));
    expect(error).toMatchObject({ status: 400, error: "missing-dependency", details: { keys: ["b", "nowhere"] } });
  });

  it("refuses an output that is not in the graph", async () => {
    const api = await cluster();
    const error = await errorOf(await api.request("/v1/jobs", json({ ...addGraph, outputs: ["zzz"] })));
    expect(error).toMatchObject({ status: 400, error: "missing-dependency", details: { keys: ["zzz"] } });
  });

  it("refuses with 409 a key the scheduler knows with a different computation, naming it", async () => {
    const api = await cluster();
    const first = await api.request("/v1/jobs", json({ tasks: { same: { fn: "test.sleep", args: [1000] } }, outputs: ["same"] }));
    expect(first.status).toBe(201);
    const error = await errorOf(await api.request("/v1/jobs", json({ tasks: { same: { fn: "test.sleep", args: [5] } }, outputs: ["same"] })));
    expect(error).toMatchObject({ status: 409, error: "conflicting-spec", details: { keys: ["same"] } });
  });

  it("shares a key the scheduler knows with the same computation", async () => {
    const api = await cluster();
    const graph = { tasks: { shared: { fn: "test.sleep", args: [300] } }, outputs: ["shared"] };
    const [a, b] = await Promise.all([api.request("/v1/jobs?wait=10000&format=json", json(graph)), api.request("/v1/jobs?wait=10000&format=json", json(graph))]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect([await a.json(), await b.json()]).toEqual([{ shared: 300 }, { shared: 300 }]);
  });

  it("refuses a body that breaks the schema with 400 and the issue", async () => {
    const api = await cluster();
    const error = await errorOf(await api.request("/v1/jobs", json({ tasks: { a: { args: [1] } }, outputs: ["a"] })));
    expect(error).toMatchObject({ status: 400, error: "invalid-body" });
    expect(error.message).toContain("fn");
  });

  it("refuses a malformed marker with 400, naming the task and the path", async () => {
    const api = await cluster();
    const graph = { tasks: { a: { fn: "weft.identity", args: [[{ $ref: 42 }]] } }, outputs: ["a"] };
    const error = await errorOf(await api.request("/v1/jobs", json(graph)));
    expect(error).toMatchObject({ status: 400, error: "invalid-graph", details: { keys: ["a"] } });
    expect(error.message).toContain("args[0][0]");
  });

  it("refuses a body over the size limit with 413", async () => {
    const api = await cluster({ http: { bodyLimitBytes: 1024 } });
    const big = { tasks: { a: { fn: "weft.identity", args: ["x".repeat(2000)] } }, outputs: ["a"] };
    const error = await errorOf(await api.request("/v1/jobs", json(big)));
    expect(error).toMatchObject({ status: 413, error: "body-too-large" });
  });

  it("refuses a graph over the task limit with 413", async () => {
    const api = await cluster({ http: { maxTasks: 3 } });
    const tasks = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`t${i}`, { fn: "weft.noop" }]));
    const error = await errorOf(await api.request("/v1/jobs", json({ tasks, outputs: ["t0"] })));
    expect(error).toMatchObject({ status: 413, error: "graph-too-large", details: { tasks: 4, maxTasks: 3 } });
  });

  it("refuses a content type other than JSON or MessagePack with 415", async () => {
    const api = await cluster();
    const reply = await api.request("/v1/jobs", { method: "POST", headers: { "content-type": "text/plain" }, body: JSON.stringify(addGraph) });
    const error = await errorOf(reply);
    expect(error).toMatchObject({ status: 415, error: "unsupported-content-type" });
  });

  it("refuses a JSON body with a __proto__ key", async () => {
    const api = await cluster();
    const body = '{"tasks": {"a": {"fn": "weft.identity", "args": [{"__proto__": {"polluted": true}}]}}, "outputs": ["a"]}';
    const reply = await api.request("/v1/jobs", { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(await errorOf(reply)).toMatchObject({ status: 400, error: "prototype-poisoning" });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("refuses a JSON body with constructor.prototype", async () => {
    const api = await cluster();
    const body = '{"tasks": {"a": {"fn": "weft.identity", "args": [{"constructor": {"prototype": {"polluted": true}}}]}}, "outputs": ["a"]}';
    const reply = await api.request("/v1/jobs", { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(await errorOf(reply)).toMatchObject({ status: 400, error: "prototype-poisoning" });
  });

  it("refuses a MessagePack body with a __proto__ key", async () => {
    const api = await cluster();
    // A map written by hand, since encoders drop or rename __proto__: {"__proto__": {"a": 1}}.
    const poisoned = Buffer.concat([Buffer.from([0x81, 0xa9]), Buffer.from("__proto__"), Buffer.from([0x81, 0xa1, 0x61, 0x01])]);
    const reply = await api.request("/v1/jobs", { method: "POST", headers: { "content-type": "application/msgpack" }, body: poisoned });
    expect(await errorOf(reply)).toMatchObject({ status: 400, error: "prototype-poisoning" });
  });

  it("refuses a body that is not MessagePack with 400", async () => {
    const api = await cluster();
    const reply = await api.request("/v1/jobs", { method: "POST", headers: { "content-type": "application/msgpack" }, body: Buffer.from([0xc1]) });
    expect(await errorOf(reply)).toMatchObject({ status: 400, error: "invalid-msgpack" });
  });
});
