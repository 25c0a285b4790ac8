import type { Graph } from "../../graph/task-spec.js";
import { GETITEM } from "../../protocol/builtin-task-names.js";
import { checkColumns, unionInFrameOrder } from "./blockwise.js";
import { DataFrame } from "./dataframe.js";
import { addTask, extend, layerName, partitionKey, ref } from "./frame-graph.js";
import { RANGE_SPLIT, SORT_BOUNDARIES, SORT_PARTITION, SORT_SAMPLE } from "../../kernels/dataframe/sort-kernel.js";

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
  if (frame.npartitions === 1 && nparts === 1) {
    // One partition in, one out: no boundaries to find, no pieces to move; sort it where it is.
    addTask(graph, partitionKey(name, 0), SORT_PARTITION, [[ref(frame.partitionKeys()[0])], columns, ascending]);
  } else {
    addRangeSort(graph, frame, name, columns, ascending, nparts);
  }
  // Asked for fewer columns, sort a frame of only those and the sort columns.
  const projector = (wanted: readonly string[]) => sortValues(frame.project(unionInFrameOrder(frame, wanted, columns)), columns, options, index);
  return new DataFrame(name, nparts, frame.schema, graph, projector, index);
}

/** The tasks of a range-partitioned sort: sample, boundaries, a split per input, a sort per output. */
function addRangeSort(graph: Graph, frame: DataFrame, name: string, columns: readonly string[], ascending: readonly boolean[], nparts: number): void {
  const first = columns[0];
  const samples = frame.partitionKeys().map((key, i) => ref(addTask(graph, `${name}-sample-${i}`, SORT_SAMPLE, [ref(key), first])));
  const boundaries = addTask(graph, `${name}-boundaries`, SORT_BOUNDARIES, [samples, nparts]);
  const splits = frame.partitionKeys().map((key, i) => addTask(graph, `${name}-split-${i}`, RANGE_SPLIT, [ref(key), first, ref(boundaries), ascending[0]]));
  for (let j = 0; j < nparts; j++) {
    const pieces = splits.map((key, i) => ref(addTask(graph, `${name}-piece-${i}-${j}`, GETITEM, [ref(key), j])));
    addTask(graph, partitionKey(name, j), SORT_PARTITION, [pieces, columns, ascending]);
  }
}

/** `df.setIndex(column)`: sorted ascending by `column`, which the frame then names as its index. */
export function setIndex(frame: DataFrame, column: string, options: SortOptions): DataFrame {
  checkColumns(frame, [column], "index column");
  return sortValues(frame, [column], options, column);
}
