import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Ref } from "../../graph/task-spec.js";
import { ControlPlane } from "../../protocol/redis/control-plane.js";
import { encodeTaskMessage, type TaskMessage } from "../../protocol/task-message.js";
import { decodeReports, type TaskReport } from "../../protocol/task-report.js";
import { encodeWorkerMessage } from "../../protocol/worker-message.js";
import { WorkerProcess } from "../../worker/worker-process.js";
import { add, fail, fill, inc } from "../fixtures/math-tasks.js";
import { startRedisServer, type RedisServer } from "../../protocol/redis/private-redis-server.js";

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(() => redis.stop());

const open: { stop?(): Promise<void>; disconnect?(): void }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0)) {
    await thing.stop?.();
    thing.disconnect?.();
  }
});

let prefixSeq = 0;

/** The scheduler's side of the control plane, for driving a worker by hand. */
function schedulerSide(prefix: string): ControlPlane {
  const connection = new Redis(redis.url);
  open.push(connection);
  return new ControlPlane(connection, { prefix });
}

async function worker(prefix: string, executor: "main" | "threads" = "main"): Promise<WorkerProcess> {
  // No scheduler answers a stopping worker's hand-over here: waiting the default 5 s for one proves nothing.
  const started = await WorkerProcess.start({ redis: redis.url, prefix, nthreads: 2, executor, heartbeatTtlMs: 1500, handOverMs: 100 });
  open.push(started);
  return started;
}

async function enqueue(plane: ControlPlane, workerId: string, messages: TaskMessage[]): Promise<void> {
  const outcome = await plane.enqueueTasks(
    workerId,
    messages.map((message, priority) => ({ key: message.key, priority, payload: encodeTaskMessage(message) })),
  );
  expect(outcome.accepted).toBe(true);
}

/** Reads the events stream until `count` reports have arrived. */
async function reports(plane: ControlPlane, count: number): Promise<TaskReport[]> {
  const found: TaskReport[] = [];
  let from = "0";
  const deadline = Date.now() + 10_000;
  while (found.length < count && Date.now() < deadline) {
    const reply = (await plane.redis.xreadBuffer("COUNT", 100, "BLOCK", 200, "STREAMS", plane.keys.events, from)) as
      | [Buffer, [Buffer, Buffer[]][]][]
      | null;
    for (const [, entries] of reply ?? []) {
      for (const [id, fields] of entries) {
        from = id.toString();
        const data = fields[fields.findIndex((f) => f.toString() === "data") + 1];
        found.push(...decodeReports(data));
      }
    }
  }
  return found;
}

const task = (key: string, fn: string, args: unknown[], inputs: TaskMessage["inputs"] = []): TaskMessage => ({
  key,
  fn,
  args,
  inputs,
  attempt: 0,
});

describe("worker process", () => {
  it("registers itself with a heartbeat and its data address", async () => {
    const prefix = `wp${++prefixSeq}`;
    const w = await worker(prefix);
    const [registered] = await schedulerSide(prefix).liveWorkers();
    expect(registered).toMatchObject({ id: w.id, nthreads: 2, dataAddress: w.dataAddress, state: "running", alive: true });
  });

  it("runs the tasks queued for it and reports them on the events stream, small results inline", async () => {
    const prefix = `wp${++prefixSeq}`;
    const w = await worker(prefix);
    const plane = schedulerSide(prefix);
    await enqueue(plane, w.id, [task("one", inc.taskName, [1]), task("bad", fail.taskName, ["no"]), task("two", add.taskName, [1, 1])]);
    const got = await reports(plane, 3);
    expect(got.find((r) => r.key === "one")).toMatchObject({ kind: "finished", inline: { value: 2 } });
    expect(got.find((r) => r.key === "two")).toMatchObject({ kind: "finished", inline: { value: 2 } });
    expect(got.find((r) => r.key === "bad")).toMatchObject({ kind: "erred", error: { name: "TypeError", message: "no" } });
    expect(w.store.get("one")?.value).toBe(2);
  });

  it("runs a task on an input fetched from a peer worker, and keeps and reports the copy", async () => {
    const prefix = `wp${++prefixSeq}`;
    const a = await worker(prefix);
    const b = await worker(prefix, "threads");
    const plane = schedulerSide(prefix);
    await enqueue(plane, a.id, [task("big", fill.taskName, [100_000, 2])]);
    expect((await reports(plane, 1))[0]).toMatchObject({ kind: "finished", key: "big", nbytes: 800_000 });
    await enqueue(plane, b.id, [
      task("sum", "test.total", [new Ref("big")], [{ key: "big", inline: false, holders: [{ worker: a.id, address: a.dataAddress }] }]),
    ]);
    // Three reports: "big" from a, then from b its copy of "big" (before the task that read it), and "sum".
    const got = await reports(plane, 3);
    expect(got.map((r) => r.key)).toEqual(["big", "big", "sum"]);
    expect(got[1]).toMatchObject({ kind: "finished", key: "big", nbytes: 800_000, durationMs: 0 });
    expect(got[2]).toMatchObject({ kind: "finished", inline: { value: 200_000 } });
    expect(b.store.has("big")).toBe(true);
  });

  it("drops the results the scheduler releases", async () => {
    const prefix = `wp${++prefixSeq}`;
    const w = await worker(prefix);
    const plane = schedulerSide(prefix);
    await enqueue(plane, w.id, [task("kept", inc.taskName, [1]), task("dropped", inc.taskName, [2])]);
    await reports(plane, 2);
    await plane.sendToWorker(w.id, [encodeWorkerMessage({ type: "release", keys: ["dropped"] })]);
    const deadline = Date.now() + 5_000;
    while (w.store.has("dropped") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(w.store.has("dropped")).toBe(false);
    expect(w.store.has("kept")).toBe(true);
  });

  it("stops cleanly: takes nothing more, leaves nothing in flight, and retires from the registry", async () => {
    const prefix = `wp${++prefixSeq}`;
    const w = await worker(prefix);
    const plane = schedulerSide(prefix);
    expect((await plane.listWorkers()).map((registered) => registered.id)).toEqual([w.id]);
    await w.stop();
    const refused = await plane.enqueueTasks(w.id, [{ key: "x", priority: 0, payload: encodeTaskMessage(task("x", inc.taskName, [1])) }]);
    expect(refused.accepted).toBe(false);
    expect(await plane.listWorkers()).toEqual([]);
    expect(await plane.redis.hlen(plane.keys.workerInFlight(w.id))).toBe(0);
  });
});
