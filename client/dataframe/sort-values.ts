import type { Table } from "apache-arrow";
import { GETITEM } from "../../worker/builtin-tasks.js";
import { registerTask } from "../../worker/task-registry.js";
import { checkColumns, unionInFrameOrder } from "./blockwise.js";
import { readColumn, valueAt } from "./column.js";
import { DataFrame } from "./dataframe.js";
import { addTask, extend, layerName, partitionKey, ref } from "./frame-graph.js";
import { concatTables, splitRows, takeRows } from "./partition-kernels.js";
import { sortIndices } from "./sort-kernel.js";

/**
 * Sorting, as `dask.dataframe.sort_values`: partition boundaries come from quantiles of a sample of
 * the first sort column, each partition is split at the boundaries, and each output partition
 * concatenates its pieces and sorts them. Output partition `j` holds only values between boundaries
 * `j - 1` and `j`, so the partitions in order are the sorted frame; nulls go to the last partition.
 */

/** Options of `sortValues` and `setIndex`. */
export interface SortOptions {
  /** Ascending (default) or descending; one flag for all sort columns or one per column. */
  readonly ascending?: boolean | readonly boolean[];
  /** Output partitions. Default: as many as the input. */
  readonly npartitions?: number;
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

/** `df.sortValues(by)`: the frame sorted by `by`, range-partitioned on the first sort column. */
export function sortValues(frame: DataFrame, by: readonly string[], options: SortOptions, index?: string): DataFrame {
  const columns = checkColumns(frame, by, "sort column");
  if (columns.length === 0) throw new RangeError("sortValues() needs at least one column");
  const flags = options.ascending ?? true;
  const ascending = typeof flags === "boolean" ? columns.map(() => flags) : [...flags];
  if (ascending.length !== columns.length || !ascending.every((a) => typeof a === "boolean")) {
    throw new RangeError(`sortValues(): ascending must be a boolean or one boolean per sort column (${columns.length})`);
  }
  const nparts = options.npartitions ?? frame.npartitions;
  if (!Number.isInteger(nparts) || nparts < 1) throw new RangeError(`sortValues(): npartitions must be a whole number >= 1, got ${nparts}`);
  const name = layerName("sort", frame.name, columns, ascending, nparts);
  const graph = extend(frame.graph);
  const first = columns[0];
  const samples = frame.partitionKeys().map((key, i) => ref(addTask(graph, `${name}-sample-${i}`, SORT_SAMPLE, [ref(key), first])));
  const boundaries = addTask(graph, `${name}-boundaries`, SORT_BOUNDARIES, [samples, nparts]);
  const splits = frame.partitionKeys().map((key, i) => addTask(graph, `${name}-split-${i}`, RANGE_SPLIT, [ref(key), first, ref(boundaries), ascending[0]]));
  for (let j = 0; j < nparts; j++) {
    const pieces = splits.map((key, i) => ref(addTask(graph, `${name}-piece-${i}-${j}`, GETITEM, [ref(key), j])));
    addTask(graph, partitionKey(name, j), SORT_PARTITION, [pieces, columns, ascending]);
  }
  // Asked for fewer columns, sort a frame of only those and the sort columns.
  const projector = (wanted: readonly string[]) => sortValues(frame.project(unionInFrameOrder(frame, wanted, columns)), columns, options, index);
  return new DataFrame(name, nparts, frame.schema, graph, projector, index);
}

/** `df.setIndex(column)`: sorted ascending by `column`, which the frame then names as its index. */
export function setIndex(frame: DataFrame, column: string, options: SortOptions): DataFrame {
  checkColumns(frame, [column], "index column");
  return sortValues(frame, [column], options, column);
}
