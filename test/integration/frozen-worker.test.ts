import { describe, expect, it } from "vitest";
import { delayed } from "../../client/delayed.js";
import { Client } from "../../client/client.js";
import { DistributedScheduler } from "../../scheduler/distributed-scheduler.js";
import { Nanny } from "../../worker/nanny.js";
import { pacedWork } from "../fixtures/math-tasks.js";
import { processExists, usePrivateRedis, useStoppables, waitForWorkers } from "../support/cluster-setup.js";

/** Worker processes import the task functions from here. */
const fixtures = new URL("../fixtures/math-tasks.ts", import.meta.url).href;

const server = usePrivateRedis();
const stopAfterTest = useStoppables();

describe("a frozen worker", () => {
  it.runIf(process.platform !== "win32")(
    "is declared dead within a few seconds, its running task reruns elsewhere, and once thawed it stops itself",
    async () => {
      const prefix = "frozen";
      // Short enough for a quick test, long enough that a loaded machine does not starve a heartbeat.
      const heartbeatTtlMs = 1_000;
      const worker = { redis: server().url, prefix, nthreads: 1, executor: "main" as const, imports: [fixtures], heartbeatTtlMs, logLevel: "error" as const };
      const frozenLines: string[] = [];
      const frozen = Nanny.start({
        nprocs: 1,
        idPrefix: "frozen",
        worker,
        // Long enough that the healthy worker joins, even on a loaded machine, before the task could end here.
        env: { WEFT_TEST_TASK_MS: "15000", WEFT_TEST_WORKER_LABEL: "frozen" },
        workerOutput: (line) => frozenLines.push(line),
      });
      stopAfterTest(frozen);
      const scheduler = await DistributedScheduler.start({ redis: server().url, prefix, tickMs: 50, heartbeatTtlMs });
      stopAfterTest(scheduler);
      await waitForWorkers(scheduler, 1);
      const [frozenId] = scheduler.workerIds;
      const [{ pid: frozenPid }] = frozen.children();

      // The task starts on the only worker, which is then frozen mid-run, as by a stuck VM or a debugger.
      const result = Client.attach(scheduler).compute(delayed(pacedWork, { pure: false })(7));
      await new Promise((r) => setTimeout(r, 300));
      const healthy = Nanny.start({ nprocs: 1, idPrefix: "healthy", worker, env: { WEFT_TEST_TASK_MS: "10", WEFT_TEST_WORKER_LABEL: "healthy" } });
      stopAfterTest(healthy);
      await waitForWorkers(scheduler, 2);
      process.kill(frozenPid, "SIGSTOP");
      const frozenAt = Date.now();
      try {
        while (scheduler.workerIds.includes(frozenId) && Date.now() - frozenAt < 10_000) await new Promise((r) => setTimeout(r, 20));
        const detectedMs = Date.now() - frozenAt;
        expect(scheduler.workerIds).not.toContain(frozenId);
        // "Within a few seconds": a few heartbeat lifetimes at most.
        expect(detectedMs).toBeLessThan(5 * heartbeatTtlMs);
        expect(await result).toEqual([{ i: 7, worker: "healthy" }]);
      } finally {
        process.kill(frozenPid, "SIGCONT");
      }
      const thawedAt = Date.now();
      // Thawed, it learns from its next heartbeat that it was declared dead, and exits at once: not after
      // its task, whose result nobody wants any more.
      const deadline = Date.now() + 10_000;
      while (processExists(frozenPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(processExists(frozenPid)).toBe(false);
      expect(Date.now() - thawedAt).toBeLessThan(5 * heartbeatTtlMs);
      expect(frozenLines.some((line) => /"level":"error".*declared this worker dead; exiting/.test(line))).toBe(true);
    },
    60_000,
  );
});
