import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { Client } from "../../../client/client.js";
import { delayed } from "../../../client/delayed.js";
import { GraphError } from "../../../graph/graph-error.js";
import { inc } from "../../fixtures/math-tasks.js";
import { usePrivateRedis } from "../../support/cluster-setup.js";
import { json, TEST_TOKEN, useApiCluster } from "./api-cluster.js";

const server = usePrivateRedis();
const cluster = useApiCluster(server);

/** A key holding a lone high surrogate: valid in a JS string and in JSON text, not text in UTF-8. */
const LONE = "part-\ud800-1";
/** Plain MessagePack, as any client writes it: msgpackr writes a short lone surrogate as its three WTF-8 bytes. */
const packr = new Packr({ useRecords: false, variableMapSize: true });

async function refusal(reply: Response): Promise<{ status: number; body: { error: string; message: string; details: { keys?: string[] } } }> {
  return { status: reply.status, body: (await reply.json()) as never };
}

describe("a task key with a lone UTF-16 surrogate", () => {
  it("is refused in a JSON graph with 400 invalid-key naming the key and why", async () => {
    const api = await cluster();
    const { status, body } = await refusal(await api.request("/v1/jobs?wait=2000", json({ tasks: { [LONE]: { fn: "test.inc", args: [1] } }, outputs: [LONE] })));
    expect(status).toBe(400);
    expect(body.error).toBe("invalid-key");
    expect(body.details.keys).toEqual([LONE]);
    expect(body.message).toContain(JSON.stringify(LONE));
    expect(body.message).toContain("lone UTF-16 surrogate");
  });

  it("is refused as an output of a JSON graph with 400 invalid-key", async () => {
    const api = await cluster();
    const { status, body } = await refusal(await api.request("/v1/jobs", json({ tasks: { a: { fn: "test.inc", args: [1] } }, outputs: ["a", LONE] })));
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: "invalid-key", details: { keys: [LONE] } });
  });

  it("is refused in a MessagePack graph, where it arrives as bytes that are not UTF-8, with 400 naming the string and why", async () => {
    const api = await cluster();
    const body = packr.pack({ tasks: { [LONE]: { fn: "test.inc", args: [1] } }, outputs: [LONE] });
    const reply = await api.request("/v1/jobs?wait=2000", { method: "POST", headers: { "content-type": "application/msgpack" }, body });
    const { status, body: refused } = await refusal(reply);
    expect(status).toBe(400);
    expect(refused.error).toBe("invalid-msgpack");
    expect(refused.message).toContain('"part-\ufffd\ufffd\ufffd-1"');
    expect(refused.message).toContain("is not UTF-8");
  });

  it("is refused as the key of uploaded data with 400 invalid-key", async () => {
    const api = await cluster();
    // Today's failure is a wait of a minute for a worker that never reports holding it.
    const reply = await api.request("/v1/data", { ...json({ data: { [LONE]: 1 } }), signal: AbortSignal.timeout(5000) });
    expect(await refusal(reply)).toMatchObject({ status: 400, body: { error: "invalid-key", details: { keys: [LONE] } } });
  });

  it("is refused by Client.connect with a GraphError invalid-key, before anything is sent", async () => {
    const api = await cluster();
    const client = await Client.connect(api.url, { token: TEST_TOKEN });
    try {
      const error = await client.compute(delayed(inc, { key: LONE })(1)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GraphError);
      expect(error).toMatchObject({ code: "invalid-key", keys: [LONE] });
      expect((await (await api.request("/v1/jobs")).json()) as { jobs: unknown[] }).toEqual({ jobs: [] });
    } finally {
      await client.close();
    }
  });

  it("is refused by the in-process client with a GraphError invalid-key", async () => {
    const client = await Client.local({ executor: "sync" });
    try {
      const error = await client.compute(delayed(inc, { key: LONE })(1)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GraphError);
      expect(error).toMatchObject({ code: "invalid-key", keys: [LONE] });
    } finally {
      await client.close();
    }
  });

  it("is told apart from a well-formed surrogate pair, which is accepted", async () => {
    const api = await cluster();
    const emoji = "part-\ud83d\ude00";
    const reply = await api.request("/v1/jobs?wait=5000&format=json", json({ tasks: { [emoji]: { fn: "test.inc", args: [1] } }, outputs: [emoji] }));
    expect(reply.status).toBe(200);
    expect(await reply.json()).toEqual({ [emoji]: 2 });
  });
});
