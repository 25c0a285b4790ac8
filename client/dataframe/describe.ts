import { DataFrame } from "./dataframe.js";
import { DESCRIBE_COMBINE, DESCRIBE_FINAL, DESCRIBE_PARTIAL } from "../../kernels/dataframe/describe-kernel.js";
import { addTask, extend, layerName, partitionKey, ref, treeReduce } from "./frame-graph.js";

/**
 * `df.describe()`: count, mean, std, min, quartiles and max of every int and float column, as a
 * one-partition frame with a `stat` column naming each row (as pandas). Moments combine exactly
 * (Chan's parallel variance); quartiles are exact (linear interpolation, as pandas) while the frame
 * holds at most `EXACT_VALUES` values per column, and come from a weighted sample of evenly
 * spaced order statistics beyond that, like Dask's approximate percentiles.
 */

/** `df.describe()`, reading only the numeric columns. */
export function describeFrame(frame: DataFrame): DataFrame {
  const numeric = frame.schema.filter((c) => c.kind === "int" || c.kind === "float").map((c) => c.name);
  if (numeric.length === 0) throw new TypeError(`describe() needs an int or float column; columns: ${frame.schema.map((c) => `${c.name} (${c.kind})`).join(", ")}`);
  if (numeric.includes("stat")) throw new RangeError('describe(): a numeric column named "stat" would clash with the row labels');
  const input = frame.project(numeric);
  const name = layerName("describe", input.name, numeric);
  const graph = extend(input.graph);
  const partials = input.partitionKeys().map((key, i) => addTask(graph, `${name}-partial-${i}`, DESCRIBE_PARTIAL, [ref(key), numeric]));
  treeReduce(graph, name, partials, { fn: DESCRIBE_COMBINE, args: [] }, { fn: DESCRIBE_FINAL, args: [numeric], key: partitionKey(name, 0) });
  return new DataFrame(name, 1, [{ name: "stat", kind: "string" }, ...numeric.map((n) => ({ name: n, kind: "float" as const }))], graph);
}
