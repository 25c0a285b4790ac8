import { GETITEM } from "../../protocol/builtin-task-names.js";
import { DataFrame } from "./dataframe.js";
import { addTask, extend, layerName, partitionKey, ref } from "./frame-graph.js";
import { CONCAT } from "../../kernels/dataframe/partition-kernels.js";
import { HASH_SPLIT } from "../../kernels/dataframe/shuffle-kernel.js";

/**
 * The task-based hash shuffle (as Dask's `shuffle="tasks"`): each input partition is split by a hash
 * of its key columns into one piece per output partition, and each output partition concatenates its
 * pieces, in input order. Rows with equal keys end up in the same output partition, whichever input
 * they came from.
 */

/** `frame` hash-partitioned on `keys` into `nparts` partitions. */
export function shuffle(frame: DataFrame, keys: readonly string[], nparts: number): DataFrame {
  const name = layerName("shuffle", frame.name, keys, nparts);
  const graph = extend(frame.graph);
  const splits = frame.partitionKeys().map((key, i) => addTask(graph, `${name}-split-${i}`, HASH_SPLIT, [ref(key), keys, nparts]));
  for (let j = 0; j < nparts; j++) {
    const pieces = splits.map((key, i) => ref(addTask(graph, `${name}-piece-${i}-${j}`, GETITEM, [ref(key), j])));
    addTask(graph, partitionKey(name, j), CONCAT, [pieces]);
  }
  return new DataFrame(name, nparts, frame.schema, graph);
}
