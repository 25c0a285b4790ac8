import { blockwise, unionInFrameOrder } from "./blockwise.js";
import type { DataFrame } from "./dataframe.js";
import { columnsOf, describe, Expression, kindOf } from "./expression.js";
import { FILTER } from "../../kernels/dataframe/partition-kernels.js";

/**
 * `df.filter(predicate)`: the rows where a boolean expression is true. The predicate is checked
 * against the columns now; asked for fewer columns, the filter asks its input for those plus the
 * ones the predicate reads.
 */
export function filter(frame: DataFrame, predicate: Expression): DataFrame {
  if (!(predicate instanceof Expression)) throw new TypeError("filter() needs an expression, such as col(\"x\").gt(0)");
  const kind = kindOf(predicate.node, frame.schema);
  if (kind !== "bool" && kind !== null) throw new TypeError(`filter() needs a boolean expression; ${describe(predicate.node)} is a ${kind}`);
  const reads = columnsOf(predicate.node);
  return blockwise(frame, "filter", FILTER, [predicate.node], frame.schema, (wanted) =>
    filter(frame.project(unionInFrameOrder(frame, wanted, reads)), predicate),
  );
}
