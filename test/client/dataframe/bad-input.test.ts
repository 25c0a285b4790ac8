import { Field, Int32, List, Table, tableFromArrays, vectorFromArray } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { col, fromArrow, fromRecords, lit } from "../../../client/dataframe/index.js";

/** Mistakes are caught when the graph is built, with errors naming the column, argument or option. */

const df = () => fromRecords([{ k: 1, v: 0.5, s: "a", t: new Date(0) }], { npartitions: 1 });

describe("dataframe input checks", () => {
  it("names an unknown column and lists the columns there are", () => {
    expect(() => df().select(["k", "nope"])).toThrow(new RangeError('no column "nope"; columns: k, v, s, t'));
    expect(() => df().groupBy("nope")).toThrow(/no group key "nope"/);
    expect(() => df().filter(col("nope").gt(1))).toThrow(/no column "nope"/);
    expect(() => df().sortValues("nope")).toThrow(/no sort column "nope"/);
  });

  it("refuses an expression comparing or computing on values of the wrong kind", () => {
    expect(() => df().filter(col("s").gt(1))).toThrow(new TypeError('cannot compare a string with a int in col("s").gt(lit(1))'));
    expect(() => df().assign({ x: col("s").mul(2) })).toThrow(/mul needs int or float operands, got a string/);
    expect(() => df().filter(col("v").add(1))).toThrow(/filter\(\) needs a boolean expression; col\("v"\)\.add\(lit\(1\)\) is a float/);
  });

  it("refuses an aggregation that does not exist or does not fit the column", () => {
    expect(() => df().groupBy("k").agg({ v: "median" as never })).toThrow(/unknown aggregation "median" for column "v"/);
    expect(() => df().groupBy("k").agg({ s: "mean" })).toThrow(new TypeError('agg(): cannot take the mean of column "s", a string column'));
    expect(() => df().groupBy("k").agg({ k: "count" })).toThrow(/output column "k" would repeat a group key/);
    expect(() => df().groupBy("k").agg({ v: "sum" }, { splitOut: 0 })).toThrow(/splitOut must be a whole number >= 1, got 0/);
  });

  it("refuses joins on keys of different kinds or with an unknown how", () => {
    const other = fromRecords([{ k: "1", w: 1 }]);
    expect(() => df().merge(other, { on: "k" })).toThrow(new TypeError('merge(): key column "k" is int on the left and string on the right'));
    expect(() => df().merge(df(), { on: "k", how: "cross" as never })).toThrow(/how must be one of inner, left, right, outer, got "cross"/);
    expect(() => df().merge(df(), { on: "k", how: "outer", broadcast: true })).toThrow(/an outer join keeps unmatched rows of both sides, so neither can be broadcast/);
  });

  it("refuses values fromRecords cannot store, naming the column and row", () => {
    expect(() => fromRecords([{ a: 1 }, { a: "x" }])).toThrow(/column "a" mixes int and string values \(row 1\)/);
    expect(() => fromRecords([{ a: { nested: true } }])).toThrow(/column "a" row 0 holds an object/);
  });

  it("refuses Arrow column types weft does not support, naming the column", () => {
    const nested = new Table({ ok: vectorFromArray([1], new Int32()), bad: vectorFromArray([[1, 2]], new List(new Field("item", new Int32()))) });
    expect(() => fromArrow(nested)).toThrow(/column "bad" has Arrow type List<Int32>, which weft dataframes do not support/);
  });

  it("refuses a partition count or literal it cannot use", () => {
    expect(() => fromArrow(tableFromArrays({ ok: Int32Array.from([1]) }), { npartitions: 0 })).toThrow(/npartitions must be a whole number >= 1, got 0/);
    expect(() => lit({} as never)).toThrow(/a literal must be a number, string, boolean, Date or null/);
  });

  it("refuses a writer path pattern without a partition placeholder", () => {
    expect(() => df().toCsv("out.csv")).toThrow(/needs exactly one "\*" for the partition number/);
  });
});
