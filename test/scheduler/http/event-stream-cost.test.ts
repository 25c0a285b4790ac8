import { connect, type Socket } from "node:net";
import { describe, expect, it, vi } from "vitest";
import type { Logger } from "../../../protocol/logger.js";
import { usePrivateRedis } from "../../support/cluster-setup.js";
import { json, TEST_TOKEN, useApiCluster, type ApiCluster } from "./api-cluster.js";

// What following a job's events costs the scheduler: progress is counted incrementally and coalesced,
// and a subscriber that does not read cannot make the scheduler hold more than a bound.

const server = usePrivateRedis();
const cluster = useApiCluster(server);

interface ServerEvent {
  readonly name: string;
  readonly data: Record<string, unknown>;
  /** When it arrived, ms on the monotonic clock. */
  readonly at: number;
}

/** Reads a whole event stream (it ends after `done`), noting when each event arrived. */
async function readEvents(reply: Response): Promise<ServerEvent[]> {
  const events: ServerEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of reply.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    const blocks = buffer.split("\n\n");
    buffer = blocks.pop()!;
    const at = performance.now();
    for (const block of blocks) {
      if (!block.startsWith("event: ")) continue;
      const [eventLine, dataLine] = block.split("\n");
      events.push({ name: eventLine.slice("event: ".length), data: JSON.parse(dataLine.slice("data: ".length)) as Record<string, unknown>, at });
    }
  }
  return events;
}

let graphSeq = 0;

/**
 * Submits `count` independent tasks, each `weft.add(gate, i)` behind a gate task sleeping `gateMs`
 * (0: no gate), under keys of their own (`keyLength` characters long at least). Returns the job id
 * and the tasks' keys.
 */
async function submitTasks(api: ApiCluster, count: number, options: { gateMs?: number; keyLength?: number } = {}): Promise<{ id: string; keys: string[] }> {
  const run = ++graphSeq;
  const pad = "k".repeat(Math.max(0, (options.keyLength ?? 0) - 20));
  const tasks: Record<string, unknown> = {};
  const gate = `gate-${run}`;
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    const key = `${pad}t${run}-${i}`;
    keys.push(key);
    tasks[key] = { fn: "weft.add", args: [options.gateMs ? { $ref: gate } : 0, i] };
  }
  if (options.gateMs) tasks[gate] = { fn: "test.sleep", args: [options.gateMs] };
  const reply = await api.request("/v1/jobs", json({ tasks, outputs: keys }));
  expect(reply.status).toBe(201);
  return { id: ((await reply.json()) as { id: string }).id, keys };
}

/** Waits for a job's result; returns how long it took from `start`, in ms. */
async function waitForResult(api: ApiCluster, id: string, start: number): Promise<number> {
  const reply = await api.request(`/v1/jobs/${id}/result?wait=120000`, { headers: { accept: "application/json" } });
  expect(reply.status).toBe(200);
  await reply.arrayBuffer();
  return performance.now() - start;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

describe("following a job's events", () => {
  it("reads each task's state about once per job, not once per report: following costs O(1) per task", async () => {
    const api = await cluster();
    // Every recount of a job's tasks asks the core for each task's state.
    const core = (api.scheduler.scheduler as unknown as { readonly core: { stateOf(key: string): unknown } }).core;
    const stateReads = vi.spyOn(core, "stateOf");
    const count = 2000;
    const { id } = await submitTasks(api, count, { gateMs: 300 });
    const events = await readEvents(await api.request(`/v1/jobs/${id}/events`));
    expect(events.filter((e) => e.name === "task-finished")).toHaveLength(count + 1);
    expect(events.at(-1)!.name).toBe("done");
    // Checking the graph on submission, and counting its tasks once when it starts: a few reads per
    // task. A recount per report would be count² / 2, two million here.
    expect(stateReads.mock.calls.length).toBeLessThan(4 * (count + 1));
  });

  it("slows a job of a few thousand tasks by less than half when one client follows it", async () => {
    const api = await cluster({ workers: 2 });
    const count = 3000;
    const alone: number[] = [];
    const followed: number[] = [];
    // Interleaved, so that neither is measured in a quieter moment of the machine.
    for (let round = 0; round < 3; round++) {
      let start = performance.now();
      let job = await submitTasks(api, count);
      alone.push(await waitForResult(api, job.id, start));
      start = performance.now();
      job = await submitTasks(api, count);
      const following = api.request(`/v1/jobs/${job.id}/events`).then(readEvents);
      followed.push(await waitForResult(api, job.id, start));
      expect((await following).at(-1)!.name).toBe("done");
    }
    expect(median(followed) / median(alone)).toBeLessThanOrEqual(1.5);
  });

  it("sends at most about 10 progress events a second, and the last, with nothing left running, at once as the job ends", async () => {
    const api = await cluster({ workers: 2 });
    const count = 3000;
    const { id } = await submitTasks(api, count, { gateMs: 300 });
    const events = await readEvents(await api.request(`/v1/jobs/${id}/events`));
    const progress = events.filter((e) => e.name === "progress");
    const finished = events.filter((e) => e.name === "task-finished");
    expect(finished).toHaveLength(count + 1);
    const seconds = (events.at(-1)!.at - events[0].at) / 1000;
    // One at subscription, at most one per 100 ms after, and the last.
    expect(progress.length).toBeLessThanOrEqual(Math.ceil(seconds * 10) + 2);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    const [last, done] = events.slice(-2);
    expect(last.name).toBe("progress");
    expect(last.data.tasks).toEqual({ total: count + 1, waiting: 0, queued: 0, processing: 0, finished: count + 1, erred: 0, released: 0 });
    expect(done.data).toEqual({ type: "done", state: "completed" });
  });

  it("holds at most a batch for a subscriber that never reads, and disconnects it once it is more than the bound behind, saying why", async () => {
    const limit = 1024 * 1024;
    const warnings: string[] = [];
    const logger: Logger = { debug: () => {}, info: () => {}, warn: (message) => warnings.push(message), error: () => {} };
    const api = await cluster({ workers: 2, http: { eventStreams: { maxBufferedBytes: limit, stallTimeoutMs: 120_000, logger } } });
    // The scheduler's side of each connection, to see how much it holds for each.
    const serverSockets: Socket[] = [];
    api.scheduler.http!.app.server.on("connection", (socket: Socket) => serverSockets.push(socket));
    // Long keys: about 1 KiB of events per task, 5 MiB in all, more than the operating system
    // buffers for a connection nobody reads (4 MiB at most here).
    const count = 5000;
    const { id, keys } = await submitTasks(api, count, { gateMs: 500, keyLength: 1000 });
    const url = new URL(api.url);
    const stuck = connect(Number(url.port), url.hostname);
    stuck.pause();
    stuck.write(`GET /v1/jobs/${id}/events HTTP/1.1\r\nhost: ${url.host}\r\nauthorization: Bearer ${TEST_TOKEN}\r\n\r\n`);
    await new Promise((resolve) => stuck.once("connect", resolve));
    const reading = api.request(`/v1/jobs/${id}/events`).then(readEvents);
    let held = 0;
    const watch = setInterval(() => {
      const ours = serverSockets.find((s) => s.remotePort === stuck.localPort);
      if (ours !== undefined) held = Math.max(held, ours.writableLength);
    }, 1);
    try {
      await waitForResult(api, id, performance.now());
      // A subscriber that reads is not held back by one that does not.
      const events = await reading;
      const finished = new Set(events.filter((e) => e.name === "task-finished").map((e) => e.data.key));
      expect(keys.filter((key) => !finished.has(key))).toEqual([]);
      expect(events.at(-1)!.name).toBe("done");
    } finally {
      clearInterval(watch);
      stuck.destroy();
    }
    // Nothing is written to a connection that takes nothing: what it holds is the batch (64 KiB and
    // an event) it was handed when it stopped taking more, and perhaps the last progress event.
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(80 * 1024);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`disconnected a subscriber of job ${id}'s events: \\d+ bytes of events unread, more than the \\d+ allowed`));
  });
});
