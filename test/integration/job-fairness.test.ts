/**
 * Fairness between jobs on a real cluster, as an operator runs one: `weft scheduler` (the compiled
 * command) with its HTTP API on the test's private redis-server, and two worker processes of one
 * thread under a nanny. A big job of sleeping tasks runs; once a tenth of it is done, a 1-task job
 * is sent. The small job must not wait for the rest of the big one (issue 13 item 6): it is judged by
 * ratios — how much of the big job had run when it finished, and its latency against the big job's
 * whole time — not by absolute times, which a loaded machine stretches.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Nanny } from "../../worker/nanny.js";
import { usePrivateRedis, useStoppables } from "../support/cluster-setup.js";
import { exited } from "../support/processes.js";
import { startWeft, type StartedWeft } from "../support/weft-command.js";

/** Worker processes import the task functions (`test.sleepThen`) from here. */
const fixtures = new URL("../fixtures/math-tasks.ts", import.meta.url).href;
const TOKEN = "fairness-test-token-0123456789abcdef";

const server = usePrivateRedis();
const stopAfterTest = useStoppables();
const schedulers: StartedWeft[] = [];
afterEach(async () => {
  for (const { command } of schedulers.splice(0)) {
    if (command.exitCode !== null || command.signalCode !== null) continue;
    command.kill("SIGTERM");
    await exited(command);
  }
});

/** What `GET /v1/jobs/{id}` says of a job, as far as these tests read it. */
interface JobStatus {
  readonly state: string;
  readonly tasks: { readonly total: number; readonly finished: number };
  readonly submittedAt: number;
  readonly finishedAt?: number;
}

async function api(url: string, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, accept: "application/json", ...(init.headers as Record<string, string>) } });
}

/** Submits `count` tasks sleeping `ms` each (keys of their own), all outputs; returns the job's id. */
async function submitSleepers(url: string, name: string, count: number, ms: number): Promise<string> {
  const tasks: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) tasks[`${name}-${i}`] = { fn: "test.sleepThen", args: [ms, i] };
  const reply = await api(url, "/v1/jobs", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ tasks, outputs: Object.keys(tasks) }) });
  expect(reply.status, await reply.clone().text()).toBe(201);
  return ((await reply.json()) as { id: string }).id;
}

async function statusOf(url: string, id: string): Promise<JobStatus> {
  const reply = await api(url, `/v1/jobs/${id}`);
  expect(reply.status).toBe(200);
  return (await reply.json()) as JobStatus;
}

/** Waits for the job to end (long polls of its result, at most `timeoutMs`); returns its status. */
async function ended(url: string, id: string, timeoutMs: number): Promise<JobStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`job ${id} did not end within ${timeoutMs} ms: ${JSON.stringify(await statusOf(url, id))}`);
    const reply = await api(url, `/v1/jobs/${id}/result?wait=${Math.min(left, 2_000)}`);
    await reply.arrayBuffer();
    if (reply.status === 200) return statusOf(url, id);
    expect(reply.status).toBe(202);
  }
}

describe("fairness between jobs on a two-process cluster", () => {
  it("a 1-task job sent while a 600-task job runs finishes before a quarter of the big job is done", async ({ annotate }) => {
    const prefix = "fairness";
    const workers = Nanny.start({
      nprocs: 2,
      idPrefix: "fair",
      worker: { redis: server().url, prefix, nthreads: 1, executor: "main", imports: [fixtures], logLevel: "error" },
      logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    });
    stopAfterTest(workers);
    const scheduler = startWeft(["scheduler", "--redis", server().url, "--prefix", prefix, "--http-port", "0", "--api-token", TOKEN, "--tick-ms", "50"]);
    schedulers.push(scheduler);
    const deadline = Date.now() + 30_000;
    let url: string | undefined;
    while (url === undefined && Date.now() < deadline) {
      url = /"weft scheduler running".*?"http":"(http:[^"]+)"/.exec(scheduler.stderr())?.[1];
      if (url === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (url === undefined) throw new Error(`weft scheduler did not start:\n${scheduler.stderr()}`);
    for (;;) {
      const body = (await (await api(url, "/v1/ready")).json()) as { workers?: number };
      if ((body.workers ?? 0) >= 2) break;
      if (Date.now() > deadline) throw new Error("the two workers did not join");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    // About 6 s of work on the two workers (20 ms a task).
    const bigSize = 600;
    const big = await submitSleepers(url, "big", bigSize, 20);
    while ((await statusOf(url, big)).tasks.finished < bigSize / 10) await new Promise((resolve) => setTimeout(resolve, 20));
    const small = await submitSleepers(url, "small", 1, 20);
    const smallEnded = await ended(url, small, 60_000);
    const bigDoneThen = (await statusOf(url, big)).tasks.finished;
    const bigEnded = await ended(url, big, 60_000);

    const smallLatency = smallEnded.finishedAt! - smallEnded.submittedAt;
    const bigTotal = bigEnded.finishedAt! - bigEnded.submittedAt;
    const measured = `the small job took ${smallLatency} ms of the big job's ${bigTotal} ms; ${bigDoneThen} of ${bigSize} big tasks had finished`;
    await annotate(measured);
    expect(bigEnded.tasks.finished, measured).toBe(bigSize);
    // Sent at a tenth, done before a quarter: it did not wait behind the rest of the big job.
    expect(bigDoneThen / bigSize, measured).toBeLessThan(0.25);
    expect(smallLatency / bigTotal, measured).toBeLessThan(0.1);
  }, 120_000);
});
