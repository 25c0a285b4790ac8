import type { Table } from "apache-arrow";
import type { AggName } from "../../kernels/dataframe/aggregate-kernel.js";
import { seededRandom } from "./seeded-random.js";

/**
 * A deliberately simple in-memory reference for dataframe operations: arrays of row objects and
 * plain loops, with the semantics weft documents (nulls skipped by aggregations, null keys dropped
 * by group-by, never matched by joins, sorted last). Randomized tests compare weft against it.
 */

export type Cell = number | string | boolean | null;
export type Row = Record<string, Cell>;

/** The rows of an Arrow table as plain objects (timestamps as epoch milliseconds). */
export function rowsOf(table: Table): Row[] {
  const names = table.schema.names as string[];
  const columns = names.map((name) => table.getChild(name)!);
  return Array.from({ length: table.numRows }, (_, i) => {
    const row: Row = {};
    names.forEach((name, c) => {
      const value = columns[c].get(i) as unknown;
      row[name] = value === undefined ? null : typeof value === "bigint" ? Number(value) : (value as Cell);
    });
    return row;
  });
}

/** The kinds of the random test frames' columns. */
export const RANDOM_SCHEMA = { id: "int", k: "int", f: "float", s: "string", b: "bool", t: "timestamp" } as const;

/**
 * `n` rows over every column kind, each column with about 15% nulls: `id` (distinct ints), `k` (few
 * int values, for grouping and joining), `f` (floats), `s` (a few strings), `b` (booleans), `t`
 * (timestamps, as epoch milliseconds).
 */
export function randomRows(seed: number, n: number, keys = 6): Row[] {
  const random = seededRandom(seed);
  const maybe = <T,>(value: T): T | null => (random() < 0.15 ? null : value);
  const words = ["alpha", "beta", "gamma", "delta", "", "ünï"];
  return Array.from({ length: n }, (_, i) => ({
    id: i,
    k: maybe(Math.floor(random() * keys)),
    f: maybe(Math.round((random() * 200 - 100) * 1000) / 1000),
    s: maybe(words[Math.floor(random() * words.length)]),
    b: maybe(random() < 0.5),
    t: maybe(1_600_000_000_000 + Math.floor(random() * 1000) * 60_000),
  }));
}

/** Records with timestamps as Dates, as `fromRecords` takes them. */
export function asRecords(rows: readonly Row[]): Record<string, unknown>[] {
  return rows.map((row) => ({ ...row, t: row.t === null ? null : new Date(row.t as number) }));
}

/** Orders cells as weft does: nulls last, numbers numerically, strings by code units, false before true. */
export function compareCells(a: Cell, b: Cell): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
  if (typeof a === "boolean") return Number(a) - Number(b as boolean);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Rows sorted by every column, for comparing results whose row order is not specified. */
export function canonical(rows: readonly Row[]): Row[] {
  return [...rows].sort((x, y) => {
    for (const name of Object.keys(x)) {
      const d = compareCells(x[name], y[name]);
      if (d !== 0) return d;
    }
    return 0;
  });
}

export function aggregate(agg: AggName, values: readonly Cell[]): Cell {
  const present = values.filter((v) => v !== null);
  const numbers = present.map((v) => (typeof v === "boolean" ? Number(v) : (v as number)));
  const mean = numbers.reduce((a, b) => a + b, 0) / numbers.length;
  const variance = numbers.reduce((a, b) => a + (b - mean) ** 2, 0) / (numbers.length - 1);
  switch (agg) {
    case "count":
      return present.length;
    case "sum":
      return numbers.reduce((a, b) => a + b, 0);
    case "mean":
      return present.length === 0 ? null : mean;
    case "var":
      return present.length < 2 ? null : variance;
    case "std":
      return present.length < 2 ? null : Math.sqrt(variance);
    case "min":
      return present.length === 0 ? null : present.reduce((a, b) => (compareCells(b, a) < 0 ? b : a));
    case "max":
      return present.length === 0 ? null : present.reduce((a, b) => (compareCells(b, a) > 0 ? b : a));
    case "first":
      return present.length === 0 ? null : present[0];
    case "last":
      return present.length === 0 ? null : present[present.length - 1];
    case "nunique":
      return new Set(present).size;
  }
}

/** `groupBy(keys).agg(request)`: rows with a null key dropped, one row per key, sorted by key. */
export function groupByAgg(rows: readonly Row[], keys: readonly string[], request: Record<string, AggName | AggName[]>): Row[] {
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    if (keys.some((k) => row[k] === null)) continue;
    const id = JSON.stringify(keys.map((k) => row[k]));
    let members = groups.get(id);
    if (members === undefined) groups.set(id, (members = []));
    members.push(row);
  }
  const out = [...groups.values()].map((members) => {
    const row: Row = {};
    for (const k of keys) row[k] = members[0][k];
    for (const [column, asked] of Object.entries(request)) {
      for (const agg of Array.isArray(asked) ? asked : [asked]) {
        row[Array.isArray(asked) ? `${column}_${agg}` : column] = aggregate(agg, members.map((m) => m[column]));
      }
    }
    return row;
  });
  return out.sort((x, y) => {
    for (const k of keys) {
      const d = compareCells(x[k], y[k]);
      if (d !== 0) return d;
    }
    return 0;
  });
}

/** A join on `on` (null keys never match), with pandas' suffixes on clashing columns. */
export function mergeRows(left: readonly Row[], right: readonly Row[], on: readonly string[], how: "inner" | "left" | "right" | "outer"): Row[] {
  const leftRest = Object.keys(left[0] ?? {}).filter((c) => !on.includes(c));
  const rightRest = Object.keys(right[0] ?? {}).filter((c) => !on.includes(c));
  const build = (l: Row | null, r: Row | null): Row => {
    const row: Row = {};
    for (const k of on) row[k] = l !== null ? l[k] : r![k];
    for (const c of leftRest) row[rightRest.includes(c) ? `${c}_x` : c] = l === null ? null : l[c];
    for (const c of rightRest) row[leftRest.includes(c) ? `${c}_y` : c] = r === null ? null : r[c];
    return row;
  };
  const matches = (l: Row, r: Row) => on.every((k) => l[k] !== null && l[k] === r[k]);
  const out: Row[] = [];
  const matchedRight = new Set<Row>();
  for (const l of left) {
    const found = right.filter((r) => matches(l, r));
    found.forEach((r) => matchedRight.add(r));
    if (found.length > 0) out.push(...found.map((r) => build(l, r)));
    else if (how === "left" || how === "outer") out.push(build(l, null));
  }
  if (how === "right" || how === "outer") for (const r of right) if (!matchedRight.has(r)) out.push(build(null, r));
  return out;
}

/** Rows sorted by `by` (stable), nulls last whatever the direction. */
export function sortRows(rows: readonly Row[], by: readonly string[], ascending: readonly boolean[]): Row[] {
  return [...rows].sort((x, y) => {
    for (let c = 0; c < by.length; c++) {
      const a = x[by[c]];
      const b = y[by[c]];
      if (a === null || b === null) {
        if (a !== b) return a === null ? 1 : -1;
        continue;
      }
      const d = compareCells(a, b);
      if (d !== 0) return ascending[c] ? d : -d;
    }
    return 0;
  });
}

/** pandas' linear-interpolation quantile of numbers. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const position = q * (sorted.length - 1);
  const lo = Math.floor(position);
  const hi = Math.ceil(position);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (position - lo);
}

/** Compares rows, numbers to 1e-9 relative (sums in another order round differently). */
export function expectRowsClose(actual: readonly Row[], expected: readonly Row[], expect: (v: unknown) => { toBe(x: unknown): void; toEqual(x: unknown): void }): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, i) => {
    const want = expected[i];
    expect(Object.keys(row)).toEqual(Object.keys(want));
    for (const name of Object.keys(want)) {
      const a = row[name];
      const b = want[name];
      if (typeof a === "number" && typeof b === "number") {
        const close = Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
        expect(close ? b : { row: i, column: name, got: a }).toEqual(b);
      } else {
        expect({ row: i, column: name, value: a }).toEqual({ row: i, column: name, value: b });
      }
    }
  });
}
