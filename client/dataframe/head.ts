import { DataFrame } from "./dataframe.js";
import { addTask, extend, layerName, partitionKey, ref } from "./frame-graph.js";
import { HEAD } from "../../kernels/dataframe/partition-kernels.js";

/** Options of `df.head`. */
export interface HeadOptions {
  /** How many leading partitions to take rows from. Default 1 (as Dask); -1 for all. */
  readonly npartitions?: number;
}

/** `df.head(n)`: a one-partition frame of the first `n` rows of the first partitions. */
export function head(frame: DataFrame, n: number, options: HeadOptions): DataFrame {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`head(n): n must be a whole number >= 0, got ${n}`);
  const requested = options.npartitions ?? 1;
  if (!Number.isInteger(requested) || (requested < 1 && requested !== -1)) {
    throw new RangeError(`head(): npartitions must be a whole number >= 1 or -1 (all), got ${requested}`);
  }
  const take = requested === -1 ? frame.npartitions : Math.min(requested, frame.npartitions);
  const name = layerName("head", frame.name, n, take);
  const graph = extend(frame.graph);
  const inputs = Array.from({ length: take }, (_, i) => ref(partitionKey(frame.name, i)));
  addTask(graph, partitionKey(name, 0), HEAD, [inputs, n]);
  return new DataFrame(name, 1, frame.schema, graph, (wanted) => head(frame.project(wanted), n, options), frame.index);
}
