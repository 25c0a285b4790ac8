import { describe, expect, it } from "vitest";
import { Client } from "../../client/client.js";
import { delayed } from "../../client/delayed.js";
import type { WorkerInfo } from "../../protocol/job-api.js";
import { SchedulerProcess } from "../../scheduler/scheduler-process.js";
import { Nanny } from "../../worker/nanny.js";
import { pacedWork } from "../fixtures/math-tasks.js";
import { usePrivateRedis, useStoppables } from "../support/cluster-setup.js";

/** Worker processes import the task functions from here. */
const fixtures = new URL("../fixtures/math-tasks.ts", import.meta.url).href;
const TOKEN = "paused-worker-token-0123456789";

const server = usePrivateRedis();
const stopAfterTest = useStoppables();

describe("a worker paused at its memory limit", () => {
  it("says so in its log and in /v1/workers, gets no work, and the job completes on another worker", async () => {
    const prefix = "paused";
    const scheduler = await SchedulerProcess.start({ redis: server().url, prefix, tickMs: 50, http: { token: TOKEN, port: 0 } });
    stopAfterTest(scheduler);
    const worker = (label: string, memoryLimit?: number, output?: (line: string) => void) =>
      Nanny.start({
        nprocs: 1,
        worker: { redis: server().url, prefix, nthreads: 1, executor: "main", imports: [fixtures], memoryLimit, logLevel: "info" },
        env: { WEFT_TEST_WORKER_LABEL: label, WEFT_TEST_TASK_MS: "5" },
        workerOutput: output ?? (() => undefined),
        logger: { debug() {}, info() {}, warn() {}, error() {} },
      });
    // Any process is over 80% of a 1 MB limit: this worker pauses as soon as it starts.
    const log: string[] = [];
    stopAfterTest(worker("tiny", 1_000_000, (line) => log.push(line)));
    stopAfterTest(worker("roomy"));

    const listWorkers = async (): Promise<WorkerInfo[]> => {
      const reply = await fetch(`${scheduler.http!.url}/v1/workers`, { headers: { authorization: `Bearer ${TOKEN}` } });
      return ((await reply.json()) as { workers: WorkerInfo[] }).workers;
    };
    let workers: WorkerInfo[] = [];
    const deadline = Date.now() + 30_000;
    while (!(workers.length === 2 && workers.some((w) => w.paused)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      workers = await listWorkers();
    }
    const paused = workers.find((w) => w.paused);
    expect(paused, "the tiny worker did not show as paused in /v1/workers within 30 s").toBeDefined();
    expect(paused).toMatchObject({ memoryLimitBytes: 1_000_000 });
    expect(workers.filter((w) => !w.paused)).toHaveLength(1);

    const pausedLines = log.map((line) => JSON.parse(line) as { level: string; msg: string; rssBytes?: number; memoryLimitBytes?: number });
    const said = pausedLines.filter((entry) => entry.msg.startsWith("worker paused"));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatchObject({ level: "warn", memoryLimitBytes: 1_000_000 });
    expect(said[0].msg).toMatch(/^worker paused: resident memory [\d.]+ MiB \(results held: 0\.0 MiB\) against a memory limit of 1\.0 MiB/);
    expect(said[0].rssBytes).toBeGreaterThan(800_000);

    const results = await Client.attach(scheduler.scheduler).compute(...Array.from({ length: 20 }, (_, i) => delayed(pacedWork)(i)));
    expect(results.map((r) => r.i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(new Set(results.map((r) => r.worker))).toEqual(new Set(["roomy"]));
    // Still paused, it never took anything, and said it paused only once.
    const after = (await listWorkers()).find((w) => w.id === paused!.id);
    expect(after).toMatchObject({ paused: true, queued: 0, running: 0 });
    expect(log.filter((line) => line.includes("worker paused"))).toHaveLength(1);
  }, 120_000);
});
