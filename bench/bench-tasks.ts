import { tableFromArrays } from "apache-arrow";
import { task } from "../client/task.js";

/** The task functions of the bench workloads: as cheap as possible, so the scheduler is what is measured. */

/** Returns its argument: a leaf with nothing to compute. */
export const noop = task("bench.noop", (i: number) => i);

/** Sums any number of inputs: the fan-in of the `independent` workload. */
export const sumAll = task("bench.sum", (values: readonly number[]) => {
  let total = 0;
  for (const value of values) total += value;
  return total;
});
/** Adds two inputs: a step of the `tree` reduction. */
export const add = task("bench.add", (a: number, b: number) => a + b);

/** Waits `ms` and returns it: a gate that holds a graph's other tasks back while a benchmark sets up. */
export const sleep = task("bench.sleep", async (ms: number) => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return ms;
});

/** Rows of partition `part` of the `df-groupby-mean` data: int keys 0–999, float values. */
export const dfGroupbyPartition = task("bench.df.partition", (part: number, rows: number) => {
  const k = new Int32Array(rows);
  const v = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const row = part * rows + i;
    k[i] = (row * 7919) % 1000;
    v[i] = (row % 10_007) / 100;
  }
  return tableFromArrays({ k, v });
});
