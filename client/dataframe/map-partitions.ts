import { isTaskFunction, type TaskFunction } from "../task.js";
import { blockwise } from "./blockwise.js";
import { COLUMN_KINDS, type ColumnKind, type ColumnSchema } from "../../kernels/dataframe/column.js";
import type { DataFrame } from "./dataframe.js";

/** Options of `df.mapPartitions`. */
export interface MapPartitionsOptions {
  /**
   * The columns the function returns, as `{ name: kind }` in order. Default: the input's columns
   * (the function keeps the schema). Declare it when the function changes the columns.
   */
  readonly meta?: Readonly<Record<string, ColumnKind>>;
  /** Further arguments passed after the partition; they must be serializable. Default none. */
  readonly args?: readonly unknown[];
}

/**
 * `df.mapPartitions(fn)`: calls a registered task function (see `task()`) on each partition, as an
 * Arrow `Table`, and takes the `Table` it returns as the new partition. Functions are referenced by
 * name, so they run on any worker that imports their module.
 *
 * @example
 * ```ts
 * export const withTotals = task("withTotals", (part: Table) => ...);
 * df.mapPartitions(withTotals, { meta: { k: "int", total: "float" } });
 * ```
 */
export function mapPartitions(frame: DataFrame, fn: TaskFunction<[never, ...never[]], unknown>, options: MapPartitionsOptions): DataFrame {
  if (!isTaskFunction(fn)) throw new TypeError("mapPartitions() needs a function registered with task(), so workers can find it by name");
  const args = options.args ?? [];
  if (!Array.isArray(args)) throw new TypeError("mapPartitions(): options.args must be an array");
  let schema: readonly ColumnSchema[] = frame.schema;
  if (options.meta !== undefined) {
    schema = Object.entries(options.meta).map(([name, kind]) => {
      if (!COLUMN_KINDS.includes(kind)) throw new TypeError(`mapPartitions(): meta column "${name}" has unknown kind "${String(kind)}"; use ${COLUMN_KINDS.join(", ")}`);
      return { name, kind };
    });
  }
  return blockwise(frame, `map-${fn.taskName}`, fn.taskName, args, schema);
}
