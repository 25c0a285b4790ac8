import { Table, tableFromArrays } from "apache-arrow";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as wa from "../../client/array/index.js";
import { Client } from "../../client/client.js";
import { COLLECTION } from "../../client/collection.js";
import { fromArrow, fromRecords } from "../../client/dataframe/index.js";
import { delayed } from "../../client/delayed.js";
import type { Future } from "../../client/future.js";
import { add, inc, total } from "../fixtures/math-tasks.js";
import { sumV } from "../fixtures/table-tasks.js";
import { usePrivateRedis } from "../support/cluster-setup.js";
import { useApiCluster } from "../scheduler/http/api-cluster.js";
import { clientBackends, withClient, type BackendSubject } from "../support/client-backends.js";

const server = usePrivateRedis();
const cluster = useApiCluster(server);

/** Graph bodies are kept small, so that data carried in a graph instead of scattered would be refused. */
const GRAPH_BODY_LIMIT = 64 * 1024;

const BACKENDS = clientBackends(cluster, { http: { bodyLimitBytes: GRAPH_BODY_LIMIT } });

/** On a cluster, checks that one worker holds `key`'s result (a local client holds it in its own scheduler). */
function expectOnAWorker(subject: BackendSubject, key: string): void {
  if (subject.api !== undefined) expect(subject.api.scheduler.scheduler.whoHas(key)).toHaveLength(1);
}

describe.each(BACKENDS)("a Client %s", (_name, start) => {

  it("scatters an Arrow table that later graphs read where it is held", () =>
    withClient(start, async (subject) => {
      const { client } = subject;
      const table = tableFromArrays({ k: Int32Array.from([1, 2, 3]), v: Float64Array.from([1, 2, 4]) });
      const prices = client.scatter(table);
      expect(await prices.result()).toBe(table);
      expectOnAWorker(subject, prices.key);
      expect(await client.submit(sumV, prices).result()).toBe(7);
      expect(await client.compute(delayed(add)(delayed(sumV)(prices), 1))).toEqual([8]);
    }));

  it("scatters a typed array that two graphs read", () =>
    withClient(start, async (subject) => {
      const { client } = subject;
      // Larger than a graph body may be: carried in a graph, it would be refused.
      const samples = client.scatter(new Float64Array(20_000).fill(0.5));
      await samples.result();
      expectOnAWorker(subject, samples.key);
      const [first, second] = await client.compute(delayed(total)(samples), delayed(add)(delayed(total)(samples), 1));
      expect([first, second]).toEqual([10_000, 10_001]);
    }));

  it("scatters a plain value that later graphs read", () =>
    withClient(start, async ({ client }) => {
      const settings = client.scatter({ offset: 41, names: ["a", "b"] });
      expect(await client.compute(delayed(inc)(delayed(settings).get("offset")))).toEqual([42]);
      expect(await client.submit(add, client.submit(inc, 1), delayed(settings).get("offset")).result()).toEqual(43);
    }));

  it("releases scattered data once the future is cancelled", () =>
    withClient(start, async (subject) => {
      const { client, api } = subject;
      const value: Future<number> = client.scatter(5);
      await value.result();
      await value.cancel();
      if (api === undefined) return;
      const scheduler = api.scheduler.scheduler;
      const deadline = Date.now() + 5000;
      while (scheduler.stateOf(value.key) !== undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(scheduler.stateOf(value.key)).toBeUndefined();
    }));

  it("refuses to scatter a delayed value, naming what to do instead", () =>
    withClient(start, async ({ client }) => {
      expect(() => client.scatter(delayed(inc)(1))).toThrow(/compute or persist/);
    }));

  it("computes dataframes made from records and Arrow tables, their partitions placed on the workers once", () =>
    withClient(start, async (subject) => {
      const { client } = subject;
      const records = Array.from({ length: 3000 }, (_, i) => ({ k: i % 3, v: i / 2 }));
      const frame = fromRecords(records, { npartitions: 3 });
      const byKey = frame.groupBy("k").agg({ v: "sum" }).sortValues("k");
      const [sums] = await client.compute(byKey);
      expect([...(sums as Table).getChild("v")!.toArray()]).toEqual([749_250, 749_750, 750_250]);
      // The partitions stay on the workers while the frame is referenced; a second computation reads them there.
      for (const key of frame[COLLECTION].keys()) expectOnAWorker(subject, key);
      expect(await client.compute(frame.length())).toEqual([3000]);
      const arrow = fromArrow(tableFromArrays({ x: Float64Array.from({ length: 9000 }, (_, i) => i) }), { npartitions: 2 });
      expect(await client.compute(arrow.length())).toEqual([9000]);
    }));

  it("computes an array made from a typed array larger than a graph body may be, its blocks placed on the workers", () =>
    withClient(start, async (subject) => {
      const { client } = subject;
      const data = Float64Array.from({ length: 40_000 }, (_, i) => i % 7);
      const array = wa.fromArray(data, { chunks: 10_000 });
      const [sum] = await client.compute(array.sum());
      expect(sum.data[0]).toBe(data.reduce((a, b) => a + b, 0));
      for (const key of array[COLLECTION].keys()) expectOnAWorker(subject, key);
      const [dense] = await client.compute(array.mul(2));
      expect(dense.data[39_999]).toBe((39_999 % 7) * 2);
    }));
});

describe("a Client of a local cluster of worker processes (Client.cluster)", () => {
  it("computes a frame made from records and a scattered table on the worker processes", async () => {
    const tasks = [fileURLToPath(new URL("../fixtures/math-tasks.ts", import.meta.url)), fileURLToPath(new URL("../fixtures/table-tasks.ts", import.meta.url))];
    const client = await Client.cluster({ workers: 2, threadsPerWorker: 1, imports: tasks, quiet: true });
    try {
      const frame = fromRecords(Array.from({ length: 1000 }, (_, i) => ({ k: i % 2, v: i })), { npartitions: 4 });
      const [sums] = await client.compute(frame.groupBy("k").agg({ v: "sum" }).sortValues("k"));
      expect([...(sums as Table).getChild("v")!.toArray()]).toEqual([249_500, 250_000]);
      for (const key of frame[COLLECTION].keys()) expect(client.cluster!.scheduler.whoHas(key)).toHaveLength(1);
      const prices = client.scatter(tableFromArrays({ v: Float64Array.from([1, 2, 4]) }));
      expect(await client.submit(sumV, prices).result()).toBe(7);
    } finally {
      await client.close();
    }
  }, 60_000);
});
