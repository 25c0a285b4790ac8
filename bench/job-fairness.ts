/**
 * Fairness between jobs: the latency of a 1-task job sent over the HTTP API while a big job runs.
 *
 *   npx tsx bench/job-fairness.ts [--tasks 4000] [--task-ms 10] [--after 0.1] [--repeat 3] [--workers 2] [--threads 1]
 *
 * Starts a private redis-server, `weft scheduler` in its own process and worker processes under a
 * nanny, as an operator would; this process is only the client. Each run submits a big job of
 * `--tasks` independent tasks that each sleep `--task-ms` (keys of their own, so nothing is reused),
 * waits until `--after` of them have finished, sends a 1-task job (one such task), and waits for
 * both. It prints, per run and as medians: the small job's latency (the scheduler's `finishedAt -
 * submittedAt`), the big job's whole time, their ratio, and how many big tasks had finished when the
 * small job had. Without fairness the small job waits for the rest of the big job (issue 13 item 6);
 * with it, for about one big task plus what the workers' queues already hold.
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { jsonLogger } from "../protocol/logger.js";
import { startRedisServer } from "../protocol/redis/private-redis-server.js";
import { lookupTask } from "../protocol/task-registry.js";
import { Nanny } from "../worker/nanny.js";
import { sleep } from "./bench-tasks.js";
import { startScheduler, waitForApiWorkers } from "./scheduler-child.js";
import { median } from "./median.js";

const { values } = parseArgs({
  options: {
    tasks: { type: "string", default: "4000" },
    "task-ms": { type: "string", default: "10" },
    after: { type: "string", default: "0.1" },
    repeat: { type: "string", default: "3" },
    workers: { type: "string", default: "2" },
    threads: { type: "string", default: "1" },
  },
});
const bigSize = Number(values.tasks);
const taskMs = Number(values["task-ms"]);
const after = Number(values.after);
const repeat = Number(values.repeat);
const workers = Number(values.workers);
const nthreads = Number(values.threads);

/** What `GET /v1/jobs/{id}` says of a job, as far as this bench reads it. */
interface JobStatus {
  readonly tasks: { readonly finished: number };
  readonly submittedAt: number;
  readonly finishedAt?: number;
}

/** One run's figures. */
interface RunFigures {
  readonly smallMs: number;
  readonly bigMs: number;
  readonly bigDoneAtSubmission: number;
  readonly bigDoneWhenSmallEnded: number;
}

async function main(): Promise<void> {
  const server = await startRedisServer();
  const prefix = `weft-bench-fairness-${process.pid}`;
  const token = randomBytes(24).toString("base64url");
  const nanny = Nanny.start({
    nprocs: workers,
    worker: { redis: server.url, prefix, nthreads, logLevel: "warn", imports: [lookupTask(sleep.taskName)!.module!] },
    logger: jsonLogger({ level: "warn", fields: { component: "nanny" } }),
  });
  const scheduler = startScheduler(["--redis", server.url, "--prefix", prefix, "--http-port", "0", `--api-token=${token}`, "--tick-ms", "100", "--rate-limit", "1000000"]);
  const headers = { authorization: `Bearer ${token}`, accept: "application/json" };
  try {
    const url = await scheduler.url;
    await waitForApiWorkers(url, workers);
    const submit = async (name: string, count: number): Promise<string> => {
      const tasks: Record<string, unknown> = {};
      for (let i = 0; i < count; i++) tasks[`${name}-${i}`] = { fn: "bench.sleep", args: [taskMs] };
      const body = JSON.stringify({ tasks, outputs: Object.keys(tasks) });
      const reply = await fetch(`${url}/v1/jobs`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body });
      if (reply.status !== 201) throw new Error(`submit answered ${reply.status}: ${await reply.text()}`);
      return ((await reply.json()) as { id: string }).id;
    };
    const status = async (id: string): Promise<JobStatus> => (await (await fetch(`${url}/v1/jobs/${id}`, { headers })).json()) as JobStatus;
    const ended = async (id: string): Promise<JobStatus> => {
      for (;;) {
        const reply = await fetch(`${url}/v1/jobs/${id}/result?wait=10000`, { headers });
        await reply.arrayBuffer();
        if (reply.status === 200) return status(id);
        if (reply.status !== 202) throw new Error(`job ${id} answered ${reply.status}`);
      }
    };
    const runs: RunFigures[] = [];
    for (let run = 1; run <= repeat; run++) {
      const big = await submit(`r${run}-big`, bigSize);
      let bigDoneAtSubmission = 0;
      while ((bigDoneAtSubmission = (await status(big)).tasks.finished) < after * bigSize) await new Promise((resolve) => setTimeout(resolve, 20));
      const small = await submit(`r${run}-small`, 1);
      const smallEnded = await ended(small);
      const bigDoneWhenSmallEnded = (await status(big)).tasks.finished;
      const bigEnded = await ended(big);
      const figures = {
        smallMs: smallEnded.finishedAt! - smallEnded.submittedAt,
        bigMs: bigEnded.finishedAt! - bigEnded.submittedAt,
        bigDoneAtSubmission,
        bigDoneWhenSmallEnded,
      };
      runs.push(figures);
      console.log(
        `run ${run}: small job ${figures.smallMs} ms, big job ${figures.bigMs} ms (ratio ${(figures.smallMs / figures.bigMs).toFixed(3)}); ` +
          `sent at ${bigDoneAtSubmission}, done at ${bigDoneWhenSmallEnded} of ${bigSize} big tasks finished`,
      );
    }
    const smallMedian = median(runs.map((r) => r.smallMs));
    const bigMedian = median(runs.map((r) => r.bigMs));
    console.log(
      `${bigSize} tasks of ${taskMs} ms on ${workers} workers × ${nthreads} threads, small job sent at ${after * 100}%: ` +
        `median small-job latency ${smallMedian} ms, median big job ${bigMedian} ms, ` +
        `median ratio ${median(runs.map((r) => r.smallMs / r.bigMs)).toFixed(3)}, ` +
        `median big tasks finished when the small job had ${median(runs.map((r) => r.bigDoneWhenSmallEnded))}`,
    );
  } finally {
    await scheduler.stop();
    await nanny.stop();
    await server.stop();
  }
}

await main();
