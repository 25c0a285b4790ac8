import { describe, expect, it } from "vitest";
import { delayed, type Delayed } from "../../client/delayed.js";
import { Client } from "../../client/client.js";
import { TaskError } from "../../protocol/task-error.js";
import { DistributedScheduler } from "../../scheduler/distributed-scheduler.js";
import { Nanny } from "../../worker/nanny.js";
import { seededRandom } from "../support/seeded-random.js";
import { add, inc, killProcess, sleepThen } from "../fixtures/math-tasks.js";
import { usePrivateRedis, useStoppables, waitForWorkers } from "../support/cluster-setup.js";

/** Worker processes import the task functions from here. */
const fixtures = new URL("../fixtures/math-tasks.ts", import.meta.url).href;

const server = usePrivateRedis();
const stopAfterTest = useStoppables();



describe("killed workers", () => {
  it("fails a task that kills its worker every time after 3 deaths, naming the workers, and keeps serving", async () => {
    const prefix = "killed";
    const nanny = Nanny.start({
      nprocs: 1,
      worker: { redis: server().url, prefix, nthreads: 1, executor: "main", imports: [fixtures], heartbeatTtlMs: 600, logLevel: "error" },
    });
    stopAfterTest(nanny);
    const scheduler = await DistributedScheduler.start({ redis: server().url, prefix, tickMs: 50, heartbeatTtlMs: 600 });
    stopAfterTest(scheduler);

    const poison = delayed(killProcess, { pure: false })();
    const error = (await Client.attach(scheduler).compute(poison).catch((e: unknown) => e)) as TaskError;
    expect(error).toBeInstanceOf(TaskError);
    expect(error.remoteName).toBe("KilledWorker");
    expect(error.message).toMatch(/was running on 3 workers that died: \S+, \S+, \S+/);

    expect(await Client.attach(scheduler).compute(delayed(inc)(1))).toEqual([2]);
  }, 60_000);

  it("still computes a 256-leaf tree reduction correctly when workers are killed with SIGKILL twice mid-run", async () => {
    const prefix = "sigkill";
    const nanny = Nanny.start({
      nprocs: 2,
      worker: { redis: server().url, prefix, nthreads: 2, executor: "main", imports: [fixtures], heartbeatTtlMs: 600, logLevel: "error" },
    });
    stopAfterTest(nanny);
    const scheduler = await DistributedScheduler.start({ redis: server().url, prefix, tickMs: 50, heartbeatTtlMs: 600 });
    stopAfterTest(scheduler);
    await waitForWorkers(scheduler, 2);

    // Leaves take 10 ms each: 256 of them on 4 threads keep the cluster busy for several seconds.
    let level: Delayed<number>[] = Array.from({ length: 256 }, (_, i) => delayed(sleepThen)(10, i));
    while (level.length > 1) {
      const next: Delayed<number>[] = [];
      for (let i = 0; i < level.length; i += 2) next.push(delayed(add)(level[i], level[i + 1]));
      level = next;
    }
    let settled = false;
    const result = Client.attach(scheduler).compute(level[0]).finally(() => (settled = true));

    const random = seededRandom(Date.now() % 1000);
    const killed: number[] = [];
    for (let kill = 0; kill < 2; kill++) {
      await new Promise((r) => setTimeout(r, 150 + random() * 400));
      const children = nanny.children();
      const victim = children[Math.floor(random() * children.length)];
      // Mid-run: the reduction must still be going when each worker dies.
      expect(settled).toBe(false);
      process.kill(victim.pid, "SIGKILL");
      killed.push(victim.pid);
    }
    expect(await result).toEqual([(255 * 256) / 2]);
    expect(killed).toHaveLength(2);
  }, 60_000);
});
