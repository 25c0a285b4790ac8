import { threadId } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../../client/client.js";
import { delayed } from "../../client/delayed.js";
import { TaskError } from "../../protocol/task-error.js";
import { Call } from "../../graph/task-spec.js";
import type { ExecutionOutcome } from "../../executor/executor.js";
import { ThreadPoolExecutor } from "../../executor/thread-pool-executor.js";
import { Table } from "apache-arrow";
import { bufferOf, makeTable, splitTable, sumV } from "../fixtures/table-tasks.js";
import { add, double, exitThread, fill, inc, makeFunction, slowSquare, sum, threadId as threadIdTask, total } from "../fixtures/math-tasks.js";

let client: Client;
beforeAll(async () => {
  client = await Client.local({ executor: "threads", nthreads: 2 });
});
afterAll(() => client.close());

describe("threads executor", () => {
  it("runs registered tasks on worker threads, not the calling thread", async () => {
    const ids = await client.compute(...Array.from({ length: 8 }, (_, i) => delayed(threadIdTask)(i)));
    for (const id of ids) expect(id).not.toBe(threadId);
  });

  it("spreads independent work over its threads", async () => {
    const squares = Array.from({ length: 40 }, (_, i) => delayed(slowSquare)(i));
    const ids = await client.compute(...squares.map((s) => delayed(threadIdTask)(s as never)));
    expect(new Set(ids).size).toBe(2);
  });

  it("runs a closure on the calling thread, since it cannot be sent to another", async () => {
    const [id] = await client.compute(delayed(() => threadId)());
    expect(id).toBe(threadId);
  });

  it("computes a tree reduction correctly", async () => {
    let level = Array.from({ length: 256 }, (_, i) => delayed(inc)(i));
    while (level.length > 1) {
      const next = [];
      for (let i = 0; i < level.length; i += 2) next.push(delayed(add)(level[i], level[i + 1]));
      level = next;
    }
    expect(await client.compute(level[0])).toEqual([(256 * 257) / 2]);
  });

  it("evaluates fused chains inside a thread", async () => {
    const chain = delayed(double)(delayed(inc)(delayed(inc)(1)));
    expect(await client.compute(delayed(sum)([chain, chain]))).toEqual([12]);
  });

  it("reports a task's error with its key and the stack from the thread", async () => {
    const { fail } = await import("../fixtures/math-tasks.js");
    const broken = delayed(fail)("thread boom");
    const error = (await client.compute(broken).catch((e: unknown) => e)) as TaskError;
    expect(error).toBeInstanceOf(TaskError);
    expect(error.key).toBe(broken.key);
    expect(error.remoteStack).toContain("math-tasks.ts");
  });

  it("returns large typed arrays in shared memory, so passing them on copies nothing", async () => {
    const data = delayed(fill)(100_000, 1.5);
    const [array, summed] = await client.compute(data, delayed(total)(data));
    expect((array as Float64Array).buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(summed).toBe(150_000);
  });

  it("returns Arrow tables from threads as Tables", async () => {
    const [table] = await client.compute(delayed(makeTable)(1000));
    expect(table).toBeInstanceOf(Table);
    expect((table as Table).getChild("v")!.get(999)).toBe(999);
  });

  it("hands Arrow tables to tasks in other threads as Tables, nested ones too", async () => {
    const table = delayed(makeTable)(1000);
    const parts = delayed(splitTable)(table);
    const [whole, tail] = await client.compute(delayed(sumV)(table), delayed(sumV)(parts.get("parts").at(1)));
    expect(whole).toBe((999 * 1000) / 2);
    expect(tail).toBe((999 * 1000) / 2);
  });

  it("shares a table's bytes with the threads that read it instead of copying them", async () => {
    // The table is an output too, so it is not fused into its reader and must cross to the reader's thread.
    const table = delayed(makeTable)(1000);
    const [, seen] = await client.compute(table, delayed(bufferOf)(table));
    expect(seen).toMatchObject({ shared: true });
    expect((seen as { thread: number }).thread).not.toBe(threadId);
  });

  it("fails a task whose result cannot leave its thread, naming the task", async () => {
    const bad = delayed(makeFunction)();
    const error = (await client.compute(bad).catch((e: unknown) => e)) as TaskError;
    expect(error.remoteName).toBe("DataCloneError");
    expect(error.message).toContain(bad.key);
  });
});

describe("thread pool", () => {
  function collect(): { outcomes: ExecutionOutcome[]; sink: (o: ExecutionOutcome[]) => void; settled: (n: number) => Promise<void> } {
    const outcomes: ExecutionOutcome[] = [];
    let waiter: (() => void) | undefined;
    let want = 0;
    return {
      outcomes,
      sink: (batch) => {
        outcomes.push(...batch);
        if (outcomes.length >= want) waiter?.();
      },
      settled: (n) =>
        new Promise((resolve) => {
          want = n;
          waiter = resolve;
          if (outcomes.length >= n) resolve();
        }),
    };
  }

  it("fails the tasks of a thread that dies, replaces the thread and goes on", async () => {
    const { outcomes, sink, settled } = collect();
    const pool = await ThreadPoolExecutor.start(sink, { nthreads: 1 });
    try {
      pool.run([{ key: "dies", fn: exitThread.taskName, args: [] }]);
      await settled(1);
      expect(outcomes[0]).toMatchObject({ request: { key: "dies" }, ok: false, error: { name: "WorkerThreadDied" } });
      pool.run([{ key: "after", fn: inc.taskName, args: [1] }]);
      await settled(2);
      expect(outcomes[1]).toMatchObject({ request: { key: "after" }, ok: true, value: 2 });
    } finally {
      await pool.close();
    }
  });

  it("fails a task whose arguments cannot be sent to a thread, and runs the others of its batch", async () => {
    const { outcomes, sink, settled } = collect();
    const pool = await ThreadPoolExecutor.start(sink, { nthreads: 1 });
    try {
      pool.run([
        { key: "bad", fn: inc.taskName, args: [() => 1] },
        { key: "good", fn: inc.taskName, args: [1] },
      ]);
      await settled(2);
      const bad = outcomes.find((o) => o.request.key === "bad")!;
      expect(bad).toMatchObject({ ok: false, error: { name: "DataCloneError" } });
      expect(!bad.ok && bad.error.message).toContain('task "bad"');
      expect(outcomes.find((o) => o.request.key === "good")).toMatchObject({ ok: true, value: 2 });
    } finally {
      await pool.close();
    }
  });

  it("runs nested fused calls with their results placed inside arrays and objects", async () => {
    const { outcomes, sink, settled } = collect();
    const pool = await ThreadPoolExecutor.start(sink, { nthreads: 1 });
    try {
      const args = [[new Call(inc.taskName, [new Call(inc.taskName, [1])]), 10]];
      pool.run([{ key: "nested", fn: sum.taskName, args }]);
      await settled(1);
      expect(outcomes[0]).toMatchObject({ request: { key: "nested" }, ok: true, value: 13 });
    } finally {
      await pool.close();
    }
  });
});
