import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Table } from "apache-arrow";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { Client } from "../../client/client.js";
import { collectComputation } from "../../client/collection.js";
import { fromDelayed } from "../../client/dataframe/index.js";
import { collectGraph, delayed, type Delayed } from "../../client/delayed.js";
import type { Graph, Key } from "../../graph/task-spec.js";
import { ControlPlane } from "../../protocol/redis/control-plane.js";
import { GraphJobs } from "../../scheduler/graph-jobs.js";
import { chaosLeaf, chaosPartition, chaosSum, PARTITION_SCHEMA, RUN_LOG_ENV } from "../fixtures/chaos-tasks.js";
import { startRestartableRedis, type RestartableRedis } from "../support/restartable-redis.js";
import { rowsOf, sortRows } from "../support/dataframe-reference.js";
import { auditExecutions, readExecutions, type Fault, type RerunCause } from "../support/execution-ledger.js";
import { endFamily, parentOf, processExists } from "../support/processes.js";
import { seededRandom } from "../support/seeded-random.js";
import { startWeft, type StartedWeft } from "../support/weft-command.js";

/**
 * Issue 13's chaos test: "every fault ends in a correct result or a clear error". A cluster of real
 * processes (a redis-server with an append-only file, `weft scheduler`, `weft worker --nprocs 2`)
 * runs three graphs of a thousand-plus tasks and a dataframe group-by, submitted to the durable jobs
 * queue, while the test kills worker processes at random, kills the scheduler once and starts
 * another, and crashes Redis once and starts it again on its file. Every job must end with the
 * right result, every task must have run, and every execution beyond a task's first must follow a
 * fault that accounts for it.
 */

/** The task module the workers import, as an operator names it (relative to the project). */
const TASK_MODULE = "test/fixtures/chaos-tasks.ts";
const PREFIX = "chaos";
/** How long the faults may go on, and every job has to end, from the first submission. */
const RUN_BUDGET_MS = 110_000;
/** Time between two worker kills: "every couple of seconds", at random in this range. */
const WORKER_KILL_EVERY_MS: readonly [number, number] = [1_000, 2_500];
/**
 * The share of the tasks' executions after which the scheduler is killed, and then Redis: mid-run,
 * whatever the machine's speed. Workers are killed until Redis is; the rest of the run goes
 * undisturbed, so that whatever a fault left stuck shows as a job that never ends (a later kill
 * would heal it: the scheduler recovers a dead worker's tasks, whatever became of them).
 */
const SCHEDULER_KILL_AT = 0.3;
const REDIS_RESTART_AT = 0.6;
/** Worker kills before Redis is killed, whatever the share of executions by then. */
const WORKER_KILLS_BEFORE_REDIS = 3;
/** How long Redis stays down: long enough that every connection notices, short of the workers' 3 s heartbeat lifetime. */
const REDIS_DOWN_MS = 500;

/** Everything a test started, ended after it whether it passed or not. */
const commands: StartedWeft[] = [];
const connections: Redis[] = [];
let jobs: GraphJobs | undefined;
let redis: RestartableRedis | undefined;
/** The test's scratch directory (the run log), and what its processes logged so far. */
let scratch: string | undefined;
let processLogs: (() => string) | undefined;
afterEach(async (context) => {
  // Workers and schedulers first (a stopping worker still talks to Redis), then Redis, then files.
  await Promise.all(commands.splice(0).map((command) => endFamily(command.command, 5_000)));
  // Closed in good order when Redis answers; its connections are cut below in any case.
  await Promise.race([jobs?.close(), sleep(2_000)]);
  jobs = undefined;
  for (const connection of connections.splice(0)) connection.disconnect();
  await redis?.stop();
  redis = undefined;
  if (scratch !== undefined) {
    // A failed run keeps its run log, with every process's log beside it, for a post-mortem.
    if (context.task.result?.state === "fail") {
      writeFileSync(join(scratch, "processes.log"), processLogs?.() ?? "");
      console.error(`chaos test failed: its run log and the processes' logs are kept in ${scratch}`);
    } else {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  scratch = undefined;
  processLogs = undefined;
});

/** One job of the test: its graph, the tasks it logs, and its expected result. */
interface ChaosJob {
  readonly name: string;
  readonly graph: Graph;
  readonly outputs: readonly Key[];
  /** Keys of the logged tasks (`chaos-tasks.ts`) in the graph: each must run at least once. */
  readonly loggedKeys: readonly string[];
  /** Checks the job's output values. */
  check(values: readonly unknown[]): void;
}

/**
 * A reduction of `leaves` leaves of `leafMs` each (leaf `i` is `valueOf(i)`), in sums of `fanIn`
 * inputs of `sumMs` each, level by level: `fanIn` 2 is a binary tree, `fanIn` ≥ `leaves` one wide
 * fan-in. Every task is named `name/...`, and logs its executions under that key.
 */
function reduction(name: string, leaves: number, fanIn: number, valueOf: (i: number) => number, leafMs: number, sumMs: number): ChaosJob {
  const keys: string[] = [];
  const named = (key: string) => {
    keys.push(key);
    return { key };
  };
  let level: Delayed<number>[] = Array.from({ length: leaves }, (_, i) => {
    const { key } = named(`${name}/leaf-${i}`);
    return delayed(chaosLeaf, { key })(key, valueOf(i), leafMs);
  });
  for (let depth = 1; level.length > 1; depth++) {
    const next: Delayed<number>[] = [];
    for (let i = 0; i < level.length; i += fanIn) {
      const { key } = named(`${name}/sum-${depth}-${i / fanIn}`);
      next.push(delayed(chaosSum, { key })(key, sumMs, level.slice(i, i + fanIn)));
    }
    level = next;
  }
  let expected = 0;
  for (let i = 0; i < leaves; i++) expected += valueOf(i);
  const root = level[0];
  return {
    name,
    graph: collectGraph([root]),
    outputs: [root.key],
    loggedKeys: keys,
    check: (values) => expect(values, `the result of ${name}`).toEqual([expected]),
  };
}

/** A group-by over `partitions` generated partitions; its expected result is computed in this process. */
async function groupByJob(partitions: number, rows: number, groups: number, partitionMs: number): Promise<ChaosJob> {
  const keys = Array.from({ length: partitions }, (_, i) => `frame/partition-${i}`);
  const parts = keys.map((key, i) => delayed(chaosPartition, { key })(key, i, rows, groups, partitionMs));
  const grouped = fromDelayed(parts, { meta: PARTITION_SCHEMA })
    .groupBy("k")
    .agg({ v: ["sum", "count", "min", "max", "mean"] });
  const computation = collectComputation([grouped]);
  // The same frame, computed here, on this process's own executor.
  const local = await Client.local({ executor: "sync" });
  let expected: Table;
  try {
    [expected] = (await local.compute(grouped)) as [Table];
  } finally {
    await local.close();
  }
  const expectedRows = sortRows(rowsOf(expected), ["k"], [true]);
  expect(expectedRows).toHaveLength(groups);
  return {
    name: "frame",
    graph: new Map(computation.graph),
    outputs: computation.outputs,
    loggedKeys: keys,
    check: (values) => {
      const [table] = computation.results(values) as [Table];
      expect(sortRows(rowsOf(table), ["k"], [true]), "the group-by's rows").toEqual(expectedRows);
    },
  };
}

/** Lines in the run log so far: executions started, whatever became of them. */
function executionsLogged(runLog: string): number {
  try {
    const text = readFileSync(runLog, "utf8");
    let lines = 0;
    for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) lines++;
    return lines;
  } catch {
    return 0;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe("chaos: worker processes, the scheduler and Redis killed while jobs run", () => {
  it("ends every job with the right result, runs every task, and accounts for every extra execution", async () => {
    const seed = Number(process.env.WEFT_CHAOS_SEED ?? Date.now() % 1_000_000);
    const random = seededRandom(seed);
    scratch = mkdtempSync(join(tmpdir(), "weft-chaos-"));
    const runLog = join(scratch, "runs.log");
    writeFileSync(runLog, "");
    const server = (redis = await startRestartableRedis());
    const connect = () => {
      const connection = new Redis(server.url, { maxRetriesPerRequest: null });
      connection.on("error", () => undefined);
      connections.push(connection);
      return connection;
    };
    const registry = new ControlPlane(connect(), { prefix: PREFIX });
    const queue = (jobs = new GraphJobs({ prefix: PREFIX, connection: connect }));

    const schedulerArgs = ["scheduler", "--redis", server.url, "--prefix", PREFIX, "--no-http", "--lease-ms", "1500", "--lock-ms", "3000", "--tick-ms", "50", "--log-level", "info"];
    const startScheduler = () => {
      const scheduler = startWeft(schedulerArgs);
      commands.push(scheduler);
      return scheduler;
    };
    const schedulers = [startScheduler()];
    const workers = startWeft(
      ["worker", "--redis", server.url, "--prefix", PREFIX, "--nprocs", "2", "--nthreads", "2", "--import", TASK_MODULE, "--log-level", "info"],
      { [RUN_LOG_ENV]: runLog },
    );
    commands.push(workers);
    const nannyPid = workers.command.pid!;
    const logs = () =>
      [...schedulers.map((s, i) => `--- scheduler ${i + 1} (pid ${s.command.pid}):\n${s.stderr()}`), `--- weft worker (pid ${nannyPid}):\n${workers.stderr()}`].join("\n");
    processLogs = logs;
    const liveWorkers = async () => (await registry.listWorkers()).filter((w) => w.alive && w.state === "running");

    // The cluster forms: both worker processes registered (each loads the task module on 2 threads).
    const formedBy = Date.now() + 30_000;
    while ((await liveWorkers()).length < 2 && Date.now() < formedBy) await sleep(100);
    expect((await liveWorkers()).length, `the workers did not register within 30 s:\n${logs()}`).toBe(2);

    const chaosJobs = [
      reduction("pairs", 512, 2, (i) => i, 8, 1),
      reduction("fours", 1024, 4, (i) => 2 * i + 1, 8, 1),
      reduction("wide", 1000, 1000, (i) => i % 7, 8, 1),
      await groupByJob(32, 2_500, 25, 8),
    ];
    const allKeys = chaosJobs.flatMap((job) => job.loggedKeys);
    const started = Date.now();
    const ids = await Promise.all(chaosJobs.map((job) => queue.submit(job.graph, job.outputs)));
    const deadline = started + RUN_BUDGET_MS;

    // The faults, until every job has ended (or the budget is spent).
    const faults: Fault[] = [];
    const timeline: string[] = [];
    const note = (what: string) => timeline.push(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);
    const count = (kind: Fault["kind"]) => faults.filter((fault) => fault.kind === kind).length;
    const unfinished = async () => (await Promise.all(ids.map((id) => queue.state(id)))).filter((state) => state !== "completed" && state !== "failed").length;

    /** A crash of the scheduler, and a supervisor starting another at once: it stands by until the dead one's lease lapses, then takes over its jobs. */
    const killScheduler = (context: string) => {
      const victim = schedulers.at(-1)!.command;
      victim.kill("SIGKILL");
      faults.push({ kind: "scheduler-kill", at: Date.now() });
      note(`killed the scheduler (pid ${victim.pid}) after ${context}`);
      schedulers.push(startScheduler());
    };
    /** A crash of Redis, and a supervisor starting it again on its append-only file. */
    const restartRedis = async (context: string) => {
      await server.kill("SIGKILL");
      faults.push({ kind: "redis-restart", at: Date.now() });
      await sleep(REDIS_DOWN_MS);
      await server.restart();
      note(`killed Redis after ${context}; started again on its append-only file ${REDIS_DOWN_MS} ms later`);
    };
    const killInterval = () => WORKER_KILL_EVERY_MS[0] + random() * (WORKER_KILL_EVERY_MS[1] - WORKER_KILL_EVERY_MS[0]);
    /** Since when both worker processes have run (undefined: one is down), and how long after that the next is killed. */
    let wholeSince: number | undefined;
    let nextKillAfter = killInterval();
    /**
     * A worker process killed at random, a while after both run: each kill hits a worker that has
     * done some work, however long a replacement takes to start on a loaded machine. A killed
     * worker's heartbeat outlives it for a while: only processes of this nanny still running count.
     */
    const maybeKillWorker = async (context: string) => {
      const live = (await liveWorkers()).filter((w) => processExists(w.pid) && parentOf(w.pid) === nannyPid);
      if (live.length < 2) wholeSince = undefined;
      else if (wholeSince === undefined) wholeSince = Date.now();
      else if (Date.now() >= wholeSince + nextKillAfter) {
        const victim = live[Math.floor(random() * live.length)];
        process.kill(victim.pid, "SIGKILL");
        faults.push({ kind: "worker-kill", at: Date.now(), pid: victim.pid });
        note(`killed worker ${victim.id} (pid ${victim.pid}) after ${context}`);
        wholeSince = undefined;
        nextKillAfter = killInterval();
      }
    };

    for (;;) {
      const running = await unfinished();
      if (running === 0 || Date.now() > deadline) break;
      const ran = executionsLogged(runLog);
      const context = `${ran} executions, ${running} jobs running`;
      if (count("scheduler-kill") === 0) {
        if (ran >= SCHEDULER_KILL_AT * allKeys.length) killScheduler(context);
        else await maybeKillWorker(context);
      } else if (count("redis-restart") === 0) {
        if (ran >= REDIS_RESTART_AT * allKeys.length && count("worker-kill") >= WORKER_KILLS_BEFORE_REDIS) await restartRedis(context);
        else await maybeKillWorker(context);
      }
      // After the Redis restart, nothing more: the jobs finish undisturbed.
      await sleep(100);
    }
    const elapsedMs = Date.now() - started;

    // Every job ended, with the right result: none lost, none failed, none still waiting.
    const outcomes = await Promise.all(ids.map(async (id) => ({ state: await queue.state(id), failure: await queue.failure(id) })));
    const story = `after ${(elapsedMs / 1000).toFixed(1)} s (seed ${seed}):\n${timeline.join("\n")}`;
    expect(
      outcomes.map((outcome, i) => `${chaosJobs[i].name}: ${outcome.state}${outcome.failure === undefined ? "" : ` (${outcome.failure.message})`}`),
      story,
    ).toEqual(chaosJobs.map((job) => `${job.name}: completed`));
    for (const [i, job] of chaosJobs.entries()) job.check(await queue.result(ids[i], 10_000));

    // Each fault happened, while jobs ran: the loop acts only while a job has not ended.
    expect(count("scheduler-kill"), `scheduler kills ${story}`).toBe(1);
    expect(count("redis-restart"), `Redis restarts ${story}`).toBe(1);
    expect(count("worker-kill"), `worker processes killed ${story}`).toBeGreaterThanOrEqual(WORKER_KILLS_BEFORE_REDIS);

    // Every task ran, and every execution beyond a task's first follows a fault that accounts for it.
    const audit = auditExecutions(allKeys, readExecutions(runLog), faults);
    const unexplained = audit.extra.filter((extra) => extra.cause === undefined);
    const byCause = (why: RerunCause) => audit.extra.filter((extra) => extra.cause?.why === why).length;
    const summary = [
      `chaos test (seed ${seed}): ${chaosJobs.length} jobs completed in ${(elapsedMs / 1000).toFixed(1)} s`,
      `tasks ${audit.tasks}, executions ${audit.executions}, extra executions ${audit.extra.length} ` +
        `(after a kill of the worker that ran the task ${byCause("its-worker-killed")}, after the scheduler kill ${byCause("scheduler-killed")}, ` +
        `after the Redis restart ${byCause("redis-restarted")}, after a kill of another worker ${byCause("another-worker-killed")}, unexplained ${unexplained.length})`,
      `faults ${faults.length}: ${count("worker-kill")} worker kills, ${count("scheduler-kill")} scheduler kill, ${count("redis-restart")} Redis restart`,
      ...timeline,
    ].join("\n");
    console.log(summary);
    const listed = (what: readonly unknown[]) => `${what.length}, the first: ${JSON.stringify(what.slice(0, 10), null, 1)}`;
    expect(audit.unexpected, `executions of keys no job has: ${listed(audit.unexpected)}`).toEqual([]);
    expect(audit.neverRan, `tasks that never ran: ${listed(audit.neverRan)}`).toEqual([]);
    expect(unexplained.length, `extra executions no fault accounts for: ${listed(unexplained)}\n${summary}`).toBe(0);
  }, 180_000);
});
