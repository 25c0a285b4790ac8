import { describe, expect, it } from "vitest";
import { decodeValue } from "../../../graph/codec.js";
import { usePrivateRedis } from "../../support/cluster-setup.js";
import { json, useApiCluster } from "./api-cluster.js";

const server = usePrivateRedis();
const cluster = useApiCluster(server);

/** 4,096 float64 values: 32 KiB as MessagePack, about 8 KiB as JSON ("0.5," each). */
const bigGraph = { tasks: { big: { fn: "test.fill", args: [4096, 0.5] } }, outputs: ["big"] };

describe("a result larger as JSON than the configured limit", () => {
  it("is refused as JSON with 406 result-too-large, naming the limit and the formats to ask for", async () => {
    const api = await cluster({ http: { maxJsonResultBytes: 4096 } });
    const reply = await api.request("/v1/jobs?wait=5000&format=json", json(bigGraph));
    expect(reply.status).toBe(406);
    const body = (await reply.json()) as { error: string; message: string; details: Record<string, unknown> };
    expect(body.error).toBe("result-too-large");
    expect(body.details).toMatchObject({ maxJsonResultBytes: 4096, accepted: ["application/msgpack", "application/vnd.apache.arrow.stream"] });
    expect(body.message).toContain("Accept: application/msgpack");
  });

  it("is refused on the result route too, while MessagePack still serves it", async () => {
    const api = await cluster({ http: { maxJsonResultBytes: 4096 } });
    const submitted = (await (await api.request("/v1/jobs", json(bigGraph))).json()) as { id: string };
    const asJson = await api.request(`/v1/jobs/${submitted.id}/result?wait=5000`, { headers: { accept: "application/json" } });
    expect(asJson.status).toBe(406);
    const asMsgpack = await api.request(`/v1/jobs/${submitted.id}/result?wait=5000`, { headers: { accept: "application/msgpack" } });
    expect(asMsgpack.status).toBe(200);
    const value = decodeValue(new Uint8Array(await asMsgpack.arrayBuffer())) as { big: Float64Array };
    expect(value.big).toHaveLength(4096);
  });

  it("is served as JSON when within the limit, exactly as before", async () => {
    const api = await cluster({ http: { maxJsonResultBytes: 64 * 1024 } });
    const reply = await api.request("/v1/jobs?wait=5000&format=json", json(bigGraph));
    expect(reply.status).toBe(200);
    const body = (await reply.json()) as { big: number[] };
    expect(body.big).toEqual(new Array(4096).fill(0.5));
  });
});
