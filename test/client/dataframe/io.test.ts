import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../../../client/client.js";
import { READ_CSV_BLOCK, type CsvBlock } from "../../../kernels/dataframe/csv-kernel.js";
import { col, fromRecords, readCsv, readIpc, readParquet, type DataFrame } from "../../../client/dataframe/index.js";
import { READ_PARQUET } from "../../../kernels/dataframe/parquet-kernel.js";
import type { ReadonlyGraph } from "../../../graph/task-spec.js";
import { asRecords, RANDOM_SCHEMA, randomRows, rowsOf, type Row } from "../../support/dataframe-reference.js";

let client: Client;
let dir: string;
beforeAll(async () => {
  client = await Client.local({ executor: "sync" });
  dir = mkdtempSync(join(tmpdir(), "weft-df-io-"));
});
afterAll(async () => {
  await client.close();
  rmSync(dir, { recursive: true, force: true });
});

async function rowsAfter(frame: DataFrame): Promise<Row[]> {
  const [table] = await client.compute(frame);
  return rowsOf(table);
}

const rows = randomRows(11, 300);
const frame = () => fromRecords(asRecords(rows), { npartitions: 3, schema: RANDOM_SCHEMA });

/** The arguments of every task of a frame's graph that calls `fn`. */
function callsTo(frame: { readonly graph: ReadonlyGraph }, fn: string): unknown[][] {
  return [...frame.graph.values()].filter((spec) => spec.fn === fn).map((spec) => [...spec.args]);
}

describe("CSV", () => {
  it("writes a file per partition and reads them back through a glob, kinds inferred and nulls kept", async () => {
    const [paths] = await client.compute(frame().toCsv(join(dir, "round", "part-*.csv")));
    expect(paths).toEqual([0, 1, 2].map((i) => join(dir, "round", `part-${i}.csv`)));
    const back = readCsv(join(dir, "round", "part-*.csv"));
    expect(back.schema).toEqual(Object.entries(RANDOM_SCHEMA).map(([name, kind]) => ({ name, kind })));
    expect(await rowsAfter(back)).toEqual(rows);
  });

  it.each([1, 7, 64, 1000])("splits a file into byte ranges of %i bytes without losing or repeating a line", async (blocksize) => {
    const path = join(dir, `blocks-${blocksize}.csv`);
    writeFileSync(path, 'a,b\n1,"x, quoted"\n2,\n\n3,"say ""hi"""\r\n4,last');
    const df = readCsv(path, { blocksize });
    expect(df.npartitions).toBe(Math.ceil(readFileSync(path).length / blocksize));
    expect(await rowsAfter(df)).toEqual([
      { a: 1, b: "x, quoted" },
      { a: 2, b: null },
      { a: 3, b: 'say "hi"' },
      { a: 4, b: "last" },
    ]);
  });

  it("reads every partition of a large file cut into blocks, in order", async () => {
    const path = join(dir, "large.csv");
    const lines = Array.from({ length: 20_000 }, (_, i) => `${i},${(i * 0.25).toFixed(2)},w${i % 13}`);
    writeFileSync(path, `i,x,w\n${lines.join("\n")}\n`);
    const df = readCsv(path, { blocksize: 10_000 });
    expect(df.npartitions).toBeGreaterThan(30);
    const [table] = await client.compute(df);
    expect(table.numRows).toBe(20_000);
    expect([...(table.getChild("i")!.toArray() as Int32Array)]).toEqual(Array.from({ length: 20_000 }, (_, i) => i));
  });

  it("cuts files into one block per CPU by default, between 4 MiB and 64 MiB a block", () => {
    const path = join(dir, "default-blocks.csv");
    // 40 MiB of one-digit rows: one block per CPU, unless that makes blocks under 4 MiB.
    writeFileSync(path, `a\n${"1\n".repeat(20 * 1024 * 1024)}`);
    const size = readFileSync(path).length;
    const blocksize = Math.min(64 << 20, Math.max(4 << 20, Math.ceil(size / availableParallelism())));
    expect(readCsv(path).npartitions).toBe(Math.ceil(size / blocksize));
    const small = join(dir, "default-small.csv");
    writeFileSync(small, "a\n1\n2\n");
    expect(readCsv(small).npartitions).toBe(1);
  });

  it("takes kinds from a given schema over inference", async () => {
    const path = join(dir, "schema.csv");
    writeFileSync(path, "code,when\n007,2024-01-02\n010,2024-03-04T05:06:07Z\n");
    const inferred = readCsv(path);
    expect(inferred.schema).toEqual([{ name: "code", kind: "int" }, { name: "when", kind: "timestamp" }]);
    const given = readCsv(path, { schema: { code: "string" } });
    expect(await rowsAfter(given)).toEqual([
      { code: "007", when: Date.parse("2024-01-02") },
      { code: "010", when: Date.parse("2024-03-04T05:06:07Z") },
    ]);
  });

  it("reads a file without a header by the names of its schema", async () => {
    const path = join(dir, "headless.tsv");
    writeFileSync(path, "1\ttrue\n2\tfalse\n");
    const df = readCsv(path, { header: false, delimiter: "\t", schema: { n: "int", ok: "bool" } });
    expect(await rowsAfter(df)).toEqual([{ n: 1, ok: true }, { n: 2, ok: false }]);
  });

  it("pushes column projection into the readers: a group-by reads only its key and value columns", () => {
    const df = readCsv(join(dir, "round", "part-*.csv"));
    const grouped = df.filter(col("f").gt(0)).groupBy("k").agg({ f: "mean" });
    const blocks = callsTo(grouped, READ_CSV_BLOCK).map(([block]) => block as CsvBlock);
    expect(blocks).toHaveLength(3);
    for (const block of blocks) expect(block.names).toEqual(["k", "f"]);
    const counted = callsTo(df.length(), READ_CSV_BLOCK).map(([block]) => (block as CsvBlock).names);
    expect(counted).toEqual([["id"], ["id"], ["id"]]);
  });

  it("pushes a later selection through sorts and head into the readers", async () => {
    const df = readCsv(join(dir, "round", "part-*.csv"));
    const picked = df.sortValues("f").head(10).select(["s"]);
    const blocks = callsTo(picked, READ_CSV_BLOCK).map(([block]) => (block as CsvBlock).names);
    expect(blocks).toEqual([["f", "s"], ["f", "s"], ["f", "s"]]);
    const sorted = [...rows].filter((r) => r.f !== null).sort((a, b) => (a.f as number) - (b.f as number));
    const got = await rowsAfter(picked);
    expect(got).toHaveLength(10);
    expect(got.map((r) => r.s)).toEqual(sorted.slice(0, 10).map((r) => r.s));
  });

  it("gives the same group-by result from projected readers as from the full rows", async () => {
    const df = readCsv(join(dir, "round", "part-*.csv"));
    const [projected] = await client.compute(df.assign({ g: col("f").mul(2) }).groupBy("s").agg({ g: "sum" }));
    const [direct] = await client.compute(frame().assign({ g: col("f").mul(2) }).groupBy("s").agg({ g: "sum" }));
    expect(rowsOf(projected)).toEqual(rowsOf(direct));
  });

  it("names a value that does not fit the inferred kind, with its line and column", async () => {
    const path = join(dir, "bad.csv");
    writeFileSync(path, `n\n${"1\n".repeat(10)}1.5\n`);
    const error = await client.compute(readCsv(path, { sampleBytes: 8 })).catch((e: unknown) => e);
    expect(String(error)).toMatch(/line 12 of .*bad\.csv, column "n": "1\.5" is not an integer/);
  });

  it("refuses a pattern that matches no file, naming it", () => {
    expect(() => readCsv(join(dir, "nothing-*.csv"))).toThrow(/no file matches .*nothing-\*\.csv/);
  });
});

describe("Parquet", () => {
  it("round-trips every column kind with nulls, a partition per row group", async () => {
    const [paths] = await client.compute(frame().toParquet(join(dir, "pq", "part-*.parquet")));
    expect(paths).toHaveLength(3);
    const back = await readParquet(join(dir, "pq", "*.parquet"));
    expect(back.npartitions).toBe(3);
    expect(back.schema).toEqual(Object.entries(RANDOM_SCHEMA).map(([name, kind]) => ({ name, kind })));
    expect(await rowsAfter(back)).toEqual(rows);
  });

  it("reads only the projected columns, in the order asked", async () => {
    const back = await readParquet(join(dir, "pq", "*.parquet"));
    const picked = back.select(["t", "id"]);
    expect(callsTo(picked, READ_PARQUET).map((args) => args[2])).toEqual([["t", "id"], ["t", "id"], ["t", "id"]]);
    expect(await rowsAfter(picked)).toEqual(rows.map((r) => ({ t: r.t, id: r.id })));
  });
});

describe("Arrow IPC files", () => {
  it("round-trips every column kind with nulls, a partition per record batch", async () => {
    await client.compute(frame().toIpc(join(dir, "ipc", "part-*.arrow")));
    const back = await readIpc([join(dir, "ipc", "part-0.arrow"), join(dir, "ipc", "part-?.arrow")].slice(1));
    expect(back.npartitions).toBe(3);
    expect(await rowsAfter(back)).toEqual(rows);
    expect(await rowsAfter(back.select(["s"]))).toEqual(rows.map((r) => ({ s: r.s })));
  });
});
