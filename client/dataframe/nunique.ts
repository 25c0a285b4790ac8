import type { Table } from "apache-arrow";
import { registerTask } from "../../worker/task-registry.js";
import { concatColumns, lengthOf, readColumn, takeColumn, type Column } from "./column.js";
import { columnOf, type DataFrame } from "./dataframe.js";
import { addTask, extend, layerName, ref, treeReduce } from "./frame-graph.js";
import { groupRows } from "./hash-keys.js";
import { Scalar } from "./scalar.js";

/** The distinct non-null values of a column, in order of first appearance. */
export function distinctValues(column: Column): Column {
  return takeColumn(column, groupRows([column], true).firstRow);
}

export const DISTINCT_PARTIAL = "weft.df.distinctPartial";
export const DISTINCT_COMBINE = "weft.df.distinctCombine";
export const DISTINCT_COUNT = "weft.df.distinctCount";

const here = import.meta.url;
registerTask(DISTINCT_PARTIAL, (table: Table, column: string) => distinctValues(readColumn(table, column)), here);
registerTask(DISTINCT_COMBINE, (parts: readonly Column[]) => distinctValues(concatColumns(parts, parts[0].kind)), here);
registerTask(DISTINCT_COUNT, (column: Column) => lengthOf(column), here);

/**
 * `df.nunique(column)`: the number of distinct non-null values, as a lazy scalar: distinct values per
 * partition, merged in a tree, counted at the root. Reads only `column`.
 */
export function nunique(frame: DataFrame, column: string): Scalar<number> {
  columnOf(frame, column);
  const input = frame.project([column]);
  const name = layerName("nunique", input.name, column);
  const graph = extend(input.graph);
  const partials = input.partitionKeys().map((key, i) => addTask(graph, `${name}-partial-${i}`, DISTINCT_PARTIAL, [ref(key), column]));
  const root = treeReduce(graph, name, partials, { fn: DISTINCT_COMBINE, args: [] }, { fn: DISTINCT_COUNT, args: [], key: name });
  return new Scalar<number>(root, graph);
}
