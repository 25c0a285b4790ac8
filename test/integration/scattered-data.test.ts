import { describe, expect, it } from "vitest";
import { Ref, taskSpec, type Graph } from "../../graph/task-spec.js";
import { TaskError } from "../../protocol/task-error.js";
import { DistributedScheduler } from "../../scheduler/distributed-scheduler.js";
import type { LocalTask } from "../../scheduler/local-task.js";
import { runGraph } from "../../scheduler/run-graph.js";
import { scatter } from "../../scheduler/scatter.js";
import { Nanny } from "../../worker/nanny.js";
import { WorkerProcess } from "../../worker/worker-process.js";
import { total } from "../fixtures/math-tasks.js";
import { usePrivateRedis, useStoppables, waitForWorkers } from "../support/cluster-setup.js";

/** Worker processes import the task functions from here. */
const fixtures = new URL("../fixtures/math-tasks.ts", import.meta.url).href;

const server = usePrivateRedis();
const stopAfterTest = useStoppables();

/** A graph of one task summing the Float64Array held under `key`. */
function totalOf(key: string): Graph {
  return new Map([[`total-of-${key}`, taskSpec(`total-of-${key}`, total.taskName, [new Ref(key)])]]);
}

/** 1 MB of data: too large to come back inline, so only the worker holding it has it. */
const MEGABYTE = new Float64Array(131_072).fill(0.5);

describe("scattered data on a cluster", () => {
  it("is held by one worker, read there by later graphs, and the scheduler keeps no copy of it", async () => {
    const prefix = "scatter-held";
    const workers = await Promise.all([1, 2].map(() => WorkerProcess.start({ redis: server().url, prefix, nthreads: 1, executor: "main" })));
    stopAfterTest(...workers);
    const scheduler = await DistributedScheduler.start({ redis: server().url, prefix, tickMs: 50 });
    stopAfterTest(scheduler);
    await waitForWorkers(scheduler, 2);

    await scatter(scheduler, new Map([["block", MEGABYTE]]), "data-1");
    expect(scheduler.stateOf("block")).toBe("memory");
    expect(scheduler.whoHas("block")).toHaveLength(1);
    // The task that placed it no longer carries the data (the core is read directly: no public view shows a run spec).
    const placed = (scheduler as unknown as { core: { runSpecOf(key: string): unknown } }).core.runSpecOf("block") as LocalTask;
    expect(placed.spec.args).toEqual([]);
    expect(await runGraph(scheduler, totalOf("block"), ["total-of-block"], "job-1")).toEqual([65_536]);
    expect(await runGraph(scheduler, totalOf("block"), ["total-of-block"], "job-2")).toEqual([65_536]);
    scheduler.release("data-1", ["block"]);
    expect(scheduler.stateOf("block")).toBeUndefined();
  });

  it("fails the graphs reading it, naming the key, once its worker is killed, instead of running anything again", async () => {
    const prefix = "scatter-lost";
    const nanny = Nanny.start({
      nprocs: 2,
      worker: { redis: server().url, prefix, nthreads: 1, executor: "main", imports: [fixtures], heartbeatTtlMs: 600, logLevel: "error" },
    });
    stopAfterTest(nanny);
    const scheduler = await DistributedScheduler.start({ redis: server().url, prefix, tickMs: 50, heartbeatTtlMs: 600 });
    stopAfterTest(scheduler);
    await waitForWorkers(scheduler, 2);

    await scatter(scheduler, new Map([["doomed", MEGABYTE]]), "data-2");
    const [holder] = scheduler.whoHas("doomed");
    const pid = (await scheduler.workers()).find((worker) => worker.id === holder)!.pid;
    process.kill(pid, "SIGKILL");
    const deadline = Date.now() + 10_000;
    while (scheduler.workerIds.includes(holder) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(scheduler.workerIds).not.toContain(holder);

    const error = (await runGraph(scheduler, totalOf("doomed"), ["total-of-doomed"], "job-3").catch((e: unknown) => e)) as TaskError;
    expect(error).toBeInstanceOf(TaskError);
    expect(error).toMatchObject({ remoteName: "ScatteredDataLost", blame: "doomed" });
    expect(error.message).toContain("scatter it again");
  }, 60_000);
});
