import { tableFromArrays } from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../../../client/client.js";
import { fromArrow, fromRecords } from "../../../client/dataframe/index.js";
import { asRecords, RANDOM_SCHEMA, randomRows, rowsOf } from "../../support/dataframe-reference.js";
import { doubleK } from "../../fixtures/table-tasks.js";

let client: Client;
beforeAll(async () => {
  client = await Client.local({ executor: "threads", nthreads: 2 });
});
afterAll(() => client.close());

const rows = randomRows(51, 200);

describe("mapPartitions and in-memory sources", () => {
  it("calls a registered task on every partition, with extra arguments, under the declared columns", async () => {
    const frame = fromRecords(asRecords(rows), { npartitions: 4, schema: RANDOM_SCHEMA }).mapPartitions(doubleK, { args: [2], meta: { k: "int", twice: "float" } });
    expect(frame.schema).toEqual([{ name: "k", kind: "int" }, { name: "twice", kind: "float" }]);
    const [table] = await client.compute(frame);
    expect(rowsOf(table)).toEqual(rows.map((r) => ({ k: r.k, twice: r.k === null ? null : (r.k as number) * 2 })));
  });

  it("refuses a function that is not a registered task", () => {
    const frame = fromRecords(asRecords(rows), { schema: RANDOM_SCHEMA });
    expect(() => frame.mapPartitions(((t: unknown) => t) as never)).toThrow(/needs a function registered with task\(\)/);
  });

  it("makes a partition of each Arrow table given, in order", async () => {
    const parts = [0, 1, 2].map((p) => tableFromArrays({ p: Int32Array.from([p, p]), x: Float64Array.from([p / 2, p / 4]) }));
    const frame = fromArrow(parts);
    expect(frame.npartitions).toBe(3);
    const [table] = await client.compute(frame.partition(2));
    expect(rowsOf(table)).toEqual([{ p: 2, x: 1 }, { p: 2, x: 0.5 }]);
  });
});
