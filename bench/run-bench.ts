import { Client } from "../client/client.js";
import type { LocalExecutorKind } from "../scheduler/local-scheduler.js";
import { startBenchCluster, type BenchComputer } from "./bench-cluster.js";
import { WORKLOADS } from "./workloads.js";
import { median } from "./median.js";

/** Where `weft bench` runs the workload. */
export type BenchExecutor = LocalExecutorKind | "distributed";

/** Untimed computes of the full workload before the timed ones. */
const WARM_UP_RUNS = 6;

/** Options of {@link runBench}. */
export interface BenchOptions {
  readonly workload: string;
  /** `sync` and `threads` run in this process; `distributed` starts a cluster (see `startBenchCluster`). */
  readonly executor: BenchExecutor;
  /** Worker processes of the `distributed` executor. Default 2. */
  readonly workers?: number;
  /** Redis of the `distributed` executor. Default: a private redis-server for the run. */
  readonly redis?: string;
  /** The workload's size parameter (tasks or leaves). Default: the workload's own. */
  readonly tasks?: number;
  /** Timed repeats; the median is reported. Default 5. */
  readonly repeat?: number;
  /** Untimed computes of the full workload first. Default 6. */
  readonly warmUps?: number;
  readonly nthreads?: number;
}

/** What one benchmark run measured. `seconds` is the median compute time; build time is apart. */
export interface BenchResult {
  readonly workload: string;
  readonly executor: string;
  readonly tasks: number;
  readonly seconds: number;
  readonly tasksPerSecond: number;
  readonly buildSeconds: number;
  readonly runs: readonly number[];
}

/**
 * Builds the workload's graph once per repeat (timed apart), computes it on a warm client (threads
 * started and the workload run a few times untimed, as in a long-lived program), checks the result,
 * and reports the median.
 */
export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const workload = WORKLOADS[options.workload];
  if (workload === undefined) {
    throw new Error(`unknown workload "${options.workload}"; known: ${Object.keys(WORKLOADS).join(", ")}`);
  }
  const size = options.tasks ?? workload.defaultTasks;
  const repeat = options.repeat ?? 5;
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`--tasks must be a whole number >= 1, got ${size}`);
  if (!Number.isInteger(repeat) || repeat < 1) throw new RangeError(`--repeat must be a whole number >= 1, got ${repeat}`);

  const client = await startComputer(options);
  let inputs: unknown;
  try {
    // Inputs a workload takes as already in memory are computed and held before anything is timed.
    inputs = workload.prepare === undefined ? undefined : await workload.prepare(client, size);
    // Warm-up, untimed: threads import the task module, the JIT compiles the hot paths and the heap
    // grows to the workload's size, as in a long-lived program. The first runs of a fresh process
    // are 2-3 times slower than the rest and would otherwise dominate a median of few repeats.
    for (let i = 0; i < (options.warmUps ?? WARM_UP_RUNS); i++) await client.compute(workload.build(size, inputs).output);

    const runs: number[] = [];
    const builds: number[] = [];
    let tasks = 0;
    for (let i = 0; i < repeat; i++) {
      const buildStart = performance.now();
      const built = workload.build(size, inputs);
      builds.push((performance.now() - buildStart) / 1000);
      tasks = built.tasks;
      const start = performance.now();
      const result = await client.compute(built.output);
      runs.push((performance.now() - start) / 1000);
      built.check(result);
    }
    const seconds = median(runs);
    return {
      workload: options.workload,
      executor: options.executor,
      tasks,
      seconds,
      tasksPerSecond: tasks / seconds,
      buildSeconds: median(builds),
      runs,
    };
  } finally {
    try {
      if (inputs !== undefined) await workload.cleanup?.(inputs);
    } finally {
      await client.stop();
    }
  }
}

/** Where a benchmark computes: a local client, or a cluster started for it. */
async function startComputer(options: BenchOptions): Promise<BenchComputer> {
  if (options.executor === "distributed") {
    return startBenchCluster({ workers: options.workers ?? 2, nthreads: options.nthreads, redis: options.redis });
  }
  const client = await Client.local({ executor: options.executor, nthreads: options.nthreads });
  return {
    compute: async (output) => (await client.compute(output))[0],
    persist: (...values) => client.persist(...values),
    stop: () => client.close(),
  };
}

