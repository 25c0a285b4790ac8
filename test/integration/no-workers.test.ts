import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { Client } from "../../client/client.js";
import { delayed } from "../../client/delayed.js";
import { NoWorkersError } from "../../scheduler/no-workers-watch.js";
import type { JobEvent, JobStatus } from "../../protocol/job-api.js";
import type { LogFields, Logger } from "../../protocol/logger.js";
import { SchedulerProcess } from "../../scheduler/scheduler-process.js";
import { Nanny } from "../../worker/nanny.js";
import { WorkerProcess } from "../../worker/worker-process.js";
import { add, sleep } from "../fixtures/math-tasks.js";
import { usePrivateRedis, useStoppables } from "../support/cluster-setup.js";

const TOKEN = "no-workers-token-0123456789";
const server = usePrivateRedis();
const stopAfterTest = useStoppables();
let prefixSeq = 0;

/** A scheduler with its HTTP API and a short no-workers warning, and no worker. */
async function lonelyScheduler(noWorkersWarningMs = 500) {
  const prefix = `no-workers-${++prefixSeq}`;
  const scheduler = await SchedulerProcess.start({ redis: server().url, prefix, tickMs: 50, noWorkersWarningMs, http: { token: TOKEN, port: 0 } });
  stopAfterTest(scheduler);
  const request = (path: string, init: RequestInit = {}) =>
    fetch(`${scheduler.http!.url}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...(init.headers as Record<string, string>) } });
  const submit = async (body: object): Promise<string> => {
    const reply = await request("/v1/jobs", { method: "POST", body: JSON.stringify(body) });
    expect(reply.status).toBe(201);
    return ((await reply.json()) as { id: string }).id;
  };
  const status = async (id: string) => (await (await request(`/v1/jobs/${id}`)).json()) as JobStatus;
  /** Polls the job's status until `accept` holds, at most 20 s; returns the last status. */
  const statusWhen = async (id: string, accept: (status: JobStatus) => boolean): Promise<JobStatus> => {
    const deadline = Date.now() + 20_000;
    let last = await status(id);
    while (!accept(last) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      last = await status(id);
    }
    return last;
  };
  return { scheduler, prefix, request, submit, status, statusWhen };
}

const graph = { tasks: { a: { fn: "weft.add", args: [1, 2] } }, outputs: ["a"] };

describe("jobs with no worker able to run them", () => {
  it("say so in their status and events after the warning time, and run once a worker joins", async () => {
    const { scheduler, prefix, submit, status, statusWhen, request } = await lonelyScheduler();
    const id = await submit(graph);
    const events: JobEvent[] = [];
    const stop = await scheduler.jobs.subscribe(id, (event) => events.push(event));
    expect((await status(id)).waitingForWorkers).toBeUndefined();
    const waiting = await statusWhen(id, (s) => s.waitingForWorkers !== undefined);
    expect(waiting).toMatchObject({
      state: "running",
      waitingForWorkers: { message: expect.stringMatching(/^no worker has been able to run this job's tasks for [\d.]+ s: no worker has joined the scheduler; it waits for workers$/) },
    });
    expect(events.filter((e) => e.type === "waiting-for-workers")).toHaveLength(1);
    // The listing says it too.
    const page = (await (await request("/v1/jobs?state=running")).json()) as { jobs: JobStatus[] };
    expect(page.jobs.find((job) => job.id === id)?.waitingForWorkers?.message).toBe(waiting.waitingForWorkers!.message);

    const worker = await WorkerProcess.start({ redis: server().url, prefix, nthreads: 1, executor: "main" });
    stopAfterTest(worker);
    const done = await statusWhen(id, (s) => s.state === "completed");
    expect(done.state).toBe("completed");
    expect(done.waitingForWorkers).toBeUndefined();
    stop();
  }, 120_000);

  it("fail with no-workers once they have waited their noWorkersTimeoutMs", async () => {
    const { submit, request } = await lonelyScheduler(60_000);
    const started = Date.now();
    const id = await submit({ ...graph, noWorkersTimeoutMs: 1_000 });
    const reply = await request(`/v1/jobs/${id}/result?wait=20000`);
    expect(reply.status).toBe(409);
    expect(await reply.json()).toMatchObject({
      error: "no-workers",
      message: expect.stringMatching(/^no worker could run job \S+'s tasks for [\d.]+ s \(no worker has joined the scheduler\); it fails after its noWorkersTimeoutMs of 1000 ms$/),
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
  }, 120_000);

  it("a Client.connect computation fails with a NoWorkersError once it has waited the client's noWorkersTimeoutMs", async () => {
    const { scheduler } = await lonelyScheduler(60_000);
    const client = await Client.connect(scheduler.http!.url, { token: TOKEN, noWorkersTimeoutMs: 1_000 });
    try {
      const started = Date.now();
      const failure = await client.compute(delayed(add)(1, 2)).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(NoWorkersError);
      expect((failure as Error).message).toMatch(
        /^no worker could run job \S+'s tasks for [\d.]+ s \(no worker has joined the scheduler\); it fails after its noWorkersTimeoutMs of 1000 ms$/,
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await client.close();
    }
  }, 60_000);

  it("a Client.attach computation on the scheduler in this process fails the same way", async () => {
    const { scheduler } = await lonelyScheduler(60_000);
    const client = Client.attach(scheduler.scheduler, { noWorkersTimeoutMs: 1_000 });
    const started = Date.now();
    const failure = await client.compute(delayed(add)(3, 4)).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(NoWorkersError);
    expect((failure as Error).message).toMatch(/\(no worker has joined the scheduler\); it fails after its noWorkersTimeoutMs of 1000 ms$/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    await client.close();
  }, 60_000);

  it("a Client.local computation never fails for want of workers: its executor is this process", async () => {
    const client = await Client.local({ executor: "sync", noWorkersTimeoutMs: 1 });
    try {
      expect(await client.compute(delayed(sleep)(50))).toEqual([50]);
    } finally {
      await client.close();
    }
  });

  it("every client refuses a noWorkersTimeoutMs that is not a whole number of milliseconds from 1 to 2^31 - 1", async () => {
    for (const noWorkersTimeoutMs of [0, 1.5, 2 ** 31]) {
      await expect(Client.local({ executor: "sync", noWorkersTimeoutMs })).rejects.toThrow(
        new RangeError(`noWorkersTimeoutMs must be a whole number of milliseconds from 1 to 2147483647, got ${noWorkersTimeoutMs}`),
      );
    }
  });

  it("say so when the only workers are paused at their memory limit", async () => {
    const { prefix, submit, statusWhen } = await lonelyScheduler();
    // Any process is over 80% of a 1 MB limit.
    const worker = await WorkerProcess.start({ redis: server().url, prefix, nthreads: 1, executor: "main", memoryLimit: 1_000_000 });
    stopAfterTest(worker);
    const id = await submit(graph);
    const waiting = await statusWhen(id, (s) => s.waitingForWorkers !== undefined);
    expect(waiting.waitingForWorkers?.message).toContain("every worker (1) is paused at its memory limit");
  }, 120_000);

  it("say so when the nanny gave up on workers that crash at start, which it logs plainly", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-no-workers-"));
    try {
      const broken = join(dir, "broken-tasks.mjs");
      writeFileSync(broken, 'throw new Error("cannot load these tasks");\n');
      const { prefix, submit, statusWhen } = await lonelyScheduler();
      const lines: { level: string; message: string; fields?: LogFields }[] = [];
      const log = (level: string) => (message: string, fields?: LogFields) => lines.push({ level, message, fields });
      const logger: Logger = { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
      const nanny = Nanny.start({
        nprocs: 2,
        maxCrashes: 2,
        restartDelayMs: 10,
        logger,
        execArgv: [],
        worker: { redis: server().url, prefix, imports: [pathToFileURL(broken).href], logLevel: "error" },
        workerOutput: () => undefined,
      });
      stopAfterTest(nanny);
      const id = await submit(graph);
      await nanny.done;
      const gaveUp = lines.filter((line) => line.level === "error" && line.message.startsWith("giving up on every worker slot"));
      expect(gaveUp).toHaveLength(1);
      expect(gaveUp[0].message).toMatch(/^giving up on every worker slot \(2\): in each, 2 workers exited before they started within 60 s, so this nanny runs no workers now/);
      const waiting = await statusWhen(id, (s) => s.waitingForWorkers !== undefined);
      expect(waiting).toMatchObject({ state: "running", waitingForWorkers: { message: expect.stringContaining("no worker has joined the scheduler") } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
