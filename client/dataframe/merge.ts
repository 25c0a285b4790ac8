import { checkColumns } from "./blockwise.js";
import type { ColumnSchema } from "../../kernels/dataframe/column.js";
import { columnOf, DataFrame } from "./dataframe.js";
import { addTask, extend, layerName, partitionKey, ref } from "./frame-graph.js";
import { JOIN, type JoinHow, type JoinPlan } from "../../kernels/dataframe/join-kernel.js";
import { CONCAT } from "../../kernels/dataframe/partition-kernels.js";
import { shuffle } from "./shuffle.js";

export type { JoinHow } from "../../kernels/dataframe/join-kernel.js";

/** Options of `df.merge` and `df.join`. */
export interface MergeOptions {
  /** Key columns, present in both frames with the same kind. */
  readonly on: string | readonly string[];
  /** Which unmatched rows to keep. Default `"inner"` (`"left"` for `join`). */
  readonly how?: JoinHow;
  /** Appended to non-key column names both sides have. Default `["_x", "_y"]`, as pandas. */
  readonly suffixes?: readonly [string, string];
  /**
   * Whether to send the whole small side to every partition of the other instead of shuffling both.
   * Default: when one side has a single partition and the join keeps no unmatched rows of it (the
   * right side of an inner or left join, the left side of an inner or right join). `true` also
   * broadcasts a small side of several partitions (concatenated first); `false` always shuffles.
   */
  readonly broadcast?: boolean;
  /** Partitions of a shuffled join. Default: the larger side's. */
  readonly npartitions?: number;
}

const HOWS: readonly JoinHow[] = ["inner", "left", "right", "outer"];

/**
 * `left.merge(right, { on, how })`: a database-style join on equal keys. Small sides are broadcast,
 * otherwise both sides are hash-shuffled on the keys into the same partitions and joined pairwise.
 */
export function merge(left: DataFrame, right: DataFrame, options: MergeOptions): DataFrame {
  if (!(right instanceof DataFrame)) throw new TypeError("merge() needs another DataFrame");
  if (options === undefined || options.on === undefined) throw new TypeError("merge() needs options.on, the key column(s)");
  const on = typeof options.on === "string" ? [options.on] : [...options.on];
  if (on.length === 0) throw new RangeError("merge(): on lists no key column");
  checkColumns(left, on, "left key column");
  checkColumns(right, on, "right key column");
  for (const key of on) {
    const l = columnOf(left, key).kind;
    const r = columnOf(right, key).kind;
    if (l !== r) throw new TypeError(`merge(): key column "${key}" is ${l} on the left and ${r} on the right`);
  }
  const how = options.how ?? "inner";
  if (!HOWS.includes(how)) throw new RangeError(`merge(): how must be one of ${HOWS.join(", ")}, got "${String(how)}"`);
  const [sx, sy] = options.suffixes ?? ["_x", "_y"];
  const leftRest = left.schema.filter((c) => !on.includes(c.name));
  const rightRest = right.schema.filter((c) => !on.includes(c.name));
  const clash = (name: string, others: readonly ColumnSchema[]) => others.some((c) => c.name === name);
  const plan: JoinPlan = {
    on,
    how,
    left: leftRest.map((c) => [c.name, clash(c.name, rightRest) ? c.name + sx : c.name] as const),
    right: rightRest.map((c) => [c.name, clash(c.name, leftRest) ? c.name + sy : c.name] as const),
  };
  const schema: ColumnSchema[] = [
    ...on.map((key) => columnOf(left, key)),
    ...leftRest.map((c, i) => ({ name: plan.left[i][1], kind: c.kind })),
    ...rightRest.map((c, i) => ({ name: plan.right[i][1], kind: c.kind })),
  ];
  const outputNames = schema.map((c) => c.name);
  const repeated = outputNames.find((name, i) => outputNames.indexOf(name) !== i);
  if (repeated !== undefined) throw new RangeError(`merge(): output column "${repeated}" would appear twice; pick other suffixes`);

  // A side can be broadcast when the join keeps none of its unmatched rows (each partition of the
  // other side would otherwise emit them again).
  const canBroadcastRight = how === "inner" || how === "left";
  const canBroadcastLeft = how === "inner" || how === "right";
  if (options.broadcast === true) {
    if (!canBroadcastRight && !canBroadcastLeft) throw new RangeError("merge(): an outer join keeps unmatched rows of both sides, so neither can be broadcast");
    const smallIsRight = canBroadcastRight && (!canBroadcastLeft || right.npartitions <= left.npartitions);
    return broadcastJoin(left, right, plan, schema, smallIsRight ? "right" : "left");
  }
  if (options.broadcast === undefined) {
    if (canBroadcastRight && right.npartitions === 1) return broadcastJoin(left, right, plan, schema, "right");
    if (canBroadcastLeft && left.npartitions === 1) return broadcastJoin(left, right, plan, schema, "left");
  }
  const nparts = options.npartitions ?? Math.max(left.npartitions, right.npartitions);
  if (!Number.isInteger(nparts) || nparts < 1) throw new RangeError(`merge(): npartitions must be a whole number >= 1, got ${nparts}`);
  const l = shuffle(left, on, nparts);
  const r = shuffle(right, on, nparts);
  const name = layerName("merge", l.name, r.name, plan);
  const graph = extend(l.graph, r.graph);
  for (let i = 0; i < nparts; i++) addTask(graph, partitionKey(name, i), JOIN, [ref(partitionKey(l.name, i)), ref(partitionKey(r.name, i)), plan]);
  return new DataFrame(name, nparts, schema, graph);
}

/** Joins every partition of the large side with the whole small side. */
function broadcastJoin(left: DataFrame, right: DataFrame, plan: JoinPlan, schema: ColumnSchema[], small: "left" | "right"): DataFrame {
  const name = layerName("merge-broadcast", left.name, right.name, plan, small);
  const graph = extend(left.graph, right.graph);
  const smallFrame = small === "right" ? right : left;
  const large = small === "right" ? left : right;
  const whole =
    smallFrame.npartitions === 1
      ? partitionKey(smallFrame.name, 0)
      : addTask(graph, `${name}-small`, CONCAT, [smallFrame.partitionKeys().map(ref)]);
  large.partitionKeys().forEach((key, i) => {
    const args = small === "right" ? [ref(key), ref(whole), plan] : [ref(whole), ref(key), plan];
    addTask(graph, partitionKey(name, i), JOIN, args);
  });
  return new DataFrame(name, large.npartitions, schema, graph);
}
