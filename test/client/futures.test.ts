import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../../client/client.js";
import { asCompleted, CancelledError, wait, type Future } from "../../client/future.js";
import { task } from "../../client/task.js";
import { TaskError } from "../../protocol/task-error.js";
import { delayed } from "../../client/delayed.js";
import { add, fail, inc, sum } from "../fixtures/math-tasks.js";

let calls = 0;
const countedDouble = task("test.futures.double", (x: number) => {
  calls++;
  return 2 * x;
});

let release: (() => void) | undefined;
const gate = task("test.futures.gate", async (x: number) => {
  await new Promise<void>((resolve) => (release = resolve));
  return x;
});

let client: Client;
beforeAll(async () => {
  client = await Client.local({ executor: "sync" });
});
afterAll(() => client.close());

describe("futures on the local client", () => {
  it("submit runs the call now and the future's result is its value", async () => {
    const future = client.submit(inc, 41);
    expect(await future.result()).toBe(42);
    expect(future.status).toBe("finished");
    expect(future.done()).toBe(true);
  });

  it("a future passed to submit is read by the new task, not computed again", async () => {
    calls = 0;
    const doubled = client.submit(countedDouble, 5);
    await doubled.result();
    const sum = client.submit(add, doubled, doubled);
    expect(await sum.result()).toBe(20);
    expect(calls).toBe(1);
  });

  it("map submits one task per item and gather returns their results in order", async () => {
    const futures = client.map(inc, [1, 2, 3, 4]);
    expect(await client.gather(futures)).toEqual([2, 3, 4, 5]);
  });

  it("a failed task's future rejects with a TaskError naming its key", async () => {
    const future = client.submit(fail, "boom");
    const error = (await future.result().catch((e: unknown) => e)) as TaskError;
    expect(error).toBeInstanceOf(TaskError);
    expect(error.key).toBe(future.key);
    expect(error.remoteMessage).toBe("boom");
    expect(future.status).toBe("error");
  });

  it("asCompleted yields every future once, as each finishes", async () => {
    const futures = client.map(inc, [10, 20, 30]);
    const seen: Future<number>[] = [];
    for await (const future of asCompleted(futures)) {
      expect(future.done()).toBe(true);
      seen.push(future);
    }
    expect(new Set(seen)).toEqual(new Set(futures));
    expect(seen).toHaveLength(3);
  });

  it("wait returns the futures done and those not done when the time is up", async () => {
    const quick = client.submit(inc, 1);
    const slow = client.submit(gate, 7);
    await quick.result();
    const { done, notDone } = await wait([quick, slow], { timeoutMs: 50 });
    expect(done).toEqual([quick]);
    expect(notDone).toEqual([slow]);
    release?.();
    release = undefined;
    expect(await slow.result()).toBe(7);
  });

  it("wait with FIRST_EXCEPTION returns as soon as one future fails", async () => {
    // The sync executor runs one task at a time, in submission order: the failure comes first.
    const failing = client.submit(fail, "first");
    const blocked = client.submit(gate, 8);
    const { done, notDone } = await wait([blocked, failing], { returnWhen: "FIRST_EXCEPTION" });
    expect(done).toEqual([failing]);
    expect(notDone).toEqual([blocked]);
    while (release === undefined) await new Promise((resolve) => setTimeout(resolve, 1));
    release();
    release = undefined;
    await blocked.result();
  });

  it("a cancelled future's result rejects with CancelledError", async () => {
    const blocked = client.submit(gate, 9);
    await blocked.cancel();
    await expect(blocked.result()).rejects.toBeInstanceOf(CancelledError);
    expect(blocked.status).toBe("cancelled");
    release?.();
  });
});

describe("progress on the local client", () => {
  it("calls onProgress as tasks finish, and last with every task finished", async () => {
    const seen: { job: string; tasks: { total: number; finished: number; erred: number } }[] = [];
    const local = await Client.local({ executor: "sync", onProgress: (progress) => seen.push(progress) });
    try {
      const leaves = Array.from({ length: 6 }, (_, i) => delayed(inc)(100 + i));
      await local.compute(delayed(sum)(leaves));
      expect(seen.length).toBeGreaterThanOrEqual(1);
      expect(seen.at(-1)!.tasks).toMatchObject({ total: 7, finished: 7, erred: 0 });
      expect(new Set(seen.map((p) => p.job)).size).toBe(1);
    } finally {
      await local.close();
    }
  });

  it("counts a failed task as erred in the last report", async () => {
    const seen: { tasks: { total: number; finished: number; erred: number } }[] = [];
    const local = await Client.local({ executor: "sync", onProgress: (progress) => seen.push(progress) });
    try {
      await local.compute(delayed(fail)("counted")).catch(() => undefined);
      expect(seen.at(-1)!.tasks).toMatchObject({ total: 1, finished: 0, erred: 1 });
    } finally {
      await local.close();
    }
  });
});
