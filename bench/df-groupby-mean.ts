import type { Table } from "apache-arrow";
import { delayed } from "../client/delayed.js";
import { fromDelayed } from "../client/dataframe/from-delayed.js";
import type { DataFrame } from "../client/dataframe/dataframe.js";
import type { BenchComputer } from "./bench-cluster.js";
import { dfGroupbyPartition } from "./bench-tasks.js";
import type { Workload, WorkloadDefinition } from "./workloads.js";

/** Partitions of the data, as in the Dask comparison. */
const PARTITIONS = 16;

/**
 * `df.groupBy("k").agg({ v: "mean" })` over N rows (default 4,000,000) already in memory in 16
 * partitions: int keys 0–999, float values. `prepare` makes and persists the partitions, untimed
 * (generated on the workers, so no data goes through the scheduler); the timed compute is the
 * group-by only: 16 partial aggregations, a tree of combines and the final table.
 */
export const dfGroupbyMean: WorkloadDefinition = {
  defaultTasks: 4_000_000,
  describe: 'groupBy("k").agg({ v: "mean" }) over N rows in 16 in-memory partitions (1,000 int keys)',
  prepare: async (computer: BenchComputer, rows: number) => {
    const perPartition = Math.ceil(rows / PARTITIONS);
    const parts = Array.from({ length: PARTITIONS }, (_, p) => delayed(dfGroupbyPartition)(p, perPartition));
    const [held] = await computer.persist(fromDelayed(parts, { meta: { k: "int", v: "float" } }));
    return held;
  },
  build: (rows: number, inputs?: unknown): Workload => {
    const frame = inputs as DataFrame;
    const output = frame.groupBy("k").agg({ v: "mean" });
    return { output, tasks: output.graph.size, check: (result) => checkMeans(result as Table, Math.ceil(rows / PARTITIONS)) };
  },
};

/** Recomputes the means from the generating formula and compares every group. */
function checkMeans(result: Table, perPartition: number): void {
  const sums = new Float64Array(1000);
  const counts = new Float64Array(1000);
  for (let row = 0; row < perPartition * PARTITIONS; row++) {
    const k = (row * 7919) % 1000;
    sums[k] += (row % 10_007) / 100;
    counts[k]++;
  }
  if (result.numRows !== 1000) throw new Error(`df-groupby-mean gave ${result.numRows} groups, expected 1000`);
  const keys = result.getChild("k")!.toArray() as Int32Array;
  const means = result.getChild("v")!.toArray() as Float64Array;
  for (let g = 0; g < 1000; g++) {
    const expected = sums[keys[g]] / counts[keys[g]];
    if (keys[g] !== g || Math.abs(means[g] - expected) > 1e-9 * Math.max(1, Math.abs(expected))) {
      throw new Error(`df-groupby-mean: group ${keys[g]} has mean ${means[g]}, expected ${expected}`);
    }
  }
}
