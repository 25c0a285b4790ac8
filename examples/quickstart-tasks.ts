import { task } from "../client/task.js";

/**
 * The task functions of the quick-start example. They live in their own module, which worker threads
 * import to find them by name.
 */

/** Pretends to load one day of readings: deterministic pseudo-random temperatures. */
export const loadDay = task("quickstart.loadDay", (day: number): number[] => {
  const readings: number[] = [];
  let seed = day * 7919 + 1;
  for (let hour = 0; hour < 24; hour++) {
    seed = (seed * 48271) % 2147483647;
    readings.push(10 + (seed % 2000) / 100);
  }
  return readings;
});

/** Summary statistics of one day. */
export const summarize = task("quickstart.summarize", (readings: readonly number[]) => {
  let min = Infinity;
  let max = -Infinity;
  let total = 0;
  for (const value of readings) {
    min = Math.min(min, value);
    max = Math.max(max, value);
    total += value;
  }
  return { min, max, mean: total / readings.length, count: readings.length };
});

type Summary = ReturnType<typeof summarize>;

/** Combines two summaries into one: the step of a tree reduction. */
export const combine = task("quickstart.combine", (a: Summary, b: Summary): Summary => {
  const count = a.count + b.count;
  return {
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
    mean: (a.mean * a.count + b.mean * b.count) / count,
    count,
  };
});
