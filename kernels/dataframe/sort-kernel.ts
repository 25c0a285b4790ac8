import type { Table } from "apache-arrow";
import { registerTask } from "../../protocol/task-registry.js";
import { lengthOf, readColumn, valueAt, type Column } from "./column.js";
import { concatTables, splitRows, takeRows } from "./partition-kernels.js";

/**
 * Row orders: the indices that sort rows by several columns, each ascending or descending, nulls
 * last (pandas' default), ties kept in their original order (the sort is stable); and the kernels of
 * the distributed sort (samples, boundaries, range splits, sorted output partitions).
 */

/** Per column, numbers that order its rows as its values do: strings become their rank in the sorted dictionary. */
function orderKeys(column: Column): ArrayLike<number> {
  if (column.kind !== "string") return column.values;
  const dictionary = column.dictionary!;
  const byText = Array.from(dictionary.keys()).sort((a, b) => (dictionary[a] < dictionary[b] ? -1 : dictionary[a] > dictionary[b] ? 1 : 0));
  const rank = new Int32Array(dictionary.length);
  byText.forEach((code, position) => {
    rank[code] = position;
  });
  const codes = column.values as Int32Array;
  return Int32Array.from(codes, (code) => rank[code] ?? 0);
}

/** The row indices of `columns` in sorted order. */
export function sortIndices(columns: readonly Column[], ascending: readonly boolean[]): Int32Array {
  const n = columns.length === 0 ? 0 : lengthOf(columns[0]);
  const keys = columns.map(orderKeys);
  const valids = columns.map((c) => c.valid);
  const indices = new Int32Array(n);
  for (let i = 0; i < n; i++) indices[i] = i;
  if (columns.length === 1 && valids[0] === null) {
    const k = keys[0];
    const sign = ascending[0] ? 1 : -1;
    return indices.sort((a, b) => sign * (k[a] - k[b]) || a - b);
  }
  return indices.sort((a, b) => {
    for (let c = 0; c < keys.length; c++) {
      const valid = valids[c];
      if (valid !== null) {
        const va = valid[a];
        const vb = valid[b];
        if (va !== vb) return vb - va; // nulls last
        if (va === 0) continue;
      }
      const d = keys[c][a] - keys[c][b];
      if (d !== 0 && !Number.isNaN(d)) return ascending[c] ? d : -d;
    }
    return a - b;
  });
}

/** Sample values taken per partition for the boundaries. */
const SAMPLE_SIZE = 256;

export const SORT_SAMPLE = "weft.df.sortSample";
export const SORT_BOUNDARIES = "weft.df.sortBoundaries";
export const RANGE_SPLIT = "weft.df.rangeSplit";
export const SORT_PARTITION = "weft.df.sortPartition";

type SortValue = number | string;

/** Evenly spaced order statistics of a column's non-null values, each standing for `weight` rows. */
export function sortSample(table: Table, column: string): { values: SortValue[]; weight: number } {
  const data = readColumn(table, column);
  const order = sortIndices([data], [true]);
  let valid = 0;
  while (valid < order.length && valueAt(data, order[valid]) !== null) valid++;
  const take = Math.min(valid, SAMPLE_SIZE);
  const values: SortValue[] = [];
  for (let s = 0; s < take; s++) {
    const value = valueAt(data, order[Math.floor(((s + 0.5) * valid) / take)]);
    values.push(typeof value === "boolean" ? (value ? 1 : 0) : (value as SortValue));
  }
  return { values, weight: take === 0 ? 0 : valid / take };
}

function compare(a: SortValue, b: SortValue): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `parts - 1` ascending boundaries at weighted quantiles of the samples. */
export function sortBoundaries(samples: readonly { values: SortValue[]; weight: number }[], parts: number): SortValue[] {
  const points = samples.flatMap((s) => s.values.map((value) => ({ value, weight: s.weight })));
  points.sort((a, b) => compare(a.value, b.value));
  const total = points.reduce((sum, p) => sum + p.weight, 0);
  const boundaries: SortValue[] = [];
  let cumulative = 0;
  let at = 0;
  for (let j = 1; j < parts && points.length > 0; j++) {
    const target = (j * total) / parts;
    while (at < points.length - 1 && cumulative + points[at].weight < target) cumulative += points[at++].weight;
    boundaries.push(points[at].value);
  }
  return boundaries;
}

/** Splits `table` into `boundaries.length + 1` pieces by the first sort column (nulls into the last piece). */
export function rangeSplit(table: Table, column: string, boundaries: readonly SortValue[], ascending: boolean): Table[] {
  const data = readColumn(table, column);
  const parts = boundaries.length + 1;
  const target = new Int32Array(table.numRows);
  for (let i = 0; i < table.numRows; i++) {
    const raw = valueAt(data, i);
    if (raw === null) {
      target[i] = parts - 1;
      continue;
    }
    const value = typeof raw === "boolean" ? (raw ? 1 : 0) : raw;
    let lo = 0;
    let hi = boundaries.length; // the number of boundaries below value (ties go left)
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compare(boundaries[mid], value) < 0) lo = mid + 1;
      else hi = mid;
    }
    target[i] = ascending ? lo : parts - 1 - lo;
  }
  return splitRows(table, target, parts);
}

/** The pieces of one output partition, concatenated and sorted. */
export function sortPartition(pieces: readonly Table[], by: readonly string[], ascending: readonly boolean[]): Table {
  const table = concatTables(pieces);
  const order = sortIndices(
    by.map((name) => readColumn(table, name)),
    ascending,
  );
  return takeRows(table, order);
}

const here = import.meta.url;
registerTask(SORT_SAMPLE, sortSample, here);
registerTask(SORT_BOUNDARIES, sortBoundaries, here);
registerTask(RANGE_SPLIT, rangeSplit, here);
registerTask(SORT_PARTITION, sortPartition, here);

