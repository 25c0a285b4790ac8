import { delayed, type Delayed } from "../client/delayed.js";
import { add, noop, sumAll } from "./bench-tasks.js";

/** A benchmark graph: its output, how many tasks it has, and the result it must produce. */
export interface Workload {
  readonly output: Delayed<number>;
  readonly tasks: number;
  readonly expected: number;
}

/** Builds a workload's graph for a size parameter. */
export type WorkloadBuilder = (n: number) => Workload;

/** `n` independent tiny tasks and one task summing them: scheduler overhead on a wide fan-in. */
export function independent(n: number): Workload {
  const leaves = Array.from({ length: n }, (_, i) => delayed(noop)(i));
  return { output: delayed(sumAll)(leaves), tasks: n + 1, expected: (n * (n - 1)) / 2 };
}

/** A pairwise tree reduction over `n` leaves: 2n - 1 tasks, each level half as wide. */
export function tree(n: number): Workload {
  let level: Delayed<number>[] = Array.from({ length: n }, (_, i) => delayed(noop)(i));
  let tasks = n;
  while (level.length > 1) {
    const next: Delayed<number>[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(i + 1 < level.length ? delayed(add)(level[i], level[i + 1]) : level[i]);
    }
    tasks += Math.floor(level.length / 2);
    level = next;
  }
  return { output: level[0], tasks, expected: (n * (n - 1)) / 2 };
}

/** The workloads `weft bench` knows, by name. */
export const WORKLOADS: Readonly<Record<string, { build: WorkloadBuilder; defaultTasks: number; describe: string }>> = {
  independent: { build: independent, defaultTasks: 10_000, describe: "N no-op tasks plus one sum over them" },
  tree: { build: tree, defaultTasks: 8_192, describe: "pairwise tree reduction over N leaves" },
};
