import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { collectGraph, delayed, type Delayed } from "../../client/delayed.js";
import { GraphJobs } from "../../scheduler/graph-jobs.js";
import { WorkerProcess } from "../../worker/worker-process.js";
import { add, sleepThen } from "../fixtures/math-tasks.js";
import { startRedisServer, type RedisServer } from "../../protocol/redis/private-redis-server.js";
import { COMPILED_CLI } from "../support/compiled-weft.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(() => redis.stop());

const processes: ChildProcess[] = [];
const open: { stop?(): Promise<void>; close?(): Promise<void> }[] = [];
afterEach(async () => {
  for (const child of processes.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  for (const thing of open.splice(0).reverse()) await (thing.stop ?? thing.close)!.call(thing);
});

/** `weft scheduler`, as an operator starts it, from the sources. */
function startScheduler(prefix: string): ChildProcess {
  const child = spawn(
    process.execPath,
    [COMPILED_CLI, "scheduler", "--redis", redis.url, "--prefix", prefix, "--lock-ms", "1500", "--tick-ms", "50", "--no-http"],
    { cwd: root, stdio: "ignore" },
  );
  processes.push(child);
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/** A sum of `leaves` (a power of two) tasks of 100 ms, pairwise: `2 × leaves − 1` tasks. */
function treeSum(leaves: number): Delayed<number> {
  let level: Delayed<number>[] = Array.from({ length: leaves }, (_, i) => delayed(sleepThen)(100, i));
  while (level.length > 1) {
    const next: Delayed<number>[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(delayed(add)(level[i], level[i + 1]));
    level = next;
  }
  return level[0];
}

describe("scheduler restart", () => {
  it("finishes a job with the right result after the scheduler is killed with SIGKILL mid-job and started again", async () => {
    const prefix = "restart";
    const worker = await WorkerProcess.start({ redis: redis.url, prefix, nthreads: 4, executor: "main" });
    open.push(worker);
    const jobs = new GraphJobs({ prefix, connection: () => new Redis(redis.url, { maxRetriesPerRequest: null }) });
    open.push(jobs);

    // 32 leaves of 100 ms on 4 threads: about a second of work, summed pairwise.
    const root = treeSum(32);
    const id = await jobs.submit(collectGraph([root]), [root.key]);

    const first = startScheduler(prefix);
    const deadline = Date.now() + 20_000;
    while (worker.completed < 8 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(worker.completed).toBeGreaterThanOrEqual(8);
    expect(await jobs.state(id)).toBe("active");

    // Kill the whole scheduler, as a crash would: the process the operator started, and with it the
    // tuned node it runs in (which must not outlive it).
    first.kill("SIGKILL");
    await exited(first);

    const second = startScheduler(prefix);
    expect(await jobs.result(id, 30_000)).toEqual([(31 * 32) / 2]);
    second.kill("SIGTERM");
    await exited(second);
    expect(second.exitCode).toBe(0);
    expect(first.pid !== undefined && processGone(first.pid)).toBe(true);
  }, 60_000);

  it("reuses the results the workers kept: after a SIGKILL only the tasks running at the kill run again", async () => {
    const prefix = "restart-reuse";
    const worker = await WorkerProcess.start({ redis: redis.url, prefix, nthreads: 4, executor: "main" });
    open.push(worker);
    const jobs = new GraphJobs({ prefix, connection: () => new Redis(redis.url, { maxRetriesPerRequest: null }) });
    open.push(jobs);
    const root = treeSum(64);
    const tasks = 2 * 64 - 1;
    const id = await jobs.submit(collectGraph([root]), [root.key]);

    const first = startScheduler(prefix);
    const deadline = Date.now() + 30_000;
    while (worker.completed < 48 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    first.kill("SIGKILL");
    await exited(first);
    const ranBeforeKill = worker.completed;
    expect(ranBeforeKill).toBeGreaterThanOrEqual(48);

    const second = startScheduler(prefix);
    expect(await jobs.result(id, 30_000)).toEqual([(63 * 64) / 2]);
    // Every run the worker reported, beyond the job's own tasks: those it was running when the
    // scheduler died (4 threads), cancelled and run again. Run from scratch, it would be ranBeforeKill.
    const extra = worker.completed - tasks;
    expect(extra, `${worker.completed} runs for ${tasks} tasks, ${ranBeforeKill} of them before the kill`).toBeLessThanOrEqual(8);
    second.kill("SIGTERM");
    await exited(second);
  }, 60_000);
});
