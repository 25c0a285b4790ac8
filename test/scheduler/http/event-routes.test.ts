import { describe, expect, it } from "vitest";
import { usePrivateRedis } from "../../support/cluster-setup.js";
import { json, useApiCluster, type ApiCluster } from "./api-cluster.js";

const server = usePrivateRedis();
const cluster = useApiCluster(server);

interface ServerEvent {
  readonly name: string;
  readonly data: Record<string, unknown>;
}

/** Reads a whole event stream (it ends after `done`). */
async function readEvents(reply: Response): Promise<ServerEvent[]> {
  const text = await reply.text();
  return text
    .split("\n\n")
    .filter((block) => block.startsWith("event: "))
    .map((block) => {
      const [eventLine, dataLine] = block.split("\n");
      return { name: eventLine.slice("event: ".length), data: JSON.parse(dataLine.slice("data: ".length)) as Record<string, unknown> };
    });
}

async function submit(api: ApiCluster, tasks: Record<string, unknown>, outputs: string[]): Promise<string> {
  return ((await (await api.request("/v1/jobs", json({ tasks, outputs }))).json()) as { id: string }).id;
}

describe("GET /v1/jobs/:id/events", () => {
  it("streams each task's end, progress, and done, then closes", async () => {
    const api = await cluster();
    const id = await submit(
      api,
      { a: { fn: "test.sleep", args: [300] }, b: { fn: "test.sleep", args: [301] }, c: { fn: "weft.add", args: [{ $ref: "a" }, { $ref: "b" }] } },
      ["c"],
    );
    const reply = await api.request(`/v1/jobs/${id}/events`);
    expect(reply.status).toBe(200);
    expect(reply.headers.get("content-type")).toContain("text/event-stream");
    const events = await readEvents(reply);
    const finished = events.filter((e) => e.name === "task-finished").map((e) => e.data.key);
    expect(finished.sort()).toEqual(["a", "b", "c"]);
    const progress = events.filter((e) => e.name === "progress");
    expect(progress.at(-1)!.data.tasks).toMatchObject({ total: 3, finished: 3 });
    expect(events.at(-1)).toEqual({ name: "done", data: { type: "done", state: "completed" } });
  });

  it("streams a task's error and a failed done", async () => {
    const api = await cluster();
    const id = await submit(api, { s: { fn: "test.sleep", args: [200] }, bad: { fn: "test.fail", args: [{ $ref: "s" }] } }, ["bad"]);
    const events = await readEvents(await api.request(`/v1/jobs/${id}/events`));
    const erred = events.find((e) => e.name === "task-erred");
    expect(erred?.data).toMatchObject({ key: "bad", error: { name: "TypeError" } });
    expect(events.at(-1)).toMatchObject({ name: "done", data: { state: "failed", error: { error: "task-failed", key: "bad" } } });
  });

  it("gives a job that already ended its counts and done at once", async () => {
    const api = await cluster();
    const id = await submit(api, { a: { fn: "weft.add", args: [1, 2] } }, ["a"]);
    await api.request(`/v1/jobs/${id}/result?wait=10000`);
    const events = await readEvents(await api.request(`/v1/jobs/${id}/events`));
    expect(events.map((e) => e.name)).toEqual(["progress", "done"]);
    expect(events[0].data.tasks).toMatchObject({ total: 1, finished: 1 });
  });

  it("sends progress and done alone with ?events=progress, the last progress with every task finished", async () => {
    const api = await cluster();
    const id = await submit(
      api,
      { a: { fn: "test.sleep", args: [200] }, b: { fn: "test.sleep", args: [201] }, c: { fn: "weft.add", args: [{ $ref: "a" }, { $ref: "b" }] } },
      ["c"],
    );
    const events = await readEvents(await api.request(`/v1/jobs/${id}/events?events=progress`));
    expect(new Set(events.map((e) => e.name))).toEqual(new Set(["progress", "done"]));
    expect(events.at(-2)!.data.tasks).toEqual({ total: 3, waiting: 0, queued: 0, processing: 0, finished: 3, erred: 0, released: 0 });
    expect(events.at(-1)).toEqual({ name: "done", data: { type: "done", state: "completed" } });
  });

  it("refuses an unknown ?events= choice with 400", async () => {
    const api = await cluster();
    const id = await submit(api, { a: { fn: "weft.add", args: [1, 2] } }, ["a"]);
    expect((await api.request(`/v1/jobs/${id}/events?events=some`)).status).toBe(400);
  });

  it("answers 404 for an unknown job", async () => {
    const api = await cluster();
    const reply = await api.request("/v1/jobs/777777/events");
    expect(reply.status).toBe(404);
    expect(await reply.json()).toMatchObject({ error: "job-not-found" });
  });
});
