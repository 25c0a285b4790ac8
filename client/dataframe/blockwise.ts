import type { ColumnSchema } from "../../kernels/dataframe/column.js";
import { DataFrame, type Projector } from "./dataframe.js";
import { addTask, extend, layerName, partitionKey, ref } from "./frame-graph.js";

/**
 * A new frame with one task per partition of `input`: `fn(partition, ...args)`. The layer's name is
 * derived from the input, the function and the arguments.
 */
export function blockwise(
  input: DataFrame,
  label: string,
  fn: string,
  args: readonly unknown[],
  schema: readonly ColumnSchema[],
  projector?: Projector,
): DataFrame {
  const name = layerName(label, input.name, fn, args);
  const graph = extend(input.graph);
  for (let i = 0; i < input.npartitions; i++) addTask(graph, partitionKey(name, i), fn, [ref(partitionKey(input.name, i)), ...args]);
  return new DataFrame(name, input.npartitions, schema, graph, projector, input.index);
}

/** `columns` in a fixed order with no repeats, checked against `frame`: a RangeError names what is missing. */
export function checkColumns(frame: DataFrame, columns: readonly string[], role = "column"): string[] {
  if (!Array.isArray(columns)) throw new TypeError(`expected an array of ${role} names, got ${typeof columns}`);
  const known = new Set(frame.columns);
  const seen = new Set<string>();
  for (const name of columns) {
    if (typeof name !== "string") throw new TypeError(`${role} names must be strings, got ${typeof name}`);
    if (!known.has(name)) throw new RangeError(`no ${role} "${name}"; columns: ${frame.columns.join(", ")}`);
    if (seen.has(name)) throw new RangeError(`${role} "${name}" is listed twice`);
    seen.add(name);
  }
  return [...columns];
}

/** The union of column lists, in the order of `frame`'s columns. */
export function unionInFrameOrder(frame: DataFrame, ...lists: Iterable<string>[]): string[] {
  const wanted = new Set<string>();
  for (const list of lists) for (const name of list) wanted.add(name);
  return frame.columns.filter((name) => wanted.has(name));
}
