import { task } from "../client/task.js";

/** The task functions of the bench workloads: as cheap as possible, so the scheduler is what is measured. */
export const noop = task("bench.noop", (i: number) => i);
export const sumAll = task("bench.sum", (values: readonly number[]) => {
  let total = 0;
  for (const value of values) total += value;
  return total;
});
export const add = task("bench.add", (a: number, b: number) => a + b);
