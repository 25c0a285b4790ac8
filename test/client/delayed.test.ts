import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../../client/client.js";
import { Delayed, delayed } from "../../client/delayed.js";
import { TaskError } from "../../protocol/task-error.js";
import { GraphError } from "../../graph/graph-error.js";
import { LocalScheduler } from "../../scheduler/local-scheduler.js";
import { add, asyncInc, divmod, double, fail, inc, sum } from "../fixtures/math-tasks.js";

let client: Client;
beforeAll(async () => {
  client = await Client.local({ executor: "sync" });
});
afterAll(() => client.close());

describe("delayed: building graphs", () => {
  it("builds a task per call and runs nothing until computed", () => {
    let calls = 0;
    const counting = (x: number) => {
      calls++;
      return x;
    };
    const value = delayed(counting)(1);
    expect(value).toBeInstanceOf(Delayed);
    expect(calls).toBe(0);
  });

  it("gives the same call built twice the same key (pure by default)", () => {
    expect(delayed(inc)(1).key).toBe(delayed(inc)(1).key);
    expect(delayed(inc)(1).key).not.toBe(delayed(inc)(2).key);
    expect(delayed(add)(delayed(inc)(1), 2).key).toBe(delayed(add)(delayed(inc)(1), 2).key);
  });

  it("gives impure calls a fresh key every time", () => {
    expect(delayed(inc, { pure: false })(1).key).not.toBe(delayed(inc, { pure: false })(1).key);
  });

  it("uses a key the user names", async () => {
    const named = delayed(inc, { key: "my-key" })(41);
    expect(named.key).toBe("my-key");
    expect(await client.compute(named)).toEqual([42]);
  });

  it("names keys after the function, as Dask does", () => {
    expect(delayed(inc)(1).key).toMatch(/^test\.inc-[0-9a-f]+$/);
  });

  it("finds delayed values nested in arrays and objects among the arguments", () => {
    const a = delayed(inc)(1);
    const b = delayed(inc)(2);
    const total = delayed((parts: { xs: number[]; y: number }) => parts.xs[0] + parts.y)({ xs: [a], y: b as never });
    expect(total.spec!.deps).toEqual([a.key, b.key]);
  });

  it("collects the whole graph a value needs, each task once", () => {
    const a = delayed(inc)(1);
    const graph = delayed(add)(a, a).graph();
    expect([...graph.keys()].sort()).toEqual([a.key, delayed(add)(a, a).key].sort());
  });

  it("refuses a priority that is not an integer within ±1,000,000, naming the function and the range", () => {
    for (const priority of [1_000_001, -1e13, 0.5, Number.NaN]) {
      expect(() => delayed(inc, { priority })(1)).toThrow(
        new RangeError(`delayed(test.inc) priority must be an integer from -1000000 to 1000000, got ${priority}`),
      );
    }
    expect(delayed(inc, { priority: 1_000_000 })(1).key).toBe(delayed(inc)(1).key);
  });

  it("refuses two different specs under one key, naming the key", () => {
    const first = delayed(inc, { key: "clash" })(1);
    const second = delayed(inc, { key: "clash" })(2);
    expect(() => delayed(add)(first, second).graph()).toThrow(GraphError);
    expect(() => delayed(add)(first, second).graph()).toThrow(/key "clash" has two different specs/);
  });
});

describe("delayed: computing", () => {
  it("computes a small graph", async () => {
    expect(await client.compute(delayed(add)(delayed(inc)(1), delayed(inc)(2)))).toEqual([5]);
  });

  it("returns values that are not delayed as they are", async () => {
    expect(await client.compute(delayed(inc)(1), "plain", 3)).toEqual([2, "plain", 3]);
  });

  it("runs work shared by several computed values once", async () => {
    let runs = 0;
    const expensive = delayed((x: number) => {
      runs++;
      return x * 10;
    })(4);
    const [a, b] = await client.compute(delayed(inc)(expensive), delayed(double)(expensive));
    expect([a, b]).toEqual([41, 80]);
    expect(runs).toBe(1);
  });

  it("wraps a value with delayed(value)", async () => {
    const data = delayed([1, 2, 3]);
    expect(await client.compute(delayed(sum)(data))).toEqual([6]);
  });

  it("gives several outputs with nout", async () => {
    const [quotient, remainder] = delayed(divmod, { nout: 2 })(17, 5);
    expect(await client.compute(quotient, remainder)).toEqual([3, 2]);
  });

  it("reads properties and elements of a delayed result", async () => {
    const record = delayed((n: number) => ({ name: `n${n}`, items: [n, n + 1, n + 2] }))(7);
    expect(await client.compute(record.get("name"), record.get("items").at(-1))).toEqual(["n7", 9]);
  });

  it("awaits async task functions", async () => {
    expect(await client.compute(delayed(asyncInc)(delayed(asyncInc)(1)))).toEqual([3]);
  });

  it("computes through Delayed#compute on the default client", async () => {
    const { configure } = await import("../../client/default-client.js");
    await configure({ executor: "sync" });
    expect(await delayed(inc)(9).compute()).toBe(10);
    await configure({});
  });

  it("rejects with the task's key and the original error and stack", async () => {
    const broken = delayed(fail)("boom");
    const error = await client.compute(broken).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskError);
    const taskError = error as TaskError;
    expect(taskError.key).toBe(broken.key);
    expect(taskError.remoteName).toBe("TypeError");
    expect(taskError.message).toContain("boom");
    expect(taskError.stack).toContain("math-tasks.ts");
  });

  it("blames the input that failed when a dependent cannot run", async () => {
    const broken = delayed(fail)("bad input");
    const downstream = delayed(add)(broken, delayed(inc)(1));
    const error = (await client.compute(downstream).catch((e: unknown) => e)) as TaskError;
    expect(error.key).toBe(downstream.key);
    expect(error.blame).toBe(broken.key);
    expect(error.message).toContain(`because its input "${broken.key}" failed`);
  });

  it("retries a task that throws, up to its retries", async () => {
    let attempts = 0;
    const flaky = delayed(
      () => {
        if (++attempts < 3) throw new Error("not yet");
        return "done";
      },
      { retries: 2, pure: false },
    )();
    expect(await client.compute(flaky)).toEqual(["done"]);
    expect(attempts).toBe(3);
  });

  it("keeps serving after a failed computation", async () => {
    await client.compute(delayed(fail)("once")).catch(() => undefined);
    expect(await client.compute(delayed(inc)(100))).toEqual([101]);
  });

  it("frees every result once the computation returned", async () => {
    const scheduler = await LocalScheduler.start({ executor: "sync" });
    const own = Client.attach(scheduler);
    try {
      await own.compute(delayed(sum)(Array.from({ length: 50 }, (_, i) => delayed(inc)(i))));
      const stats = scheduler.stats();
      expect(stats.heldResults).toBe(0);
      expect(Object.values(stats.tasks).reduce((a, b) => a + b, 0)).toBe(0);
    } finally {
      await scheduler.close();
    }
  });
});

describe("delayed: persist", () => {
  it("keeps persisted results so later graphs start from them", async () => {
    let runs = 0;
    const base = delayed(
      (x: number) => {
        runs++;
        return x;
      },
      { pure: false },
    )(5);
    const [held] = await client.persist(base);
    expect(runs).toBe(1);
    expect(await client.compute(delayed(inc)(held), delayed(double)(held))).toEqual([6, 10]);
    expect(runs).toBe(1);
  });
});

describe("delayed: keys shared between computations", () => {
  it("refuses a key already running for a different computation, with a GraphError naming it", async () => {
    const slow = delayed(
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return 1;
      },
      { key: "shared-key" },
    )();
    const running = client.compute(slow);
    const other = delayed(inc, { key: "shared-key" })(5);
    const error = await client.compute(other).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphError);
    expect((error as GraphError).keys).toEqual(["shared-key"]);
    expect(await running).toEqual([1]);
  });
});

describe("delayed: arguments", () => {
  it("refuses hand-made references among the arguments, pointing to delayed values instead", async () => {
    const { Ref } = await import("../../graph/task-spec.js");
    expect(() => delayed(inc)(new Ref("elsewhere") as never)).toThrow(/take delayed values, not Ref objects/);
  });
});

describe("delayed: collecting a graph with its index", () => {
  it("describes the same dependencies the keys do, so the ordering is the same either way", async () => {
    const { collectIndexedGraph } = await import("../../client/delayed.js");
    const { orderPositions } = await import("../../graph/order.js");
    const { seededRandom } = await import("../support/seeded-random.js");
    const random = seededRandom(11);
    const values = Array.from({ length: 20 }, (_, i) => delayed(inc)(i));
    for (let i = 0; i < 300; i++) {
      const a = values[Math.floor(random() * values.length)];
      const b = values[Math.floor(random() * values.length)];
      values.push(random() < 0.5 ? delayed(add)(a, b) : delayed(sum)([a, b, 1]));
    }
    // The same call built again: a second object with a key already in the graph.
    values.push(delayed(add)(delayed(inc)(0), delayed(inc)(1)));
    const outputs = [values[values.length - 1], values[values.length - 2], values[values.length - 3]];
    const { graph, index } = collectIndexedGraph(outputs);
    expect(index.keys).toEqual([...graph.keys()]);
    const keys = outputs.map((o) => o.key);
    expect([...orderPositions(graph, keys, index)]).toEqual([...orderPositions(graph, keys)]);
  });

  it("leaves values held by a scheduler out of the index", async () => {
    const { collectIndexedGraph, heldValue } = await import("../../client/delayed.js");
    const top = delayed(inc)(heldValue<number>("held-key"));
    const { graph, index } = collectIndexedGraph([top]);
    expect([...graph.keys()]).toEqual([top.key]);
    expect([...index.deps]).toEqual([]);
  });
});

describe("delayed: computations sharing running work", () => {
  it("lets a second computation share a task the first one is still running", async () => {
    let runs = 0;
    const slow = delayed(
      async (x: number) => {
        runs++;
        await new Promise((resolve) => setTimeout(resolve, 30));
        return x * 2;
      },
      { key: "shared-slow" },
    )(21);
    // Both ask for `slow` itself, so neither fuses it away into a task of its own.
    const first = client.compute(slow);
    const second = client.compute(slow, delayed(add)(slow, 1));
    expect(await Promise.all([first, second])).toEqual([[42], [42, 43]]);
    expect(runs).toBe(1);
  });
});

describe("delayed: reusing held results", () => {
  it("reuses a persisted result even when a new graph names the original call, which fusion would inline", async () => {
    let runs = 0;
    const base = delayed(
      (x: number) => {
        runs++;
        return x;
      },
      { key: "persisted-base" },
    )(7);
    const held = await client.persist(base);
    // `base` itself, not `held`: its single dependent would otherwise fuse it and run it again.
    expect(await client.compute(delayed(inc)(base))).toEqual([8]);
    expect(runs).toBe(1);
    void held;
  });
});
