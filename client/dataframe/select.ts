import { blockwise, checkColumns } from "./blockwise.js";
import type { DataFrame } from "./dataframe.js";
import { SELECT } from "../../kernels/dataframe/partition-kernels.js";

/**
 * `df.select(names)`: only the columns `names`, in that order. The projection is pushed down: the
 * input is first rebuilt to produce only these columns (so a reader reads only them), and a select
 * task is added only when the order or set still differs.
 */
export function select(frame: DataFrame, names: readonly string[]): DataFrame {
  const columns = checkColumns(frame, names);
  const input = frame.project(columns);
  const same = input.columns.length === columns.length && input.columns.every((name, i) => name === columns[i]);
  if (same) return input;
  const schema = columns.map((name) => input.schema.find((c) => c.name === name)!);
  return blockwise(input, "select", SELECT, [columns], schema, (wanted) => select(input, wanted));
}
