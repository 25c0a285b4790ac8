import { parseArgs } from "node:util";
import { runBench, type BenchExecutor } from "../bench/run-bench.js";
import { parseCount, parseRedisUrl } from "./command-arguments.js";
import { WORKLOADS } from "../bench/workloads.js";
import { runHttpRoundTrip } from "../bench/http-roundtrip.js";

const EXECUTORS: readonly BenchExecutor[] = ["sync", "threads", "distributed"];

function usage(): string {
  const workloads = Object.entries(WORKLOADS)
    .map(([name, w]) => `  ${name.padEnd(14)} ${w.describe} (default N = ${w.defaultTasks})`)
    .join("\n");
  return `usage: weft bench <workload> [--executor sync|threads|distributed] [--workers W] [--redis URL] [--tasks N] [--repeat R] [--warmup W] [--nthreads T] [--json]

Times the compute of a workload whose graph is already built (build time is reported apart) and
prints the median of R runs, after W untimed runs (default 6) that warm up the threads and the JIT.

workloads:
${workloads}
  http-roundtrip  submit + result of a 1-task graph over the HTTP API, with warm workers: starts a
                 private redis-server, a scheduler serving HTTP and W worker processes; N round trips
                 (default 200, after W = 200 untimed ones of each kind) one after the other, then as
                 many as one request each (POST /v1/jobs?wait=); reports medians and p90s in ms

options:
  --executor   sync | threads | distributed (default threads); distributed starts a scheduler
               here and W worker processes, and a private redis-server unless --redis is given
  --workers    worker processes of the distributed executor (default 2)
  --redis      Redis URL for the distributed executor (default: a private redis-server)
  --tasks      size parameter N of the workload (round trips, for http-roundtrip)
  --repeat     timed runs, median reported (default 5)
  --warmup     untimed runs first (default 6; 200 round trips of each kind for http-roundtrip); a
               smaller number checks that a workload runs, not how fast
  --nthreads   threads of the threads executor, or of each distributed worker (default: CPU count,
               divided among the workers)
  --json       print one JSON line {workload, executor, tasks, seconds, tasksPerSecond}`;
}

/** `weft bench <workload> ...`: runs a benchmark and prints its result. */
export async function benchCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        executor: { type: "string", default: "threads" },
        tasks: { type: "string" },
        repeat: { type: "string", default: "5" },
        warmup: { type: "string" },
        nthreads: { type: "string" },
        workers: { type: "string", default: "2" },
        redis: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    console.error(`weft bench: ${(error as Error).message}\n\n${usage()}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(usage());
    return 0;
  }
  const [workload] = positionals;
  if (workload === undefined || positionals.length > 1) {
    console.error(`weft bench: name one workload\n\n${usage()}`);
    return 2;
  }
  if (workload === HTTP_ROUND_TRIP) return httpRoundTrip(values);
  if (!(workload in WORKLOADS)) {
    console.error(`weft bench: unknown workload "${workload}"; known: ${Object.keys(WORKLOADS).join(", ")}`);
    return 2;
  }
  const executor = values.executor as BenchExecutor;
  if (!EXECUTORS.includes(executor)) {
    console.error(`weft bench: unknown executor "${values.executor}"; use ${EXECUTORS.join(" or ")}`);
    return 2;
  }
  const tasks = values.tasks === undefined ? undefined : parseCount("bench", "--tasks", values.tasks);
  const repeat = parseCount("bench", "--repeat", values.repeat);
  const warmUps = values.warmup === undefined ? undefined : parseWarmUps(values.warmup);
  const nthreads = values.nthreads === undefined ? undefined : parseCount("bench", "--nthreads", values.nthreads);
  const workers = parseCount("bench", "--workers", values.workers);
  const redis = values.redis === undefined ? undefined : parseRedisUrl("bench", values.redis);
  if (tasks === null || repeat === null || warmUps === null || nthreads === null || workers === null || redis === null) return 2;

  const result = await runBench({ workload, executor, tasks, repeat, warmUps, nthreads, workers, redis });
  if (values.json) {
    const { workload: w, executor: e, tasks: t, seconds, tasksPerSecond } = result;
    console.log(JSON.stringify({ workload: w, executor: e, tasks: t, seconds, tasksPerSecond }));
  } else {
    console.log(
      `${result.workload} on ${result.executor}: ${result.tasks} tasks in ${(result.seconds * 1000).toFixed(1)} ms ` +
        `(median of ${result.runs.length}) = ${Math.round(result.tasksPerSecond).toLocaleString("en-US")} tasks/s; ` +
        `graph built in ${(result.buildSeconds * 1000).toFixed(1)} ms`,
    );
  }
  return 0;
}

/** The HTTP round-trip benchmark's name: not a graph workload, so it has its own runner. */
const HTTP_ROUND_TRIP = "http-roundtrip";

async function httpRoundTrip(values: { tasks?: string; warmup?: string; workers: string; nthreads?: string; redis?: string; json: boolean }): Promise<number> {
  const roundTrips = values.tasks === undefined ? undefined : parseCount("bench", "--tasks", values.tasks);
  const warmUps = values.warmup === undefined ? undefined : parseWarmUps(values.warmup);
  if (warmUps === null) return 2;
  const workers = parseCount("bench", "--workers", values.workers);
  const nthreads = values.nthreads === undefined ? undefined : parseCount("bench", "--nthreads", values.nthreads);
  const redis = values.redis === undefined ? undefined : parseRedisUrl("bench", values.redis);
  if (roundTrips === null || workers === null || nthreads === null || redis === null) return 2;
  const result = await runHttpRoundTrip({ roundTrips, warmUps, workers, nthreads, redis });
  const round = (ms: number) => Math.round(ms * 1000) / 1000;
  if (values.json) {
    console.log(
      JSON.stringify({
        workload: HTTP_ROUND_TRIP,
        executor: "distributed",
        roundTrips: result.roundTrips,
        medianMs: round(result.medianMs),
        p90Ms: round(result.p90Ms),
        submitMedianMs: round(result.submitMedianMs),
        resultMedianMs: round(result.resultMedianMs),
        waitMedianMs: round(result.waitMedianMs),
        waitP90Ms: round(result.waitP90Ms),
      }),
    );
  } else {
    console.log(
      `http-roundtrip with ${workers} workers: median ${result.medianMs.toFixed(2)} ms, p90 ${result.p90Ms.toFixed(2)} ms ` +
        `over ${result.roundTrips} round trips (submit ${result.submitMedianMs.toFixed(2)} ms + result ${result.resultMedianMs.toFixed(2)} ms, medians); ` +
        `as one request (POST /v1/jobs?wait=): median ${result.waitMedianMs.toFixed(2)} ms, p90 ${result.waitP90Ms.toFixed(2)} ms`,
    );
  }
  return 0;
}

/** `--warmup`: a whole number, 0 allowed; null after printing why not. */
function parseWarmUps(text: string): number | null {
  if (/^\d+$/.test(text)) return Number(text);
  console.error(`weft bench: --warmup must be a whole number >= 0, got "${text}"`);
  return null;
}
