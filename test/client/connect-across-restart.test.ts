/**
 * `Client.connect` while its scheduler crashes, as a program on another machine sees it: a
 * private redis-server, a `weft worker` and a `weft scheduler` (the compiled command) on a fixed
 * port, the scheduler killed with SIGKILL while computations wait for their results, and another
 * `weft scheduler` started on the same port, or none.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../../client/client.js";
import { delayed, type Delayed } from "../../client/delayed.js";
import { SchedulerUnreachableError } from "../../client/http-transport.js";
import type { Progress } from "../../client/client-api.js";
import { freePort } from "../../protocol/redis/private-redis-server.js";
import { add, sleepThen } from "../fixtures/math-tasks.js";
import { usePrivateRedis } from "../support/cluster-setup.js";
import { exited } from "../support/processes.js";
import { startWeft, type StartedWeft } from "../support/weft-command.js";

const TOKEN = "restart-token-0123456789abcdef";
const redis = usePrivateRedis();

let worker: StartedWeft;
let port: number;
let url: string;
/** Every scheduler started; the last one may still run, for the next test to use. */
const schedulers: StartedWeft[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  worker = startWeft(["worker", "--redis", redis().url, "--nthreads", "2", "--executor", "main", "--import", "test/fixtures/math-tasks.ts"]);
  port = await freePort();
  url = `http://127.0.0.1:${port}`;
}, 30_000);

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

afterAll(async () => {
  // Stopped however the tests ended.
  for (const scheduler of schedulers) await stop(scheduler, "SIGKILL");
  if (worker !== undefined) await stop(worker, "SIGTERM");
}, 30_000);

async function stop(started: StartedWeft, signal: NodeJS.Signals): Promise<void> {
  if (started.command.exitCode !== null || started.command.signalCode !== null) return;
  started.command.kill(signal);
  const timer = setTimeout(() => started.command.kill("SIGKILL"), 10_000);
  await exited(started.command);
  clearTimeout(timer);
}

/**
 * The `weft scheduler` on the test's port, once it runs: the one a test before left running, else a
 * new one, with a short lease and job claim (a restarted scheduler takes over, and picks the dead
 * one's jobs up, within about a second and a half).
 */
async function schedulerOnPort(): Promise<StartedWeft> {
  // Starting one takes seconds on a busy machine: a test uses the one the test before left running.
  const last = schedulers.at(-1);
  if (last !== undefined && last.command.exitCode === null && last.command.signalCode === null) return last;
  const scheduler = startWeft([
    "scheduler",
    ...["--redis", redis().url, "--http-port", String(port), "--api-token", TOKEN],
    ...["--tick-ms", "50", "--lease-ms", "1000", "--lock-ms", "1500"],
  ]);
  schedulers.push(scheduler);
  const deadline = Date.now() + 20_000;
  while (!scheduler.stderr().includes('"msg":"weft scheduler running"')) {
    if (Date.now() > deadline || scheduler.command.exitCode !== null) throw new Error(`the scheduler did not start:\n${scheduler.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return scheduler;
}

async function connect(options: { reconnectTimeoutMs?: number; onProgress?: (progress: Progress) => void } = {}): Promise<Client> {
  // The worker may still be joining the first scheduler.
  const deadline = Date.now() + 20_000;
  while ((await fetch(`${url}/v1/ready`)).status !== 200) {
    if (Date.now() > deadline) throw new Error(`no worker joined within 20 s:\n${worker.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const client = await Client.connect(url, { token: TOKEN, ...options });
  clients.push(client);
  return client;
}

/** `leaves` tasks sleeping `ms` each, returning offset + i, summed pairwise: offset * leaves + leaves * (leaves - 1) / 2. */
function sleepyTree(leaves: number, ms: number, offset: number): Delayed<number> {
  let level: Delayed<number>[] = Array.from({ length: leaves }, (_, i) => delayed(sleepThen)(ms, offset + i));
  while (level.length > 1) {
    const next: Delayed<number>[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(delayed(add)(level[i], level[i + 1]));
    level = next;
  }
  return level[0];
}

/** The cluster's jobs, newest first. */
async function jobs(): Promise<{ id: string; state: string }[]> {
  const reply = await fetch(`${url}/v1/jobs?limit=500`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return ((await reply.json()) as { jobs: { id: string; state: string }[] }).jobs;
}

/** Waits until the scheduler runs `count` jobs. */
async function running(count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const page = (await (await fetch(`${url}/v1/jobs?state=running`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { jobs: unknown[] };
    if (page.jobs.length >= count) return;
    if (Date.now() > deadline) throw new Error(`${count} jobs did not start within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("Client.connect across a scheduler crash", () => {
  it("computations waiting for their results, and one submitted while no scheduler serves, resolve once another serves on the port; no job is made twice", async () => {
    const first = await schedulerOnPort();
    const client = await connect();
    const before = (await jobs()).length;
    // 16 tasks of 250 ms on 2 threads: about 2 s of work, still running when the scheduler dies.
    const waiting = client.compute(sleepyTree(16, 250, 100));
    await running(1);
    first.command.kill("SIGKILL");
    await exited(first.command);
    const killedAt = Date.now();

    // Sent while nothing listens on the port: tried again until something does.
    const submittedMeanwhile = client.compute(sleepyTree(4, 10, 1000));
    await new Promise((resolve) => setTimeout(resolve, 500));
    await schedulerOnPort();

    expect(await waiting).toEqual([100 * 16 + (16 * 15) / 2]);
    expect(await submittedMeanwhile).toEqual([1000 * 4 + (4 * 3) / 2]);
    // The restarted scheduler stood by for the rest of the dead one's lease, then picked its job up
    // once the job's claim lapsed: seconds, well within the 30 s the client keeps trying.
    expect(Date.now() - killedAt).toBeLessThan(20_000);
    const after = await jobs();
    expect(after.slice(0, after.length - before).map((job) => job.state)).toEqual(["completed", "completed"]);
    expect(after.length - before).toBe(2);
  }, 60_000);

  it("a computation's progress comes from the restarted scheduler's event stream, up to its last report", async () => {
    const first = await schedulerOnPort();
    const reports: (Progress & { at: number })[] = [];
    const client = await connect({ onProgress: (progress) => reports.push({ ...progress, at: Date.now() }) });
    const waiting = client.compute(sleepyTree(16, 250, 200));
    await running(1);
    first.command.kill("SIGKILL");
    await exited(first.command);
    await schedulerOnPort();
    const restartedAt = Date.now();
    expect(await waiting).toEqual([200 * 16 + (16 * 15) / 2]);
    // Reports while the restarted scheduler ran the job (the stream was opened again), then the last.
    const after = reports.filter((report) => report.at >= restartedAt);
    expect(after.filter((report) => report.state === "running").length).toBeGreaterThan(0);
    expect(reports.at(-1)).toMatchObject({ state: "completed", tasks: { total: 31, finished: 31, processing: 0 } });
  }, 60_000);

  it("with no scheduler back, a computation rejects with a SchedulerUnreachableError once it has tried for reconnectTimeoutMs", async () => {
    const only = await schedulerOnPort();
    const client = await connect({ reconnectTimeoutMs: 1_500 });
    const waiting = client.compute(sleepyTree(16, 250, 300)).catch((error: unknown) => error);
    await running(1);
    // Before the kill: the client's first failure (and its reconnectTimeoutMs) may come before the exit is seen here.
    const killedAt = Date.now();
    only.command.kill("SIGKILL");
    await exited(only.command);
    const error = await waiting;
    const tookMs = Date.now() - killedAt;
    expect(error).toBeInstanceOf(SchedulerUnreachableError);
    expect((error as Error).message).toMatch(new RegExp(`^cannot reach the weft scheduler at ${url}: ECONNREFUSED; tried for 1\\.[5-9] s \\(reconnectTimeoutMs\\)$`));
    expect(tookMs).toBeGreaterThanOrEqual(1_500);
    expect(tookMs).toBeLessThan(5_000);
  }, 60_000);
});
