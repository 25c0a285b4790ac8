import type { Table } from "apache-arrow";
import { IDENTITY } from "../../protocol/builtin-task-names.js";
import { collectGraph, isDelayed, type Delayed } from "../delayed.js";
import { COLUMN_KINDS, type ColumnKind } from "../../kernels/dataframe/column.js";
import { DataFrame } from "./dataframe.js";
import { addTask, layerName, partitionKey, ref } from "./frame-graph.js";

/**
 * A dataframe whose partitions are the results of delayed values (each an Arrow `Table`), as Dask's
 * `from_delayed`: the way to build partitions with your own task functions (generated data, a custom
 * reader). `meta` declares the columns the tables have.
 *
 * @example
 * ```ts
 * const makePart = task("makePart", (i: number) => tableFromArrays({ k: Int32Array.of(i), v: Float64Array.of(i / 2) }));
 * const df = fromDelayed([0, 1, 2].map((i) => delayed(makePart)(i)), { meta: { k: "int", v: "float" } });
 * ```
 */
export function fromDelayed(parts: readonly Delayed<Table>[], options: { readonly meta: Readonly<Record<string, ColumnKind>> }): DataFrame {
  if (!Array.isArray(parts) || parts.length === 0 || !parts.every(isDelayed)) throw new TypeError("fromDelayed() needs a non-empty array of delayed values");
  if (options?.meta === undefined) throw new TypeError("fromDelayed() needs options.meta, the columns as { name: kind }");
  const schema = Object.entries(options.meta).map(([name, kind]) => {
    if (!COLUMN_KINDS.includes(kind)) throw new TypeError(`fromDelayed(): meta column "${name}" has unknown kind "${String(kind)}"; use ${COLUMN_KINDS.join(", ")}`);
    return { name, kind };
  });
  const name = layerName("from-delayed", parts.map((p) => p.key));
  const graph = collectGraph([...parts]);
  parts.forEach((part, i) => addTask(graph, partitionKey(name, i), IDENTITY, [ref(part.key)]));
  return new DataFrame(name, parts.length, schema, graph);
}
