import { describe, expect, it } from "vitest";
import { Client } from "../../client/client.js";
import { ClientClosedError } from "../../client/client-api.js";
import { delayed } from "../../client/delayed.js";
import { GraphError } from "../../graph/graph-error.js";
import { TaskError } from "../../protocol/task-error.js";
import { add, double, fail, inc } from "../fixtures/math-tasks.js";
import { Squares } from "../fixtures/squares-collection.js";
import { usePrivateRedis } from "../support/cluster-setup.js";
import { TEST_TOKEN, useApiCluster, type ApiCluster } from "../scheduler/http/api-cluster.js";
import { clientBackends, withClient } from "../support/client-backends.js";

const server = usePrivateRedis();
const cluster = useApiCluster(server);

const BACKENDS = clientBackends(cluster);

let keySeq = 0;

describe.each(BACKENDS)("a Client %s", (_name, start) => {

  it("is the one Client class", () =>
    withClient(start, async ({ client }) => {
      expect(client).toBeInstanceOf(Client);
    }));

  it("computes delayed values and collections together, other values as they are", () =>
    withClient(start, async ({ client }) => {
      const a = delayed(inc)(1);
      const doubles = Squares.of(double.taskName, `backends-double-${++keySeq}`, 3);
      expect(await client.compute(a, delayed(add)(a, 10), doubles, "as is")).toEqual([2, 12, [0, 2, 4], "as is"]);
    }));

  it("refuses a key reused for another computation with a GraphError naming the key", () =>
    withClient(start, async ({ client }) => {
      const key = `backends-conflict-${++keySeq}`;
      const [held] = await client.persist(delayed(inc, { key })(1));
      const error = await client.compute(delayed(inc, { key })(2)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GraphError);
      expect(error).toMatchObject({ code: "conflicting-spec", keys: [key] });
      // The held result is intact, and the same computation under its key is shared, not refused.
      expect(await client.compute(delayed(add)(held, 1), delayed(inc, { key })(1))).toEqual([3, 2]);
    }));

  it("refuses a function no worker registered with a GraphError naming the task", () =>
    withClient(start, async ({ client }) => {
      const unknown = Squares.of("test.no-such-function", `backends-unknown-${++keySeq}`, 1);
      const error = await client.compute(unknown).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GraphError);
      expect(error).toMatchObject({ code: "unknown-function" });
    }));

  it("rejects a failed task with a TaskError carrying its key and the original error", () =>
    withClient(start, async ({ client }) => {
      const broken = delayed(inc)(delayed(fail)("far away"));
      const error = (await client.compute(broken).catch((e: unknown) => e)) as TaskError;
      expect(error).toBeInstanceOf(TaskError);
      expect(error).toMatchObject({ key: broken.key, remoteName: "TypeError", remoteMessage: "far away" });
    }));

  it("lists the workers that run its tasks", () =>
    withClient(start, async ({ client }) => {
      const workers = await client.workers();
      expect(workers.length).toBeGreaterThan(0);
      for (const worker of workers) expect(worker.nthreads).toBeGreaterThan(0);
    }));

  it("refuses every computation once closed, with ClientClosedError", async () => {
    const { client } = await start();
    await client.close();
    await expect(client.compute(delayed(inc)(1))).rejects.toBeInstanceOf(ClientClosedError);
    await expect(client.persist(delayed(inc)(2))).rejects.toBeInstanceOf(ClientClosedError);
    await expect(client.submit(inc, 3).result()).rejects.toBeInstanceOf(ClientClosedError);
  });
});

describe("Client.close on a cluster", () => {
  it.each([
    ["Client.attach", (api: ApiCluster) => Promise.resolve(Client.attach(api.scheduler.scheduler))],
    ["Client.connect", (api: ApiCluster) => Client.connect(api.url, { token: TEST_TOKEN })],
  ])("%s releases what its persisted values and futures keep, and leaves the scheduler running", async (_name, connect) => {
    const api = await cluster();
    const client = await connect(api);
    const [held] = await client.persist(delayed(inc)(700));
    const future = client.submit(inc, 800);
    await future.result();
    const scheduler = api.scheduler.scheduler;
    expect(scheduler.stateOf(held.key)).toBe("memory");
    expect(scheduler.stateOf(future.key)).toBe("memory");
    await client.close();
    const released = () => scheduler.stateOf(held.key) === undefined && scheduler.stateOf(future.key) === undefined;
    const deadline = Date.now() + 5000;
    while (!released() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect([scheduler.stateOf(held.key), scheduler.stateOf(future.key)]).toEqual([undefined, undefined]);
    const after = Client.attach(scheduler);
    expect(await after.compute(delayed(inc)(1))).toEqual([2]);
    await after.close();
  });
});
