import type { Table } from "apache-arrow";
import { registerTask } from "../../protocol/task-registry.js";
import { concatColumns, lengthOf, readColumn, takeColumn, type Column } from "./column.js";
import { groupRows } from "./hash-keys.js";
import { takeRows } from "./partition-kernels.js";

/** Kernels keeping distinct values: of a column (for `nunique`) and of rows (for `dropDuplicates`). */

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

export const DROP_DUPLICATES = "weft.df.dropDuplicates";

/** The first row of each distinct `subset` key of a partition (nulls equal nulls), in their order. */
export function dropDuplicateRows(table: Table, subset: readonly string[]): Table {
  const { firstRow, ngroups } = groupRows(
    subset.map((name) => readColumn(table, name)),
    false,
  );
  return ngroups === table.numRows ? table : takeRows(table, firstRow);
}

registerTask(DROP_DUPLICATES, dropDuplicateRows, import.meta.url);

