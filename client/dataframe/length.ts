import type { DataFrame } from "./dataframe.js";
import { addTask, extend, layerName, partitionKey, ref } from "./frame-graph.js";
import { NUM_ROWS, SUM_COUNTS } from "../../kernels/dataframe/partition-kernels.js";
import { Scalar } from "./scalar.js";

/** `df.length()`: the number of rows, as a lazy scalar; reads no column it does not have to. */
export function length(frame: DataFrame): Scalar<number> {
  // One column is enough to count rows; the readers below read only it.
  const input = frame.columns.length > 0 ? frame.project([frame.columns[0]]) : frame;
  const name = layerName("length", input.name);
  const graph = extend(input.graph);
  const counts = input.partitionKeys().map((key, i) => addTask(graph, partitionKey(`${name}-rows`, i), NUM_ROWS, [ref(key)]));
  return new Scalar<number>(addTask(graph, name, SUM_COUNTS, [counts.map(ref)]), graph);
}
