import { Table } from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../../../client/client.js";
import { col, fromRecords } from "../../../client/dataframe/index.js";
import { asRecords, canonical, expectRowsClose, groupByAgg, mergeRows, RANDOM_SCHEMA, randomRows, rowsOf } from "../../support/dataframe-reference.js";

/** The dataframe kernels on worker threads: partitions cross threads as Arrow tables. */

let client: Client;
beforeAll(async () => {
  client = await Client.local({ executor: "threads", nthreads: 2 });
});
afterAll(() => client.close());

const rows = randomRows(31, 500);
const frame = () => fromRecords(asRecords(rows), { npartitions: 5, schema: RANDOM_SCHEMA });

describe("dataframes on the threads executor", () => {
  it("computes a filtered, derived group-by as the reference does", async () => {
    const [table] = await client.compute(frame().filter(col("b").eq(true)).assign({ g: col("f").add(col("k")) }).groupBy("s").agg({ g: ["sum", "var"], t: "max" }));
    expect(table).toBeInstanceOf(Table);
    const want = groupByAgg(
      rows.filter((r) => r.b === true).map((r) => ({ ...r, g: r.f === null || r.k === null ? null : (r.f as number) + (r.k as number) })),
      ["s"],
      { g: ["sum", "var"], t: "max" },
    );
    expectRowsClose(rowsOf(table), want, expect);
  });

  it("shuffles and joins partitions made in other threads", async () => {
    const other = randomRows(32, 50, 6).map((r) => ({ k: r.k, w: r.f }));
    const right = fromRecords(other, { npartitions: 2, schema: { k: "int", w: "float" } });
    const [table] = await client.compute(frame().merge(right, { on: "k", how: "left", broadcast: false }));
    expect(canonical(rowsOf(table))).toEqual(canonical(mergeRows(rows, other, ["k"], "left")));
  });

  it("keeps persisted partitions as tables that later graphs read", async () => {
    const [held] = await client.persist(frame().select(["k", "f"]));
    const [rowsBack, distinct] = await client.compute(held, held.nunique("k"));
    expect(rowsOf(rowsBack)).toEqual(rows.map((r) => ({ k: r.k, f: r.f })));
    expect(distinct).toBe(new Set(rows.map((r) => r.k).filter((k) => k !== null)).size);
  });
});
