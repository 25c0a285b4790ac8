import { columnOf, type DataFrame } from "./dataframe.js";
import { addTask, extend, layerName, ref, treeReduce } from "./frame-graph.js";
import { DISTINCT_COMBINE, DISTINCT_COUNT, DISTINCT_PARTIAL } from "../../kernels/dataframe/distinct-kernel.js";
import { Scalar } from "./scalar.js";

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
