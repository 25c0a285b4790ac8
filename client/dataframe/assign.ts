import { isPlainObject } from "../../graph/task-spec.js";
import { blockwise, unionInFrameOrder } from "./blockwise.js";
import type { ColumnSchema } from "../../kernels/dataframe/column.js";
import type { DataFrame } from "./dataframe.js";
import { columnsOf, Expression, kindOf } from "./expression.js";
import { ASSIGN } from "../../kernels/dataframe/partition-kernels.js";

/**
 * `df.assign({ name: expression, ... })`: columns computed from expressions, added at the end or
 * replacing a column of the same name in place. Each expression sees the input's columns.
 */
export function assign(frame: DataFrame, columns: Readonly<Record<string, Expression>>): DataFrame {
  if (!isPlainObject(columns)) throw new TypeError("assign() needs an object of { name: expression }");
  const names = Object.keys(columns);
  if (names.length === 0) return frame;
  const nodes = names.map((name) => {
    const expression = columns[name];
    if (!(expression instanceof Expression)) throw new TypeError(`assign(): column "${name}" must be an expression, such as col("x").mul(2)`);
    return expression.node;
  });
  const kinds = nodes.map((node) => kindOf(node, frame.schema) ?? "float");
  const schema: ColumnSchema[] = frame.schema.map((c) => {
    const at = names.indexOf(c.name);
    return at < 0 ? c : { name: c.name, kind: kinds[at] };
  });
  names.forEach((name, i) => {
    if (!frame.columns.includes(name)) schema.push({ name, kind: kinds[i] });
  });
  // Asked for fewer columns, compute only the assigned ones asked for, from only the columns they read.
  // (A projector returns a frame with at least the columns asked for; `select` trims the rest.)
  return blockwise(frame, "assign", ASSIGN, [names, nodes], schema, (wanted) => {
    const needed = names.filter((name) => wanted.includes(name));
    const reads = new Set<string>();
    for (const name of needed) columnsOf(columns[name].node, reads);
    const keep = wanted.filter((name) => !names.includes(name));
    const input = frame.project(unionInFrameOrder(frame, keep, reads));
    return assign(input, Object.fromEntries(needed.map((name) => [name, columns[name]])));
  });
}
