import { Table } from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AggName } from "../../kernels/dataframe/aggregate-kernel.js";
import { col, fromRecords } from "../../client/dataframe/index.js";
import { startBenchCluster, type BenchComputer } from "../../bench/bench-cluster.js";
import { asRecords, canonical, expectRowsClose, groupByAgg, mergeRows, RANDOM_SCHEMA, randomRows, rowsOf, sortRows } from "../support/dataframe-reference.js";

/**
 * Dataframes on a real cluster: a private redis-server, a scheduler and two worker processes that
 * import no dataframe module of their own (the kernels come with every worker). Partitions move
 * between the workers peer to peer and reach the client as Arrow tables.
 */

let cluster: BenchComputer;
beforeAll(async () => {
  cluster = await startBenchCluster({ workers: 2, nthreads: 1 });
}, 60_000);
afterAll(() => cluster?.stop());

const rows = randomRows(21, 600);
const frame = () => fromRecords(asRecords(rows), { npartitions: 6, schema: RANDOM_SCHEMA });

describe("dataframes on worker processes", () => {
  it("aggregates groups in a tree and with splitOut, giving the reference's answer", async () => {
    const request: Record<string, AggName[]> = { f: ["mean", "std", "min", "nunique"], s: ["first", "last", "count"] };
    const tree = (await cluster.compute(frame().groupBy("k").agg(request))) as Table;
    expect(tree).toBeInstanceOf(Table);
    expectRowsClose(rowsOf(tree), groupByAgg(rows, ["k"], request), expect);
    const split = (await cluster.compute(frame().groupBy(["k", "b"]).agg(request, { splitOut: 3 }))) as Table;
    expectRowsClose(canonical(rowsOf(split)), canonical(groupByAgg(rows, ["k", "b"], request)), expect);
  }, 60_000);

  it("joins by shuffling both sides between the workers", async () => {
    const other = randomRows(22, 80, 8).map((r) => ({ k: r.k, s: r.s, extra: r.id }));
    const right = fromRecords(other, { npartitions: 3, schema: { k: "int", s: "string", extra: "int" } });
    const joined = (await cluster.compute(frame().merge(right, { on: "k", how: "outer", broadcast: false }))) as Table;
    expect(canonical(rowsOf(joined))).toEqual(canonical(mergeRows(rows, other, ["k"], "outer")));
  }, 60_000);

  it("sorts across partitions held by different workers", async () => {
    const sorted = (await cluster.compute(frame().filter(col("f").notNull()).sortValues(["f", "id"]))) as Table;
    expect(rowsOf(sorted)).toEqual(sortRows(rows.filter((r) => r.f !== null), ["f", "id"], [true, true]));
  }, 60_000);

  it("reads persisted partitions from the workers holding them", async () => {
    const [held] = await cluster.persist(frame().assign({ g: col("f").mul(2) }));
    const counts = (await cluster.compute(held.valueCounts("s"))) as Table;
    const want = new Map<unknown, number>();
    for (const r of rows) if (r.s !== null) want.set(r.s, (want.get(r.s) ?? 0) + 1);
    expect(new Map(rowsOf(counts).map((r) => [r.s, r.count]))).toEqual(want);
    expect(await cluster.compute(held.length())).toBe(rows.length);
  }, 60_000);
});
