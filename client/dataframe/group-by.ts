import { isPlainObject } from "../../graph/task-spec.js";
import { GETITEM } from "../../protocol/builtin-task-names.js";
import { AGG_NAMES, GROUP_COMBINE, GROUP_FINALIZE, GROUP_PARTIAL, GROUP_SPLIT, outputKind, type AggName, type AggSpec } from "../../kernels/dataframe/aggregate-kernel.js";
import { checkColumns, unionInFrameOrder } from "./blockwise.js";
import type { ColumnKind, ColumnSchema } from "../../kernels/dataframe/column.js";
import { columnOf, DataFrame } from "./dataframe.js";
import { addTask, DEFAULT_SPLIT_EVERY, extend, layerName, partitionKey, ref, treeReduce } from "./frame-graph.js";

export type { AggName } from "../../kernels/dataframe/aggregate-kernel.js";

/** What to compute per column: one aggregation (the output keeps the column's name) or several (`${column}_${agg}`). */
export type AggRequest = Readonly<Record<string, AggName | readonly AggName[]>>;

/** Options of `groupBy().agg()`. */
export interface AggOptions {
  /**
   * Output partitions. Default 1: partials are tree-reduced into one table. More: partials are split
   * by a hash of the key and each part reduced apart, for results with many groups (Dask's `split_out`).
   */
  readonly splitOut?: number;
  /** Partials each combine task reads. Default 8. */
  readonly splitEvery?: number;
}

/** What aggregations accept, by input kind. */
const NUMERIC_ONLY = new Set<AggName>(["sum", "mean", "std", "var"]);
const NUMERIC_KINDS = new Set<ColumnKind>(["int", "float", "bool"]);

/**
 * Rows grouped by key columns, waiting for `agg`. Rows with a null in a key column belong to no group
 * (pandas' `dropna=True`). Output rows are sorted by key within each output partition.
 *
 * @example
 * ```ts
 * df.groupBy("k").agg({ v: "mean" });                    // columns k, v
 * df.groupBy(["a", "b"]).agg({ v: ["sum", "std"], w: "nunique" }, { splitOut: 4 });
 * ```
 */
export class GroupBy {
  readonly keys: readonly string[];

  /** @internal Use `df.groupBy(keys)`. */
  constructor(
    readonly frame: DataFrame,
    keys: readonly string[],
  ) {
    this.keys = checkColumns(frame, keys, "group key");
    if (this.keys.length === 0) throw new RangeError("groupBy() needs at least one key column");
  }

  /** Aggregates each group: sum, mean, count, min, max, std, var (sample, ddof 1), first, last, nunique. */
  agg(request: AggRequest, options: AggOptions = {}): DataFrame {
    return this.aggregate(this.checkRequest(request), options);
  }

  /** @internal `agg` with already checked specs (output names chosen by the caller). */
  aggregate(specs: readonly AggSpec[], options: AggOptions = {}): DataFrame {
    const splitOut = options.splitOut ?? 1;
    const splitEvery = options.splitEvery ?? DEFAULT_SPLIT_EVERY;
    if (!Number.isInteger(splitOut) || splitOut < 1) throw new RangeError(`agg(): splitOut must be a whole number >= 1, got ${splitOut}`);
    if (!Number.isInteger(splitEvery) || splitEvery < 2) throw new RangeError(`agg(): splitEvery must be a whole number >= 2, got ${splitEvery}`);
    const input = this.frame.project(unionInFrameOrder(this.frame, this.keys, specs.map((s) => s.column)));
    const name = layerName("groupby-agg", input.name, this.keys, specs, splitOut, splitEvery);
    const graph = extend(input.graph);
    const partials = input
      .partitionKeys()
      .map((key, i) => addTask(graph, `${name}-partial-${i}`, GROUP_PARTIAL, [ref(key), this.keys, specs]));
    const combine = { fn: GROUP_COMBINE, args: [specs] };
    const finish = (j: number) => ({ fn: GROUP_FINALIZE, args: [this.keys, specs], key: partitionKey(name, j) });
    if (splitOut === 1) {
      treeReduce(graph, name, partials, combine, finish(0), splitEvery);
    } else {
      const splits = partials.map((key, i) => addTask(graph, `${name}-split-${i}`, GROUP_SPLIT, [ref(key), specs, splitOut]));
      for (let j = 0; j < splitOut; j++) {
        const pieces = splits.map((key, i) => addTask(graph, `${name}-piece-${i}-${j}`, GETITEM, [ref(key), j]));
        treeReduce(graph, `${name}-part-${j}`, pieces, combine, finish(j), splitEvery);
      }
    }
    const schema: ColumnSchema[] = [
      ...this.keys.map((key) => columnOf(input, key)),
      ...specs.map((s) => ({ name: s.output, kind: outputKind(s.agg, s.kind) })),
    ];
    return new DataFrame(name, splitOut, schema, graph);
  }

  private checkRequest(request: AggRequest): AggSpec[] {
    if (!isPlainObject(request) || Object.keys(request).length === 0) {
      throw new TypeError('agg() needs an object of { column: aggregation }, such as { v: "mean" }');
    }
    const specs: AggSpec[] = [];
    for (const [column, asked] of Object.entries(request)) {
      const { kind } = columnOf(this.frame, column);
      const many = Array.isArray(asked);
      const aggs = (many ? asked : [asked]) as AggName[];
      if (aggs.length === 0) throw new RangeError(`agg(): column "${column}" lists no aggregation`);
      for (const agg of aggs) {
        if (!AGG_NAMES.includes(agg)) throw new RangeError(`agg(): unknown aggregation "${String(agg)}" for column "${column}"; use ${AGG_NAMES.join(", ")}`);
        if (NUMERIC_ONLY.has(agg) && !NUMERIC_KINDS.has(kind)) throw new TypeError(`agg(): cannot take the ${agg} of column "${column}", a ${kind} column`);
        const output = many ? `${column}_${agg}` : column;
        if (this.keys.includes(output)) throw new RangeError(`agg(): output column "${output}" would repeat a group key; aggregate it with a list, such as { ${column}: ["${agg}"] }`);
        specs.push({ column, agg, output, kind });
      }
    }
    return specs;
  }
}
