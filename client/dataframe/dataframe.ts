import type { Table } from "apache-arrow";
import type { Key, ReadonlyGraph } from "../../graph/task-spec.js";
import { COLLECTION, type Collection, type CollectionProtocol } from "../collection.js";
import type { TaskFunction } from "../task.js";
import { assign } from "./assign.js";
import type { ColumnSchema } from "../../kernels/dataframe/column.js";
import { describeFrame } from "./describe.js";
import { dropDuplicates, type DropDuplicatesOptions } from "./drop-duplicates.js";
import type { Expression } from "./expression.js";
import { filter } from "./filter.js";
import { addTask, extend, layerName, partitionKey, ref } from "./frame-graph.js";
import { IDENTITY } from "../../protocol/builtin-task-names.js";
import { GroupBy } from "./group-by.js";
import { head, type HeadOptions } from "./head.js";
import { length } from "./length.js";
import { mapPartitions, type MapPartitionsOptions } from "./map-partitions.js";
import { merge, type MergeOptions } from "./merge.js";
import { nunique } from "./nunique.js";
import { concatTables } from "../../kernels/dataframe/partition-kernels.js";
import type { Scalar } from "./scalar.js";
import { select } from "./select.js";
import { setIndex, sortValues, type SortOptions } from "./sort-values.js";
import { valueCounts } from "./value-counts.js";
import { writeCsv, type ToCsvOptions } from "./to-csv.js";
import { writeParquet } from "./parquet.js";
import { writeIpc } from "./arrow-ipc.js";

/**
 * Rebuilds a dataframe so that it produces at least `columns` (and may drop the others): how column
 * projection reaches the readers. A reader rebuilds itself reading only those columns; a verb asks its
 * input for what it needs and applies itself again.
 */
export type Projector = (columns: readonly string[]) => DataFrame;

/**
 * A lazy dataframe split into partitions, each an Apache Arrow table, like a `dask.dataframe`: every
 * verb adds tasks to a graph and returns a new dataframe; nothing runs until it is computed.
 * `client.compute(df)` returns one Arrow `Table` (the partitions in order); `client.persist(df)` keeps
 * the partitions in the scheduler's memory for later graphs.
 *
 * Make one with `fromArrow`, `fromRecords`, `readCsv`, `readParquet` or `readIpc`.
 *
 * @example
 * ```ts
 * const df = fromRecords(rows, { npartitions: 4 });
 * const means = df.filter(col("v").gt(0)).groupBy("k").agg({ v: "mean" });
 * const [table] = await client.compute(means);
 * ```
 */
export class DataFrame implements Collection<Table> {
  /** @internal Use the sources (`fromArrow`, `readCsv`, ...) and verbs. */
  constructor(
    /** The layer name; partition `i` is the result under key `${name}-${i}`. */
    readonly name: string,
    /** Number of partitions. */
    readonly npartitions: number,
    /** Column names and kinds, known before anything runs. */
    readonly schema: readonly ColumnSchema[],
    /** @internal Every task needed for the partitions. */
    readonly graph: ReadonlyGraph,
    /** @internal How to rebuild this frame for fewer columns; none when it cannot do better than selecting. */
    readonly projector?: Projector,
    /** The column the frame is sorted and partitioned by (see `setIndex`), if any. */
    readonly index?: string,
  ) {}

  /** Column names, in order. */
  get columns(): string[] {
    return this.schema.map((c) => c.name);
  }

  /** The keys of the partitions, in order. */
  partitionKeys(): Key[] {
    return Array.from({ length: this.npartitions }, (_, i) => partitionKey(this.name, i));
  }

  get [COLLECTION](): CollectionProtocol<Table> {
    return {
      graph: () => this.graph,
      keys: () => this.partitionKeys(),
      finalize: (values) => concatTables(values as Table[]),
      held: () => new DataFrame(this.name, this.npartitions, this.schema, new Map(), undefined, this.index),
    };
  }

  /** Partition `i` alone, as a one-partition frame (Dask's `df.partitions[i]`). */
  partition(i: number): DataFrame {
    if (!Number.isInteger(i) || i < 0 || i >= this.npartitions) throw new RangeError(`partition(${i}): the frame has partitions 0 to ${this.npartitions - 1}`);
    const name = layerName("partition", this.name, i);
    const graph = extend(this.graph);
    addTask(graph, partitionKey(name, 0), IDENTITY, [ref(partitionKey(this.name, i))]);
    return new DataFrame(name, 1, this.schema, graph, undefined, this.index);
  }

  /** @internal This frame rebuilt to produce at least `columns` (see {@link Projector}). */
  project(columns: readonly string[]): DataFrame {
    return this.projector === undefined ? this : this.projector(columns);
  }

  /** Only the columns `names`, in that order. Readers below read only these. */
  select(names: readonly string[]): DataFrame {
    return select(this, names);
  }

  /** The rows where `predicate` is true (null counts as false). */
  filter(predicate: Expression): DataFrame {
    return filter(this, predicate);
  }

  /** Adds (or replaces) columns computed from expressions, in the order given. */
  assign(columns: Readonly<Record<string, Expression>>): DataFrame {
    return assign(this, columns);
  }

  /** Calls a registered task function on each partition (see {@link MapPartitionsOptions}). */
  mapPartitions(fn: TaskFunction<[Table, ...never[]], Table>, options: MapPartitionsOptions = {}): DataFrame {
    return mapPartitions(this, fn, options);
  }

  /** The first `n` rows (default 5), from the first partitions (default: the first one only, as in Dask). */
  head(n = 5, options: HeadOptions = {}): DataFrame {
    return head(this, n, options);
  }

  /** The number of rows. */
  length(): Scalar<number> {
    return length(this);
  }

  /** Groups rows by the values of `keys`, for `agg`. */
  groupBy(keys: string | readonly string[]): GroupBy {
    return new GroupBy(this, typeof keys === "string" ? [keys] : keys);
  }

  /** A database-style join with `other` on columns of the same name (see {@link MergeOptions}). */
  merge(other: DataFrame, options: MergeOptions): DataFrame {
    return merge(this, other, options);
  }

  /** `merge` with `how: "left"` by default, as pandas' `join`. */
  join(other: DataFrame, options: MergeOptions): DataFrame {
    return merge(this, other, { how: "left", ...options });
  }

  /** Sorted by `by` (nulls last), range-partitioned at sampled quantiles of the first sort column. */
  sortValues(by: string | readonly string[], options: SortOptions = {}): DataFrame {
    return sortValues(this, typeof by === "string" ? [by] : by, options);
  }

  /** Sorted and partitioned by `column`, which becomes the frame's {@link index}. */
  setIndex(column: string, options: SortOptions = {}): DataFrame {
    return setIndex(this, column, options);
  }

  /** How often each non-null value of `column` occurs: columns `column` and `count`, most frequent first. */
  valueCounts(column: string): DataFrame {
    return valueCounts(this, column);
  }

  /** Summary statistics of the numeric columns: count, mean, std, min, 25%, 50%, 75%, max. */
  describe(): DataFrame {
    return describeFrame(this);
  }

  /** Rows with distinct values in `subset` (default: all columns), keeping the first of each. */
  dropDuplicates(options: DropDuplicatesOptions = {}): DataFrame {
    return dropDuplicates(this, options);
  }

  /** The number of distinct non-null values of `column`. */
  nunique(column: string): Scalar<number> {
    return nunique(this, column);
  }

  /** Writes each partition to a CSV file; computing gives the paths written. */
  toCsv(pathPattern: string, options: ToCsvOptions = {}): Scalar<string[]> {
    return writeCsv(this, pathPattern, options);
  }

  /** Writes each partition to a Parquet file; computing gives the paths written. */
  toParquet(pathPattern: string): Scalar<string[]> {
    return writeParquet(this, pathPattern);
  }

  /** Writes each partition to an Arrow IPC file; computing gives the paths written. */
  toIpc(pathPattern: string): Scalar<string[]> {
    return writeIpc(this, pathPattern);
  }

  /** Computes the frame on the default client (see `configure`) into one table. */
  async compute(): Promise<Table> {
    const { compute } = await import("../default-client.js");
    const [table] = await compute(this);
    return table as Table;
  }
}

/** The schema entry of `name`, or a RangeError naming it and the columns there are. */
export function columnOf(frame: DataFrame, name: string, role = "column"): ColumnSchema {
  const column = frame.schema.find((c) => c.name === name);
  if (column === undefined) throw new RangeError(`no ${role} "${name}"; columns: ${frame.columns.join(", ")}`);
  return column;
}
