import { describe, expect, it } from "vitest";
import { MAX_BODY_DEPTH } from "../../../scheduler/http/body-parsers.js";
import { usePrivateRedis } from "../../support/cluster-setup.js";
import { useApiCluster } from "./api-cluster.js";

const server = usePrivateRedis();
const cluster = useApiCluster(server);

/** A graph whose one task's first argument is `inner` wrapped in `levels` arrays. */
function nestedGraphJson(levels: number): string {
  return `{"tasks":{"a":{"fn":"test.inc","args":[${"[".repeat(levels)}1${"]".repeat(levels)}]}},"outputs":["a"]}`;
}

/** The same graph in MessagePack, written byte by byte (msgpackr's encoder itself overflows on such nesting). */
function nestedGraphMsgpack(levels: number): Buffer {
  const head = Buffer.from([
    0x82, 0xa5, ...Buffer.from("tasks"), 0x81, 0xa1, 0x61, 0x82, 0xa2, ...Buffer.from("fn"), 0xa8, ...Buffer.from("test.inc"),
    0xa4, ...Buffer.from("args"), 0x91,
  ]);
  const tail = Buffer.from([0xa7, ...Buffer.from("outputs"), 0x91, 0xa1, 0x61]);
  return Buffer.concat([head, Buffer.alloc(levels, 0x91), Buffer.from([0x01]), tail]);
}

/** Levels the body has around the argument: the body, tasks, the task and args. */
const AROUND_ARGS = 4;

describe("a body nested deeper than the limit", () => {
  it("is refused as JSON with 400 too-deep naming the limit", async () => {
    const api = await cluster();
    const reply = await api.request("/v1/jobs", { method: "POST", headers: { "content-type": "application/json" }, body: nestedGraphJson(10_000) });
    expect(reply.status).toBe(400);
    const body = (await reply.json()) as { error: string; message: string; details: { maxDepth: number } };
    expect(body.error).toBe("too-deep");
    expect(body.details.maxDepth).toBe(MAX_BODY_DEPTH);
    expect(body.message).toContain(`more than ${MAX_BODY_DEPTH} levels`);
  });

  it("is refused as MessagePack with 400 too-deep", async () => {
    const api = await cluster();
    const reply = await api.request("/v1/jobs", { method: "POST", headers: { "content-type": "application/msgpack" }, body: nestedGraphMsgpack(100_000) });
    expect(reply.status).toBe(400);
    expect(await reply.json()).toMatchObject({ error: "too-deep", details: { maxDepth: MAX_BODY_DEPTH } });
  });

  it("is refused one level past the limit, and a body exactly at the limit runs", async () => {
    const api = await cluster();
    const levels = MAX_BODY_DEPTH - AROUND_ARGS;
    const over = await api.request("/v1/jobs", { method: "POST", headers: { "content-type": "application/json" }, body: nestedGraphJson(levels + 1) });
    expect(over.status).toBe(400);
    const at = await api.request("/v1/jobs?wait=5000", { method: "POST", headers: { "content-type": "application/msgpack" }, body: nestedGraphMsgpack(levels) });
    // test.inc of an array: 1 + [[...[1]...]] is "11" in JavaScript; what matters is that it ran.
    expect(at.status).toBe(200);
  });
});

describe("a JSON body's charset", () => {
  const graph = JSON.stringify({ tasks: { a: { fn: "test.inc", args: [1] } }, outputs: ["a"] });

  it("refuses any charset but UTF-8 with 415 naming the supported one", async () => {
    const api = await cluster();
    const reply = await api.request("/v1/jobs", {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-16" },
      body: Buffer.from(`\ufeff${graph}`, "utf16le"),
    });
    expect(reply.status).toBe(415);
    const body = (await reply.json()) as { error: string; message: string; details: Record<string, unknown> };
    expect(body).toMatchObject({ error: "unsupported-charset", details: { charset: "utf-16", accepted: ["utf-8"] } });
    expect(body.message).toContain("utf-8");
  });

  it("accepts UTF-8 named in any case, quoted or not", async () => {
    const api = await cluster();
    for (const type of ["application/json; charset=UTF-8", 'application/json;charset="utf-8"', "application/json"]) {
      const reply = await api.request("/v1/jobs", { method: "POST", headers: { "content-type": type }, body: graph });
      expect(reply.status, type).toBe(201);
    }
  });
});
