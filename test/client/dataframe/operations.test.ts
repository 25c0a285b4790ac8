import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../../../client/client.js";
import type { AggName } from "../../../kernels/dataframe/aggregate-kernel.js";
import { col, fromRecords, lit, type DataFrame } from "../../../client/dataframe/index.js";
import {
  aggregate,
  asRecords,
  canonical,
  compareCells,
  expectRowsClose,
  groupByAgg,
  mergeRows,
  quantile,
  RANDOM_SCHEMA,
  randomRows,
  rowsOf,
  sortRows,
  type Row,
} from "../../support/dataframe-reference.js";

/**
 * Every dataframe operation against the in-memory reference, on random data with nulls in every
 * column kind (int, float, string, bool, timestamp), for several seeds and partition counts.
 */

let client: Client;
beforeAll(async () => {
  client = await Client.local({ executor: "sync" });
});
afterAll(() => client.close());

const CASES = [
  { seed: 1, n: 240, npartitions: 1 },
  { seed: 2, n: 397, npartitions: 3 },
  { seed: 3, n: 512, npartitions: 7 },
];

function frameOf(rows: readonly Row[], npartitions: number): DataFrame {
  return fromRecords(asRecords(rows), { npartitions, schema: RANDOM_SCHEMA });
}

async function rowsAfter(frame: DataFrame): Promise<Row[]> {
  const [table] = await client.compute(frame);
  return rowsOf(table);
}

const ALL_AGGS: AggName[] = ["sum", "mean", "count", "min", "max", "std", "var", "first", "last", "nunique"];

describe.each(CASES)("dataframe operations against the reference (seed $seed, $n rows, $npartitions partitions)", ({ seed, n, npartitions }) => {
  const rows = randomRows(seed, n);
  const frame = () => frameOf(rows, npartitions);

  it("computes the rows it was made from, with nulls in place", async () => {
    expect(await rowsAfter(frame())).toEqual(rows);
  });

  it("selects columns in the order asked", async () => {
    expect(await rowsAfter(frame().select(["s", "id", "t"]))).toEqual(rows.map((r) => ({ s: r.s, id: r.id, t: r.t })));
  });

  it("filters by a predicate combining comparisons of every kind, nulls counting as false", async () => {
    const predicate = col("f")
      .gt(-20)
      .and(col("s").ne("beta"))
      .or(col("b").eq(true).and(col("t").lt(new Date(1_600_000_000_000 + 500 * 60_000))))
      .or(col("k").isNull().and(col("id").ge(100)));
    const want = rows.filter((r) => {
      const cmp = (x: Cell, test: (x: NonNullable<Cell>) => boolean) => (x === null ? null : test(x));
      const and = (a: boolean | null, b: boolean | null) => (a === false || b === false ? false : a === null || b === null ? null : true);
      const or = (a: boolean | null, b: boolean | null) => (a === true || b === true ? true : a === null || b === null ? null : false);
      const first = and(cmp(r.f, (x) => (x as number) > -20), cmp(r.s, (x) => x !== "beta"));
      const second = and(cmp(r.b, (x) => x === true), cmp(r.t, (x) => (x as number) < 1_600_000_000_000 + 500 * 60_000));
      const third = and(r.k === null, r.id !== null && (r.id as number) >= 100);
      return or(or(first, second), third) === true;
    });
    expect(await rowsAfter(frame().filter(predicate))).toEqual(want);
  });

  it("assigns derived columns, nulls propagating through arithmetic and comparisons", async () => {
    const out = frame().assign({ g: col("f").mul(col("k")).add(1), late: col("t").add(60_000).gt(lit(new Date(1_600_000_000_000 + 500 * 60_000))), f: col("f").div(2) });
    const want = rows.map((r) => ({
      ...r,
      f: r.f === null ? null : (r.f as number) / 2,
      g: r.f === null || r.k === null ? null : (r.f as number) * (r.k as number) + 1,
      late: r.t === null ? null : (r.t as number) + 60_000 > 1_600_000_000_000 + 500 * 60_000,
    }));
    expect(await rowsAfter(out)).toEqual(want);
  });

  it("takes the first rows of the first partition with head", async () => {
    const firstPartition = Math.floor(n / npartitions);
    expect(await rowsAfter(frame().head(5))).toEqual(rows.slice(0, Math.min(5, firstPartition)));
    expect(await rowsAfter(frame().head(n, { npartitions: -1 }))).toEqual(rows);
  });

  it("counts rows with length", async () => {
    expect(await client.compute(frame().length())).toEqual([n]);
  });

  it.each([[["k"]], [["s", "b"]], [["t"]]])("aggregates every column with every aggregation, grouped by %j", async (keys: string[]) => {
    const request: Record<string, AggName[]> = {
      f: ALL_AGGS,
      id: ALL_AGGS,
      b: ["sum", "mean", "count", "min", "max", "first", "last", "nunique"],
      s: ["count", "min", "max", "first", "last", "nunique"],
      t: ["count", "min", "max", "first", "last", "nunique"],
    };
    for (const key of keys) delete request[key];
    const got = await rowsAfter(frame().groupBy(keys).agg(request, { splitEvery: 2 }));
    expectRowsClose(got, groupByAgg(rows, keys, request), expect);
  });

  it("sums, counts and averages by one int key, nulls in keys and values", async () => {
    const request: Record<string, AggName[]> = { f: ["sum", "mean", "count"], b: ["mean"], id: ["count"] };
    const got = await rowsAfter(frame().groupBy("k").agg(request));
    expectRowsClose(got, groupByAgg(rows, ["k"], request), expect);
  });

  it("gives the same groups hash-partitioned with splitOut, each output partition sorted by key", async () => {
    const request = { f: ["mean", "std", "nunique"] as AggName[], s: "last" as const };
    const got = await rowsAfter(frame().groupBy(["k", "b"]).agg(request, { splitOut: 3 }));
    expectRowsClose(canonical(got), canonical(groupByAgg(rows, ["k", "b"], request)), expect);
  });

  it.each(["inner", "left", "right", "outer"] as const)("joins (%s) by shuffling both sides on the keys", async (how) => {
    const other = randomRows(seed + 100, 60, 8).map((r) => ({ k: r.k, s: r.s, extra: r.id }));
    const right = fromRecords(other, { npartitions: 2, schema: { k: "int", s: "string", extra: "int" } });
    const got = await rowsAfter(frame().merge(right, { on: "k", how, broadcast: false }));
    expect(canonical(got)).toEqual(canonical(mergeRows(rows, other, ["k"], how)));
  });

  it.each(["inner", "left", "right", "outer"] as const)("joins (%s) on a string key, null keys matching nothing", async (how) => {
    const other = randomRows(seed + 400, 70, 6).map((r) => ({ s: r.s, code: r.id }));
    for (const broadcast of [false, true]) {
      const right = fromRecords(other, { npartitions: broadcast ? 1 : 2, schema: { s: "string", code: "int" } });
      const got = await rowsAfter(frame().merge(right, { on: "s", how, broadcast: broadcast && how !== "outer" ? true : false }));
      expect(canonical(got)).toEqual(canonical(mergeRows(rows, other, ["s"], how)));
    }
  });

  it.each(["inner", "left", "right"] as const)("joins (%s) with the side asked for broadcast even when it has several partitions", async (how) => {
    const other = randomRows(seed + 300, 50, 5).map((r) => ({ k: r.k, label: r.s }));
    const side = fromRecords(other, { npartitions: 2, schema: { k: "int", label: "string" } });
    const merged = frame().merge(side, { on: "k", how, broadcast: true });
    // Output partitions are those of the side not broadcast: the larger one, when either could go.
    expect(merged.npartitions).toBe(how === "left" ? npartitions : how === "right" ? 2 : Math.max(2, npartitions));
    expect(canonical(await rowsAfter(merged))).toEqual(canonical(mergeRows(rows, other, ["k"], how)));
  });

  it.each(["inner", "left", "right"] as const)("joins (%s) on two key columns by broadcasting a one-partition side", async (how) => {
    const other = randomRows(seed + 200, 40, 4).map((r) => ({ k: r.k, b: r.b, score: r.f }));
    const right = fromRecords(other, { npartitions: 1, schema: { k: "int", b: "bool", score: "float" } });
    const merged = how === "right" ? right.merge(frame(), { on: ["k", "b"], how: "left" }) : frame().merge(right, { on: ["k", "b"], how });
    const want = how === "right" ? mergeRows(other, rows, ["k", "b"], "left") : mergeRows(rows, other, ["k", "b"], how);
    expect(canonical(await rowsAfter(merged))).toEqual(canonical(want));
  });

  it.each([
    [["f"], [true]],
    [["s", "id"], [false, true]],
    [["t", "b"], [true, false]],
  ] as const)("sorts by %s (ascending %s) across partitions, nulls last", async (by, ascending) => {
    const got = await rowsAfter(frame().sortValues(by, { ascending: [...ascending] }));
    const want = sortRows(rows, by, ascending);
    expect(got.map((r) => by.map((c) => r[c]))).toEqual(want.map((r) => by.map((c) => r[c])));
    expect(canonical(got)).toEqual(canonical(rows));
  });

  it("sets a sorted index: partitions in order of the index, each sorted", async () => {
    const indexed = frame().setIndex("f", { npartitions: 3 });
    expect(indexed.index).toBe("f");
    const parts: Cell[][] = [];
    for (let i = 0; i < indexed.npartitions; i++) parts.push((await rowsAfter(indexed.partition(i))).map((r) => r.f));
    expect(parts.flat()).toEqual(sortRows(rows, ["f"], [true]).map((r) => r.f));
    const nonNull = parts.map((part) => part.filter((v) => v !== null) as number[]).filter((part) => part.length > 0);
    for (let i = 1; i < nonNull.length; i++) expect(nonNull[i - 1][nonNull[i - 1].length - 1]).toBeLessThanOrEqual(nonNull[i][0]);
  });

  it.each(["k", "s", "b", "t"])("counts the values of %s, most frequent first", async (column) => {
    const counts = new Map<Cell, number>();
    for (const r of rows) if (r[column] !== null) counts.set(r[column], (counts.get(r[column]) ?? 0) + 1);
    const want = [...counts].map(([value, count]) => ({ [column]: value, count })).sort((x, y) => y.count - x.count || compareCells(x[column], y[column]));
    expect(await rowsAfter(frame().valueCounts(column))).toEqual(want);
  });

  it("describes the numeric columns like pandas", async () => {
    const got = await rowsAfter(frame().describe());
    const stats = ["count", "mean", "std", "min", "25%", "50%", "75%", "max"];
    expect(got.map((r) => r.stat)).toEqual(stats);
    for (const column of ["id", "k", "f"]) {
      const values = rows.map((r) => r[column]).filter((v): v is number => v !== null).sort((a, b) => a - b);
      const want = [values.length, aggregate("mean", values), aggregate("std", values), values[0], quantile(values, 0.25), quantile(values, 0.5), quantile(values, 0.75), values[values.length - 1]];
      expectRowsClose(
        got.map((r) => ({ [column]: r[column] })),
        want.map((v) => ({ [column]: v })),
        expect,
      );
    }
  });

  it.each([[["k", "s"]], [undefined]])("drops duplicate rows of subset %s, keeping the first of each", async (subset) => {
    const seen = new Set<string>();
    const columns = subset ?? Object.keys(rows[0]);
    const want = rows.filter((r) => {
      const id = JSON.stringify(columns.map((c) => r[c]));
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
    const withDuplicates = [...rows, ...rows.slice(0, 30)];
    const got = await rowsAfter(frameOf(withDuplicates, npartitions).dropDuplicates(subset === undefined ? {} : { subset }));
    expect(canonical(got)).toEqual(canonical(want));
  });

  it.each(["k", "f", "s", "b", "t"])("counts the distinct non-null values of %s", async (column) => {
    expect(await client.compute(frame().nunique(column))).toEqual([aggregate("nunique", rows.map((r) => r[column]))]);
  });
});

type Cell = Row[string];

describe("group-by keys of every range", () => {
  it.each([
    ["small non-negative", (k: number) => k],
    ["non-negative up to 65,535", (k: number) => k * 10_000 + 7],
    ["negative", (k: number) => k - 3],
    ["spread far apart", (k: number) => k * 400_000_000 - 1_000_000_000],
  ])("sums and averages by %s int keys", async (_name, key) => {
    const rows = randomRows(41, 300).map((r) => ({ ...r, k: r.k === null ? null : key(r.k as number) }));
    const request: Record<string, AggName[]> = { f: ["sum", "mean", "count"] };
    const got = await rowsAfter(frameOf(rows, 3).groupBy("k").agg(request));
    expectRowsClose(got, groupByAgg(rows, ["k"], request), expect);
  });
});
