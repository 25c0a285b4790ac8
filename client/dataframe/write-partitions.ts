import { IDENTITY } from "../../protocol/builtin-task-names.js";
import type { DataFrame } from "./dataframe.js";
import { addTask, extend, layerName, ref } from "./frame-graph.js";
import { Scalar } from "./scalar.js";

/**
 * The paths a writer writes: `pattern` with its `*` replaced by the partition number (as Dask's
 * `to_csv("out-*.csv")`). A pattern without `*` is a RangeError, since every partition needs a file.
 */
export function partitionPaths(pattern: string, npartitions: number, writer: string): string[] {
  if (typeof pattern !== "string" || (pattern.match(/\*/g) ?? []).length !== 1) {
    throw new RangeError(`${writer}(): the path pattern needs exactly one "*" for the partition number, got ${JSON.stringify(pattern)}`);
  }
  const width = String(npartitions - 1).length;
  return Array.from({ length: npartitions }, (_, i) => pattern.replace("*", String(i).padStart(width, "0")));
}

/** A task per partition calling writer `fn(partition, path, ...args)`, gathered into the list of paths. */
export function writePartitions(frame: DataFrame, label: string, fn: string, pattern: string, args: readonly unknown[]): Scalar<string[]> {
  const paths = partitionPaths(pattern, frame.npartitions, label);
  const name = layerName(label, frame.name, paths, args);
  const graph = extend(frame.graph);
  const written = frame.partitionKeys().map((key, i) => ref(addTask(graph, `${name}-${i}`, fn, [ref(key), paths[i], ...args])));
  return new Scalar<string[]>(addTask(graph, name, IDENTITY, [written]), graph);
}
