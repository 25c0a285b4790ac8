
import { columnOf, DataFrame } from "./dataframe.js";
import { SORT_PARTITION } from "../../kernels/dataframe/sort-kernel.js";
import { addTask, extend, layerName, partitionKey, ref } from "./frame-graph.js";

/**
 * `df.valueCounts(column)`: how often each non-null value occurs, as a one-partition frame with
 * columns `column` and `count`, most frequent first (ties by value). A group-by count underneath,
 * so it is a tree reduction over the partitions, reading only `column`.
 */
export function valueCounts(frame: DataFrame, column: string): DataFrame {
  const { kind } = columnOf(frame, column);
  if (column === "count") throw new RangeError('valueCounts(): the counted column may not itself be named "count"');
  const counted = frame.groupBy(column).aggregate([{ column, agg: "count", output: "count", kind }]);
  const name = layerName("value-counts", counted.name);
  const graph = extend(counted.graph);
  addTask(graph, partitionKey(name, 0), SORT_PARTITION, [[ref(partitionKey(counted.name, 0))], ["count", column], [false, true]]);
  return new DataFrame(name, 1, counted.schema, graph);
}
