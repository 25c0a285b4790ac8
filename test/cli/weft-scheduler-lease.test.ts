/**
 * One scheduler per cluster, tried as an operator would: two `weft scheduler` processes (the compiled
 * command, no tuned-node re-run, so signals reach the process that schedules) on one private
 * redis-server and one prefix, two workers, jobs submitted over HTTP; then the active scheduler is
 * killed with SIGKILL, or frozen with SIGSTOP past its lease and thawed.
 */
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort, startRedisServer, type RedisServer } from "../../protocol/redis/private-redis-server.js";
import { SchedulerLease, type LeaseHolder } from "../../protocol/redis/scheduler-lease.js";
import { WorkerProcess } from "../../worker/worker-process.js";
// test.sleepThen, for the workers in this process.
import "../fixtures/math-tasks.js";
import { exited } from "../support/processes.js";
import { startWeft, type StartedWeft } from "../support/weft-command.js";

const TOKEN = "lease-test-token-0123456789abcdef";
/** Short leases and job claims, so that takeovers happen within a test's time. */
const LEASE_MS = 2_000;
const LOCK_MS = 1_500;

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(() => redis?.stop());

const schedulers: StartedWeft[] = [];
const workers: WorkerProcess[] = [];
afterEach(async () => {
  for (const { command } of schedulers.splice(0)) {
    if (command.exitCode !== null || command.signalCode !== null) continue;
    command.kill("SIGCONT");
    command.kill("SIGKILL");
    await exited(command);
  }
  for (const worker of workers.splice(0)) await worker.stop();
});

let prefixSeq = 0;

/** A cluster's prefix with two workers of two threads each joined to it. */
async function clusterWithWorkers(): Promise<string> {
  const prefix = `lease${++prefixSeq}`;
  for (let i = 0; i < 2; i++) workers.push(await WorkerProcess.start({ redis: redis.url, prefix, nthreads: 2, executor: "main" }));
  return prefix;
}

/** `weft scheduler` on the test's Redis, with its HTTP API on a free port. */
function startScheduler(prefix: string, ...extra: string[]): StartedWeft {
  const scheduler = startWeft([
    "scheduler",
    ...["--redis", redis.url, "--prefix", prefix, "--http-port", "0", "--api-token", TOKEN],
    ...["--tick-ms", "50", "--lock-ms", String(LOCK_MS), ...extra],
  ]);
  schedulers.push(scheduler);
  return scheduler;
}

/** Waits up to `timeoutMs` for a log line matching `pattern`; fails with what the scheduler logged. */
async function logged(scheduler: StartedWeft, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(scheduler.stderr());
    if (match !== null) return match;
    if (Date.now() > deadline) throw new Error(`no log line matching ${pattern} within ${timeoutMs} ms; stderr:\n${scheduler.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The HTTP API's URL, once the scheduler says it runs (holding the lease). */
async function running(scheduler: StartedWeft, timeoutMs: number): Promise<string> {
  return (await logged(scheduler, /"weft scheduler running".*?"http":"(http:[^"]+)"/, timeoutMs))[1];
}

/** The HTTP API's URL, once the scheduler says it stands by (a standby serves it too). */
async function standingBy(scheduler: StartedWeft, timeoutMs: number): Promise<string> {
  return (await logged(scheduler, /"standing by: another scheduler holds the lease".*?"http":"(http:[^"]+)"/, timeoutMs))[1];
}

/** A request and how long its reply took, in ms. */
async function timed(url: string, path: string, init: RequestInit = {}): Promise<{ reply: Response; ms: number }> {
  const started = Date.now();
  // Bounded here: a request that hangs fails the test rather than timing it out.
  const reply = await api(url, path, { ...init, signal: AbortSignal.timeout(10_000) });
  return { reply, ms: Date.now() - started };
}

/** A job of `leaves` tasks sleeping `ms` each, summed pairwise: its result is `offset * leaves + leaves * (leaves - 1) / 2`. */
function treeJob(name: string, leaves: number, ms: number, offset: number): { tasks: Record<string, unknown>; outputs: string[] } {
  const tasks: Record<string, unknown> = {};
  let level = Array.from({ length: leaves }, (_, i) => {
    tasks[`${name}-leaf-${i}`] = { fn: "test.sleepThen", args: [ms, offset + i] };
    return `${name}-leaf-${i}`;
  });
  let depth = 0;
  while (level.length > 1) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const key = `${name}-sum-${depth}-${i / 2}`;
      tasks[key] = { fn: "weft.add", args: [{ $ref: level[i] }, { $ref: level[i + 1] }] };
      next.push(key);
    }
    level = next;
    depth++;
  }
  return { tasks, outputs: level };
}

function treeSum(leaves: number, offset: number): number {
  return offset * leaves + (leaves * (leaves - 1)) / 2;
}

async function api(url: string, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, accept: "application/json", ...(init.headers as Record<string, string>) } });
}

async function submit(url: string, job: { tasks: Record<string, unknown>; outputs: string[] }): Promise<string> {
  const reply = await api(url, "/v1/jobs", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(job) });
  expect(reply.status, await reply.clone().text()).toBe(201);
  return ((await reply.json()) as { id: string }).id;
}

/** The job's only output's value, waiting for it at most `timeoutMs`; fails naming the job's status. */
async function resultOf(url: string, id: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) {
      const status = await (await api(url, `/v1/jobs/${id}`)).text();
      throw new Error(`job ${id} did not end within ${timeoutMs} ms: ${status}`);
    }
    const reply = await api(url, `/v1/jobs/${id}/result?wait=${Math.min(left, 2_000)}`);
    if (reply.status === 200) return Object.values((await reply.json()) as Record<string, number>)[0];
    expect(reply.status, await reply.clone().text()).toBe(202);
  }
}

/** Waits up to `timeoutMs` for the cluster's scheduler lease to satisfy `check`, polling it; returns it. */
async function leaseHolder(prefix: string, check: (lease: LeaseHolder | undefined) => boolean, timeoutMs: number): Promise<LeaseHolder> {
  const connection = new Redis(redis.url);
  try {
    const lease = new SchedulerLease(connection, { prefix });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const holder = await lease.holder();
      if (check(holder)) return holder!;
      if (Date.now() > deadline) throw new Error(`the lease did not change as expected within ${timeoutMs} ms: ${JSON.stringify(holder)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    connection.disconnect();
  }
}

/** The last command of each Redis connection a process named as its own (see `connectRedis`). */
async function commandsOf(pid: number): Promise<string[]> {
  const admin = new Redis(redis.url);
  try {
    const list = (await admin.client("LIST")) as string;
    return list
      .split("\n")
      .filter((line) => line.includes(` name=weft-scheduler-${pid} `))
      .map((line) => / cmd=(\S+)/.exec(line)![1]);
  } finally {
    admin.disconnect();
  }
}

describe("two weft schedulers on one Redis and prefix", () => {
  it("the second stands by, saying who holds the lease, and reads nothing; jobs submitted to the first all complete", async () => {
    const prefix = await clusterWithWorkers();
    const first = startScheduler(prefix);
    const url = await running(first, 20_000);
    const second = startScheduler(prefix);
    const standby = await logged(second, /"standing by: another scheduler holds the lease".*/, 20_000);
    expect(standby[0]).toContain(`"pid":${first.command.pid}`);
    expect(standby[0]).toMatch(/"host":"[^"]+".*"since":"\d{4}-\d\d-\d\dT/);

    const ids = await Promise.all(Array.from({ length: 6 }, (_, j) => submit(url, treeJob(`a${j}`, 16, 20, 100 * j))));
    const values = await Promise.all(ids.map((id) => resultOf(url, id, 20_000)));
    expect(values).toEqual(ids.map((_, j) => treeSum(16, 100 * j)));

    // The standby keeps one connection, for the lease, and never reads the events stream.
    const standbyCommands = await commandsOf(second.command.pid!);
    expect(standbyCommands).toHaveLength(1);
    expect(standbyCommands[0]).toMatch(/^(evalsha|eval|client\|setname|select|info)$/);
    expect(second.stderr()).not.toContain("weft scheduler running");
    expect(second.stderr().match(/standing by/g)).toHaveLength(1);
  }, 60_000);

  it("with --no-standby, the second exits 1 at once, naming the scheduler that holds the lease", async () => {
    const prefix = await clusterWithWorkers();
    const first = startScheduler(prefix);
    await running(first, 20_000);
    const second = startScheduler(prefix, "--no-standby");
    const { code } = await Promise.race([
      exited(second.command),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still running:\n${second.stderr()}`)), 15_000)),
    ]);
    expect(code).toBe(1);
    expect(second.stderr()).toMatch(new RegExp(`another scheduler holds the lease .*pid ${first.command.pid}`));
    expect(second.stderr()).not.toContain("weft scheduler running");
  }, 60_000);
});

describe("a standby's HTTP API", () => {
  it("answers at once: health 200, readiness 503 naming the scheduler holding the lease, every job and data route 503 the same", async () => {
    const prefix = await clusterWithWorkers();
    const first = startScheduler(prefix);
    await running(first, 20_000);
    const second = startScheduler(prefix);
    const url = await standingBy(second, 20_000);

    const health = await timed(url, "/v1/health");
    expect(health.reply.status).toBe(200);
    expect(await health.reply.json()).toEqual({ status: "ok" });

    const ready = await timed(url, "/v1/ready");
    expect(ready.reply.status).toBe(503);
    const body = (await ready.reply.json()) as { error: string; message: string; details: { holder: Record<string, unknown> } };
    expect(body).toMatchObject({ error: "standby", details: { role: "standby", redis: true, holder: { pid: first.command.pid, epoch: 1 } } });
    expect(body.details.holder).toEqual({ epoch: 1, id: expect.any(String), host: expect.any(String), pid: first.command.pid, since: expect.stringMatching(/^\d{4}-/) });
    const { id, host } = body.details.holder as { id: string; host: string };
    expect(body.message).toBe(
      `standing by: scheduler ${id} on host ${host} (pid ${first.command.pid}, epoch 1) holds the scheduler role; ` +
        "this one takes over when its lease lapses or is released; send requests to the scheduler holding the role, or retry later",
    );

    const json = { "content-type": "application/json" };
    const refused = [
      await timed(url, "/v1/jobs", { method: "POST", headers: json, body: JSON.stringify(treeJob("s", 2, 1, 0)) }),
      await timed(url, "/v1/jobs/some-job/result?wait=5000"),
      await timed(url, "/v1/jobs"),
      await timed(url, "/v1/data", { method: "POST", headers: json, body: JSON.stringify({ data: { x: 1 } }) }),
      await timed(url, "/v1/workers"),
    ];
    for (const { reply, ms } of refused) {
      expect(reply.status).toBe(503);
      expect(reply.headers.get("retry-after")).toBe("5");
      expect(await reply.json()).toEqual(body);
      // Refused, not waited on: well within the 5 s the result request asked to wait.
      expect(ms).toBeLessThan(2_000);
    }
    // The token is checked first, as by the full API.
    expect((await fetch(`${url}/v1/jobs`)).status).toBe(401);
  }, 60_000);

  it("a second scheduler asked for the port the first listens on exits 1 at once, naming the port", async () => {
    const prefix = await clusterWithWorkers();
    const port = await freePort();
    const first = startScheduler(prefix, "--http-port", String(port));
    expect(await running(first, 20_000)).toBe(`http://127.0.0.1:${port}`);
    const second = startScheduler(prefix, "--http-port", String(port));
    const { code } = await Promise.race([
      exited(second.command),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still running:\n${second.stderr()}`)), 15_000)),
    ]);
    expect(code).toBe(1);
    expect(second.stderr()).toContain(`weft scheduler: cannot serve the HTTP API on 127.0.0.1:${port}: another process listens on that port`);
    expect(second.stderr()).toContain("each needs its own --http-port");
  }, 60_000);
});

describe("the active scheduler dies or freezes", () => {
  it("killed with SIGKILL, its standby takes over within the lease's time, and jobs submitted before and after complete", async () => {
    const prefix = await clusterWithWorkers();
    const first = startScheduler(prefix, "--lease-ms", String(LEASE_MS));
    const firstUrl = await running(first, 20_000);
    const second = startScheduler(prefix, "--lease-ms", String(LEASE_MS));
    const standbyUrl = await standingBy(second, 20_000);

    // About 2 s of work on 4 threads: still running when the scheduler dies.
    const before = await submit(firstUrl, treeJob("before", 32, 250, 1000));
    await new Promise((resolve) => setTimeout(resolve, 500));
    first.command.kill("SIGKILL");
    const killedAt = Date.now();
    await exited(first.command);

    // Taken over when the lease in Redis names the standby: within the lease's lifetime, plus the
    // standby's retry (a quarter of it) and a margin for a loaded machine.
    const holder = await leaseHolder(prefix, (lease) => lease?.epoch === 2, LEASE_MS + 5_000);
    expect(Date.now() - killedAt).toBeLessThan(LEASE_MS + 3_000);
    expect(holder.pid).toBe(second.command.pid);
    const secondUrl = await running(second, 10_000);
    // Where it listened while standing by: it serves there in full now.
    expect(secondUrl).toBe(standbyUrl);
    expect((await api(secondUrl, "/v1/ready")).status).toBe(200);
    expect(second.stderr()).toMatch(/"took over the scheduler lease".*"epoch":2/);
    const after = await submit(secondUrl, treeJob("after", 16, 20, 5000));
    expect(await resultOf(secondUrl, after, 20_000)).toBe(treeSum(16, 5000));
    expect(await resultOf(secondUrl, before, 30_000)).toBe(treeSum(32, 1000));
  }, 90_000);

  it("frozen with SIGSTOP past its lease, it is replaced; thawed, it stops acting at once and exits 3, and no completion is lost", async () => {
    const prefix = await clusterWithWorkers();
    const first = startScheduler(prefix, "--lease-ms", String(LEASE_MS));
    const firstUrl = await running(first, 20_000);
    const second = startScheduler(prefix, "--lease-ms", String(LEASE_MS));
    await logged(second, /standing by/, 20_000);

    const before = await submit(firstUrl, treeJob("frozen", 32, 250, 1000));
    await new Promise((resolve) => setTimeout(resolve, 500));
    first.command.kill("SIGSTOP");
    const secondUrl = await running(second, LEASE_MS + 5_000);

    // While the new scheduler runs a job, the old one wakes up with its sockets still open: a
    // write or a read of the events stream by it would lose this job's completions.
    const during = await submit(secondUrl, treeJob("during", 64, 40, 7000));
    await new Promise((resolve) => setTimeout(resolve, 200));
    first.command.kill("SIGCONT");
    const { code } = await Promise.race([
      exited(first.command),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the thawed scheduler still runs:\n${first.stderr()}`)), 10_000)),
    ]);
    expect(code).toBe(3);
    const lines = first.stderr().split("\n");
    expect(lines.filter((line) => line.includes('"msg":"lost the scheduler lease'))).toEqual([expect.stringMatching(/"level":"error".*"holder":\{"epoch":2,/)]);

    expect(await resultOf(secondUrl, during, 30_000)).toBe(treeSum(64, 7000));
    expect(await resultOf(secondUrl, before, 30_000)).toBe(treeSum(32, 1000));
    const after = await submit(secondUrl, treeJob("thawed", 16, 20, 9000));
    expect(await resultOf(secondUrl, after, 20_000)).toBe(treeSum(16, 9000));
  }, 90_000);
});
