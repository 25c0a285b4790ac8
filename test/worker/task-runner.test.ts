import { afterEach, describe, expect, it } from "vitest";
import { Call, Ref } from "../../graph/task-spec.js";
import { DataClient } from "../../protocol/data-client.js";
import { DataServer } from "../../worker/data-server.js";
import { InlineExecutor } from "../../executor/inline-executor.js";
import { ResultStore } from "../../worker/result-store.js";
import { TaskRunner } from "../../worker/task-runner.js";
import { ThreadPoolExecutor } from "../../executor/thread-pool-executor.js";
import { add, fail, fill, inc, sum, total } from "../fixtures/math-tasks.js";
import { TEST_DATA_TOKEN } from "../support/data-token.js";

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0)) await thing.close();
});

function runner(inlineBytes?: number): { runner: TaskRunner; store: ResultStore } {
  const store = new ResultStore();
  const client = new DataClient({ token: TEST_DATA_TOKEN, timeoutMs: 2000 });
  open.push(client);
  const taskRunner = new TaskRunner({ store, client, inlineBytes });
  taskRunner.useExecutor(new InlineExecutor(taskRunner.sink));
  return { runner: taskRunner, store };
}

describe("task runner", () => {
  it("runs a task on inputs from a peer, keeps the result and reports it inline when small", async () => {
    const peerStore = new ResultStore();
    peerStore.put("a", 40);
    const server = await DataServer.start({ store: peerStore, token: TEST_DATA_TOKEN });
    open.push(server);
    const { runner: r, store } = runner();
    const report = await r.run({
      key: "t",
      fn: add.taskName,
      args: [new Ref("a"), new Ref("b")],
      inputs: [
        { key: "a", inline: false, holders: [{ worker: "peer", address: server.address }] },
        { key: "b", inline: true, value: 2 },
      ],
      attempt: 0,
    });
    expect(report).toMatchObject({ kind: "finished", key: "t", attempt: 0, inline: { value: 42 } });
    expect(store.get("t")?.value).toBe(42);
  });

  it("leaves large results out of the report, held for peers", async () => {
    const { runner: r, store } = runner(1024);
    const report = await r.run({ key: "big", fn: fill.taskName, args: [1000, 1], inputs: [], attempt: 0 });
    expect(report).toMatchObject({ kind: "finished", nbytes: 8000 });
    expect("inline" in report).toBe(false);
    expect((store.get("big")?.value as Float64Array).length).toBe(1000);
  });

  it("reports a task's error with its stack and keeps nothing", async () => {
    const { runner: r, store } = runner();
    const report = await r.run({ key: "bad", fn: fail.taskName, args: ["boom"], inputs: [], attempt: 3 });
    expect(report).toMatchObject({ kind: "erred", key: "bad", attempt: 3, error: { name: "TypeError", message: "boom" } });
    expect(report.kind === "erred" && report.error.stack).toContain("math-tasks.ts");
    expect(store.has("bad")).toBe(false);
  });

  it("reports inputs it could not get instead of running", async () => {
    const { runner: r } = runner();
    const report = await r.run({
      key: "t",
      fn: inc.taskName,
      args: [new Ref("gone")],
      inputs: [{ key: "gone", inline: false, holders: [{ worker: "w9", address: "http://127.0.0.1:9" }] }],
      attempt: 0,
    });
    expect(report).toEqual({ kind: "missing-data", key: "t", attempt: 0, missing: [{ key: "gone", worker: "w9" }] });
  });

  it("runs fused calls and many tasks at once on a thread pool", async () => {
    const store = new ResultStore();
    const client = new DataClient({ token: TEST_DATA_TOKEN });
    open.push(client);
    const r = new TaskRunner({ store, client });
    const pool = await ThreadPoolExecutor.start(r.sink, { nthreads: 2 });
    open.push(pool);
    r.useExecutor(pool);
    const reports = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        r.run({ key: `t${i}`, fn: sum.taskName, args: [[new Call(inc.taskName, [i]), 1]], inputs: [], attempt: 0 }),
      ),
    );
    expect(reports.map((report) => report.kind === "finished" && report.inline?.value)).toEqual(
      Array.from({ length: 100 }, (_, i) => i + 2),
    );
  });
});

describe("task runner: inputs from peers", () => {
  /** A peer holding an 8 KB block, and the keys its data server has served, one entry per key per request. */
  async function peerWithBlock(): Promise<{ address: string; served: string[] }> {
    const served: string[] = [];
    class CountingStore extends ResultStore {
      override get(key: string) {
        served.push(key);
        return super.get(key);
      }
    }
    const peerStore = new CountingStore();
    peerStore.put("block", new Float64Array(1000).fill(1));
    const server = await DataServer.start({ store: peerStore, token: TEST_DATA_TOKEN });
    open.push(server);
    return { address: server.address, served };
  }

  /** A runner that keeps what it fetches, as a worker process does, listing each copy it keeps. */
  function keepingRunner(): { runner: TaskRunner; store: ResultStore; kept: string[] } {
    const store = new ResultStore();
    const kept: string[] = [];
    const client = new DataClient({ token: TEST_DATA_TOKEN, timeoutMs: 2000 });
    open.push(client);
    const taskRunner = new TaskRunner({
      store,
      client,
      onFetched: (key, value) => {
        kept.push(key);
        store.put(key, value);
      },
    });
    taskRunner.useExecutor(new InlineExecutor(taskRunner.sink));
    return { runner: taskRunner, store, kept };
  }

  const reader = (key: string, address: string) => ({
    key,
    fn: total.taskName,
    args: [new Ref("block")],
    inputs: [{ key: "block", inline: false as const, holders: [{ worker: "peer", address }] }],
    attempt: 0,
  });

  it("fetches an input once for two tasks that need it at the same time, and keeps one copy", async () => {
    const { address, served } = await peerWithBlock();
    const { runner: r, store, kept } = keepingRunner();
    const reports = await Promise.all([r.run(reader("t1", address)), r.run(reader("t2", address))]);
    expect(reports.map((report) => report.kind === "finished" && report.inline?.value)).toEqual([1000, 1000]);
    expect(served).toEqual(["block"]);
    expect(kept).toEqual(["block"]);
    expect(store.has("block")).toBe(true);
  });

  it("reads a kept input from its own store: a later task fetches nothing", async () => {
    const { address, served } = await peerWithBlock();
    const { runner: r, kept } = keepingRunner();
    await r.run(reader("t1", address));
    const report = await r.run(reader("t2", address));
    expect(report).toMatchObject({ kind: "finished", inline: { value: 1000 } });
    expect(served).toEqual(["block"]);
    expect(kept).toEqual(["block"]);
  });
});

describe("task runner: results that cannot travel", () => {
  it("fails a task whose result cannot be sent to other workers, naming the part", async () => {
    const { runner: r, store } = runner();
    const { makeFunction } = await import("../fixtures/math-tasks.js");
    const report = await r.run({ key: "fn", fn: makeFunction.taskName, args: [], inputs: [], attempt: 0 });
    expect(report).toMatchObject({ kind: "erred", error: { name: "UnserializableResult", message: expect.stringContaining("result is a function") } });
    expect(store.has("fn")).toBe(false);
  });
});

describe("task reports", () => {
  it("round-trip through the events stream encoding, every kind", async () => {
    const { decodeReports, encodeReports } = await import("../../protocol/task-report.js");
    const reports = [
      { kind: "finished" as const, key: "a", attempt: 0, nbytes: 8, durationMs: 1.5, inline: { value: new Float32Array([1, 2]) } },
      { kind: "finished" as const, key: "b", attempt: 1, nbytes: 1e6, durationMs: 20 },
      { kind: "erred" as const, key: "c", attempt: 2, error: { name: "TypeError", message: "x", stack: "TypeError: x\n    at f" }, durationMs: 3 },
      { kind: "missing-data" as const, key: "d", attempt: 0, missing: [{ key: "in", worker: "w2" }] },
    ];
    expect(decodeReports(encodeReports(reports))).toEqual(reports);
  });
});
