import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { delayed } from "../../client/delayed.js";
import { Client } from "../../client/client.js";
import { DistributedScheduler } from "../../scheduler/distributed-scheduler.js";
import { Nanny } from "../../worker/nanny.js";
import { collectIndexedGraph } from "../../client/delayed.js";
import { runGraph } from "../../scheduler/run-graph.js";
import { loggedFill, pacedWork, total } from "../fixtures/math-tasks.js";
import { usePrivateRedis, useStoppables, waitForWorkers } from "../support/cluster-setup.js";

/** Worker processes import the task functions from here. */
const fixtures = new URL("../fixtures/math-tasks.ts", import.meta.url).href;

const server = usePrivateRedis();
const stopAfterTest = useStoppables();
const scratch = mkdtempSync(join(tmpdir(), "weft-graceful-stop-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("stopping a worker with SIGTERM mid-graph", () => {
  it("finishes the tasks it started, hands back its queue to the other worker, and every task runs exactly once", async () => {
    const prefix = "graceful";
    const runLog = join(scratch, "runs.log");
    // A long heartbeat lifetime: the stopped worker's queue must come back when it stops, not when it goes silent.
    const worker = { redis: server().url, prefix, nthreads: 1, executor: "main" as const, imports: [fixtures], heartbeatTtlMs: 30_000, logLevel: "error" as const };
    const env = { WEFT_TEST_TASK_MS: "150", WEFT_TEST_RUN_LOG: runLog };
    const leaving = Nanny.start({ nprocs: 1, idPrefix: "leaving", worker, env: { ...env, WEFT_TEST_WORKER_LABEL: "leaving" } });
    const staying = Nanny.start({ nprocs: 1, idPrefix: "staying", worker, env: { ...env, WEFT_TEST_WORKER_LABEL: "staying" } });
    stopAfterTest(staying);
    const scheduler = await DistributedScheduler.start({ redis: server().url, prefix, tickMs: 50, heartbeatTtlMs: 30_000 });
    stopAfterTest(scheduler);
    await waitForWorkers(scheduler, 2);

    const n = 16;
    const works = Array.from({ length: n }, (_, i) => delayed(pacedWork)(i));
    const computing = Client.attach(scheduler).compute(...works);
    // Both workers are busy, each with tasks queued behind the running one.
    await new Promise((r) => setTimeout(r, 250));
    await leaving.stop();

    const results = (await computing) as { i: number; worker: string }[];
    expect(results.map((r) => r.i)).toEqual(Array.from({ length: n }, (_, i) => i));
    const runs = readFileSync(runLog, "utf8").trim().split("\n").map((line) => line.split(" "));
    expect(runs.map(([i]) => Number(i)).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    // The leaving worker ran what it had started, and far less than its share: the rest came back.
    const ranOnLeaving = runs.filter(([, label]) => label === "leaving").length;
    expect(ranOnLeaving).toBeGreaterThanOrEqual(1);
    expect(ranOnLeaving).toBeLessThan(n / 2);
    expect(scheduler.workerIds.every((id) => id.startsWith("staying"))).toBe(true);
  }, 60_000);

  it("copies a result only it holds to another worker before leaving, so nothing is recomputed", async () => {
    const prefix = "handover";
    const runLog = join(scratch, "handover.log");
    const worker = { redis: server().url, prefix, nthreads: 1, executor: "main" as const, imports: [fixtures], logLevel: "error" as const };
    const leaving = Nanny.start({ nprocs: 1, idPrefix: "leaving", worker, env: { WEFT_TEST_RUN_LOG: runLog, WEFT_TEST_WORKER_LABEL: "leaving" } });
    const scheduler = await DistributedScheduler.start({ redis: server().url, prefix, tickMs: 50 });
    stopAfterTest(scheduler);
    await waitForWorkers(scheduler, 1);
    // 1.6 MB: far above the inline threshold, so only the worker that made it holds it.
    const big = delayed(loggedFill)(200_000, 1);
    const held = collectIndexedGraph([big]);
    await runGraph(scheduler, held.graph, [big.key], "holder", { collected: true, index: held.index, keep: true });

    const staying = Nanny.start({ nprocs: 1, idPrefix: "staying", worker, env: { WEFT_TEST_RUN_LOG: runLog, WEFT_TEST_WORKER_LABEL: "staying" } });
    stopAfterTest(staying);
    await waitForWorkers(scheduler, 2);
    await leaving.stop();
    await new Promise((r) => setTimeout(r, 200));
    expect(scheduler.workerIds.every((id) => id.startsWith("staying"))).toBe(true);

    expect(await Client.attach(scheduler).compute(delayed(total, { pure: false })(big))).toEqual([200_000]);
    expect(readFileSync(runLog, "utf8").trim().split("\n")).toEqual(["fill leaving"]);
    scheduler.release("holder", [big.key]);
  }, 60_000);
});
