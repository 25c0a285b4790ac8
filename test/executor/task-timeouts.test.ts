import { afterEach, describe, expect, it } from "vitest";
import { Client } from "../../client/client.js";
import { delayed } from "../../client/delayed.js";
import type { ExecutionOutcome, ExecutionRequest } from "../../executor/executor.js";
import { InlineExecutor } from "../../executor/inline-executor.js";
import { ThreadPoolExecutor } from "../../executor/thread-pool-executor.js";
import { TaskError } from "../../protocol/task-error.js";
import { inc, sleep, spin, spinForever } from "../fixtures/math-tasks.js";

const fixtures = new URL("../fixtures/math-tasks.ts", import.meta.url).href;

/** What the tests start, closed after each, also when it fails. */
const closeAfterTest: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const thing of closeAfterTest.splice(0).reverse()) await thing.close();
});

/** A pool whose outcomes a test can wait for, by key. */
async function startPool(nthreads: number) {
  const outcomes = new Map<string, ExecutionOutcome>();
  const waiters = new Map<string, (outcome: ExecutionOutcome) => void>();
  const pool = await ThreadPoolExecutor.start(
    (batch) => {
      for (const outcome of batch) {
        outcomes.set(outcome.request.key, outcome);
        waiters.get(outcome.request.key)?.(outcome);
      }
    },
    { nthreads, imports: [fixtures] },
  );
  closeAfterTest.push(pool);
  const outcomeOf = (key: string) =>
    outcomes.has(key) ? Promise.resolve(outcomes.get(key)!) : new Promise<ExecutionOutcome>((resolve) => waiters.set(key, resolve));
  return { pool, outcomes, outcomeOf };
}

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe("task timeouts and cancellation on the threads executor", () => {
  it("fails a task stuck in a loop with a TaskTimeoutError, and runs the next task on a fresh thread", async () => {
    const { pool, outcomeOf } = await startPool(1);
    pool.run([{ key: "stuck", fn: spinForever.taskName, args: ["stuck"], timeoutMs: 300 }]);
    const stuck = await outcomeOf("stuck");
    expect(stuck.ok).toBe(false);
    expect(!stuck.ok && stuck.error).toMatchObject({
      name: "TaskTimeoutError",
      message: expect.stringMatching(/^task "stuck" ran longer than its timeout of 300 ms/),
    });
    // The spinning thread was terminated and replaced: the pool is whole again and runs work.
    pool.run([{ key: "next", fn: inc.taskName, args: [1] }]);
    expect(await outcomeOf("next")).toMatchObject({ ok: true, value: 2 });
    await until(() => pool.threadCount === 1);
    expect(pool.threadCount).toBe(1);
  }, 90_000);

  it("counts a timeout from when the thread starts the task, not from when it was queued behind others", async () => {
    const { pool, outcomeOf } = await startPool(1);
    pool.run([{ key: "first", fn: spin.taskName, args: [400] }]);
    pool.run([{ key: "timed", fn: spin.taskName, args: [50], timeoutMs: 300 }]);
    expect(await outcomeOf("first")).toMatchObject({ ok: true, value: 400 });
    expect(await outcomeOf("timed")).toMatchObject({ ok: true, value: 50 });
  }, 90_000);

  it("ends a cancelled task that spins, replaces its thread, and reruns the other tasks that thread held", async () => {
    const { pool, outcomes, outcomeOf } = await startPool(1);
    const stuck: ExecutionRequest = { key: "stuck", fn: spinForever.taskName, args: ["stuck"] };
    pool.run([stuck, { key: "behind", fn: inc.taskName, args: [10] }]);
    // Both went to the one thread in one batch; the first never returns.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(outcomes.size).toBe(0);
    pool.cancel([stuck]);
    expect(await outcomeOf("behind")).toMatchObject({ ok: true, value: 11 });
    pool.run([{ key: "after", fn: inc.taskName, args: [20] }]);
    expect(await outcomeOf("after")).toMatchObject({ ok: true, value: 21 });
    expect(outcomes.has("stuck")).toBe(false);
    await until(() => pool.threadCount === 1);
    expect(pool.threadCount).toBe(1);
  }, 90_000);

  it("drops a cancelled task that has not started", async () => {
    const { pool, outcomes, outcomeOf } = await startPool(1);
    const waiting: ExecutionRequest = { key: "waiting", fn: inc.taskName, args: [1], timeoutMs: 5_000 };
    pool.run([{ key: "busy", fn: spin.taskName, args: [200] }, waiting]);
    pool.cancel([waiting]);
    expect(await outcomeOf("busy")).toMatchObject({ ok: true });
    pool.run([{ key: "later", fn: inc.taskName, args: [2] }]);
    await outcomeOf("later");
    expect(outcomes.has("waiting")).toBe(false);
  }, 90_000);

  it("gives a computation's tasks the client's default timeout; a task's own timeout wins", async () => {
    const client = await Client.local({ executor: "threads", nthreads: 1, imports: [fixtures], taskTimeoutMs: 300 });
    closeAfterTest.push(client);
    const error = (await client.compute(delayed(spinForever)("default")).catch((e: unknown) => e)) as TaskError;
    expect(error).toBeInstanceOf(TaskError);
    expect(error.remoteName).toBe("TaskTimeoutError");
    expect(error.message).toContain("ran longer than its timeout of 300 ms");
    // Its own, longer timeout lets a 600 ms task finish.
    expect(await client.compute(delayed(spin, { timeoutMs: 5_000 })(600))).toEqual([600]);
    expect(await client.compute(delayed(inc)(1))).toEqual([2]);
  }, 90_000);

  it("reruns a timed-out task only as its retries allow", async () => {
    const client = await Client.local({ executor: "threads", nthreads: 1, imports: [fixtures] });
    closeAfterTest.push(client);
    const started = performance.now();
    const error = (await client.compute(delayed(spinForever, { timeoutMs: 200, retries: 2 })("retried")).catch((e: unknown) => e)) as TaskError;
    expect(error.remoteName).toBe("TaskTimeoutError");
    // Three runs of 200 ms each.
    expect(performance.now() - started).toBeGreaterThanOrEqual(600);
  }, 90_000);

  it("frees the thread of a spinning task when its computation is cancelled", async () => {
    const client = await Client.local({ executor: "threads", nthreads: 1, imports: [fixtures] });
    closeAfterTest.push(client);
    const future = client.submit(spinForever, "cancelled");
    await new Promise((resolve) => setTimeout(resolve, 300));
    await future.cancel();
    // With the only thread still spinning, this would never finish.
    expect(await client.compute(delayed(inc)(41))).toEqual([42]);
  }, 90_000);

  it("refuses a timeout that is not a whole number of milliseconds from 1 to 2^31 - 1", () => {
    expect(() => delayed(inc, { timeoutMs: 0 })).not.toThrow();
    expect(() => delayed(inc, { timeoutMs: 0 })(1)).toThrow(RangeError);
    expect(() => delayed(inc, { timeoutMs: 1.5 })(1)).toThrow(RangeError);
    expect(() => delayed(inc, { timeoutMs: 2 ** 31 })(1)).toThrow(RangeError);
  });
});

describe("task timeouts on the sync executor", () => {
  it("cannot interrupt synchronous code, so fails a task that returns after its timeout", async () => {
    const outcomes: ExecutionOutcome[] = [];
    const inline = new InlineExecutor((batch) => outcomes.push(...batch));
    inline.run([
      { key: "late", fn: spin.taskName, args: [150], timeoutMs: 50 },
      { key: "in-time", fn: spin.taskName, args: [10], timeoutMs: 5_000 },
    ]);
    expect(outcomes).toHaveLength(2);
    expect(outcomes[0]).toMatchObject({ ok: false, error: { name: "TaskTimeoutError" } });
    expect(!outcomes[0].ok && outcomes[0].error.message).toContain("synchronous code cannot be interrupted");
    expect(outcomes[1]).toMatchObject({ ok: true, value: 10 });
  });

  it("stops waiting for an async task at its timeout and goes on with the next", async () => {
    const outcomes: ExecutionOutcome[] = [];
    const inline = new InlineExecutor((batch) => outcomes.push(...batch));
    closeAfterTest.push(inline);
    inline.run([
      { key: "slow", fn: sleep.taskName, args: [10_000], timeoutMs: 100 },
      { key: "next", fn: inc.taskName, args: [1] },
    ]);
    await until(() => outcomes.length === 2, 5_000);
    expect(outcomes.map((o) => [o.request.key, o.ok])).toEqual([
      ["slow", false],
      ["next", true],
    ]);
    expect(outcomes[0]).toMatchObject({ error: { name: "TaskTimeoutError" } });
  });
});
