import { delayed, type Delayed } from "../client/delayed.js";
import type { BenchComputer } from "./bench-cluster.js";
import { arrayXxtMean } from "./array-xxt-mean.js";
import { add, noop, sumAll } from "./bench-tasks.js";
import { dfGroupbyMean } from "./df-groupby-mean.js";
import { dfPipeline } from "./df-pipeline.js";

/** A benchmark graph: its output, how many tasks it has, and how to tell its result is right. */
export interface Workload {
  /** A delayed value or a collection. */
  readonly output: unknown;
  /** Tasks in the graph, for the tasks/s figure. */
  readonly tasks: number;
  /** Throws, naming the difference, unless `result` is what the graph must produce. */
  check(result: unknown): void;
}

/** Builds a workload's graph for a size parameter, over the inputs its `prepare` made (if any). */
export type WorkloadBuilder = (n: number, inputs?: unknown) => Workload;

/** A workload as `weft bench` knows it. */
export interface WorkloadDefinition {
  readonly build: WorkloadBuilder;
  /** The size parameter when `--tasks` is not given. */
  readonly defaultTasks: number;
  readonly describe: string;
  /** Computes and holds inputs the workload takes as already in memory (or writes its input files); untimed. */
  readonly prepare?: (computer: BenchComputer, n: number) => Promise<unknown>;
  /** Removes what `prepare` left outside memory (files); called once the runs are over, also after a failure. */
  readonly cleanup?: (inputs: unknown) => void | Promise<void>;
}

/** A check that the result is exactly `expected`. */
export function expectExactly(name: string, expected: unknown): (result: unknown) => void {
  return (result) => {
    if (result !== expected) throw new Error(`${name} computed ${String(result)}, expected ${String(expected)}`);
  };
}

/** `n` independent tiny tasks and one task summing them: scheduler overhead on a wide fan-in. */
export function independent(n: number): Workload {
  const leaves = Array.from({ length: n }, (_, i) => delayed(noop)(i));
  return { output: delayed(sumAll)(leaves), tasks: n + 1, check: expectExactly("independent", (n * (n - 1)) / 2) };
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
  return { output: level[0], tasks, check: expectExactly("tree", (n * (n - 1)) / 2) };
}

/** The workloads `weft bench` knows, by name. */
export const WORKLOADS: Readonly<Record<string, WorkloadDefinition>> = {
  independent: { build: independent, defaultTasks: 10_000, describe: "N no-op tasks plus one sum over them" },
  tree: { build: tree, defaultTasks: 8_192, describe: "pairwise tree reduction over N leaves" },
  "array-xxt-mean": {
    build: arrayXxtMean,
    defaultTasks: 8_000,
    describe: "(x + x.T).mean() of a seeded random NxN float64 array in 1000x1000 blocks, generation included",
  },
  "df-groupby-mean": dfGroupbyMean,
  "df-pipeline": dfPipeline,
};
