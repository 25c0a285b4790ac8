import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { delayed } from "../../client/delayed.js";
import { Client } from "../../client/client.js";
import type { Key } from "../../graph/task-spec.js";
import { DistributedScheduler } from "../../scheduler/distributed-scheduler.js";
import type { WorkerId } from "../../protocol/ids.js";
import { Nanny } from "../../worker/nanny.js";
import { pacedWork } from "../fixtures/math-tasks.js";
import { usePrivateRedis, useStoppables, waitForWorkers } from "../support/cluster-setup.js";

/** Worker processes import the task functions from here. */
const fixtures = new URL("../fixtures/math-tasks.ts", import.meta.url).href;

const server = usePrivateRedis();
const stopAfterTest = useStoppables();
const scratch = mkdtempSync(join(tmpdir(), "weft-stealing-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("work stealing across worker processes", () => {
  it("moves queued tasks from a slowed-down worker to an idle one, and runs every task exactly once", async () => {
    const prefix = "stealing";
    const runLog = join(scratch, "runs.log");
    const worker = { redis: server().url, prefix, nthreads: 1, executor: "main" as const, imports: [fixtures], logLevel: "error" as const };
    // One worker takes 20 times longer per task than the other, as on a slower or overloaded machine.
    const slow = Nanny.start({ nprocs: 1, idPrefix: "slow", worker, env: { WEFT_TEST_TASK_MS: "200", WEFT_TEST_RUN_LOG: runLog, WEFT_TEST_WORKER_LABEL: "slow" } });
    const fast = Nanny.start({ nprocs: 1, idPrefix: "fast", worker, env: { WEFT_TEST_TASK_MS: "10", WEFT_TEST_RUN_LOG: runLog, WEFT_TEST_WORKER_LABEL: "fast" } });
    stopAfterTest(slow, fast);
    const steals: { key: Key; victim: WorkerId; thief: WorkerId }[] = [];
    const scheduler = await DistributedScheduler.start({ redis: server().url, prefix, tickMs: 50, onSteal: (steal) => steals.push(steal) });
    stopAfterTest(scheduler);
    await waitForWorkers(scheduler, 2);

    const n = 40;
    const works = Array.from({ length: n }, (_, i) => delayed(pacedWork)(i));
    const results = (await Client.attach(scheduler).compute(...works)) as { i: number; worker: string }[];

    expect(results.map((r) => r.i)).toEqual(Array.from({ length: n }, (_, i) => i));
    const runs = readFileSync(runLog, "utf8").trim().split("\n").map((line) => Number(line.split(" ")[0]));
    expect(runs.sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));

    expect(steals.length).toBeGreaterThan(0);
    const ranOn = new Map(works.map((work, i) => [work.key, results[i].worker]));
    for (const steal of steals) {
      expect(steal.victim.startsWith("slow")).toBe(true);
      expect(steal.thief.startsWith("fast")).toBe(true);
      expect(ranOn.get(steal.key)).toBe("fast");
    }
  }, 60_000);
});
