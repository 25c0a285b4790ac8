import { describe, expect, it } from "vitest";
import { SimulatedCluster, type SimTask } from "./simulated-cluster.js";

const chain: SimTask[] = [
  { key: "a", deps: [], run: () => 1 },
  { key: "b", deps: ["a"], run: ([a]) => a + 1 },
  { key: "c", deps: ["b"], run: ([b]) => b * 10 },
];

/** A worker of a new scheduler that holds `results` from the scheduler before it. */
function clusterWithHeldResults(results: Readonly<Record<string, number>>, config = {}): SimulatedCluster {
  const c = new SimulatedCluster(config);
  c.addWorker("w1");
  c.addWorker("w2");
  for (const [key, value] of Object.entries(results)) c.workers.get("w1")!.data.set(key, value);
  return c;
}

describe("a worker's account to a new scheduler", () => {
  it("lets a resubmitted graph reuse the results the worker still holds", () => {
    const c = clusterWithHeldResults({ a: 1, b: 2 });
    c.account("w1");
    c.submit(chain, ["c"]);
    c.runToCompletion();
    expect(c.results.get("c")).toBe(20);
    expect(c.starts.get("a")).toBeUndefined();
    expect(c.starts.get("b")).toBeUndefined();
    expect(c.starts.get("c")).toHaveLength(1);
  });

  it("does not reuse a result computed by another computation under the same key", () => {
    const c = clusterWithHeldResults({ a: 1, b: 99 });
    c.account("w1", { fingerprints: { b: "another computation" } });
    c.submit(chain, ["c"]);
    c.runToCompletion();
    expect(c.results.get("c")).toBe(20);
    expect(c.starts.get("b")).toHaveLength(1);
    expect(c.log).toContainEqual({ type: "release", key: "b", workers: ["w1"], runSpec: undefined });
  });

  it("releases a copy whose computation is unknown at once, since no task can claim it", () => {
    const c = clusterWithHeldResults({ a: 1 });
    c.account("w1", { fingerprints: { a: "" } });
    expect(c.workers.get("w1")!.data.has("a")).toBe(false);
  });

  it("releases the results no submission claims once they have waited unclaimedResultTtlMs", () => {
    const c = clusterWithHeldResults({ a: 1 }, { unclaimedResultTtlMs: 1_000 });
    c.account("w1");
    c.tick(900);
    expect(c.workers.get("w1")!.data.has("a")).toBe(true);
    c.tick(200);
    expect(c.workers.get("w1")!.data.has("a")).toBe(false);
    c.submit(chain, ["c"]);
    c.runToCompletion();
    expect(c.starts.get("a")).toHaveLength(1);
  });

  it("forgets the unclaimed results of a worker that left", () => {
    const c = clusterWithHeldResults({ a: 1 });
    c.account("w1");
    c.kill("w1");
    c.submit(chain, ["c"]);
    c.runToCompletion();
    expect(c.results.get("c")).toBe(20);
    expect(c.starts.get("a")).toEqual(["w2"]);
  });

  it("releases a claimed intermediate result once what reads it is done", () => {
    const c = clusterWithHeldResults({ b: 2 });
    c.account("w1");
    c.submit(chain, ["c"]);
    c.runToCompletion();
    expect(c.results.get("c")).toBe(20);
    expect(c.workers.get("w1")!.data.has("b")).toBe(false);
    expect(c.starts.get("a")).toBeUndefined();
  });

  it("cancels tasks the worker runs for the earlier scheduler", () => {
    const c = clusterWithHeldResults({});
    c.workers.get("w1")!.running.add("old-task");
    c.account("w1");
    expect(c.log).toContainEqual({ type: "cancel", key: "old-task", worker: "w1", runSpec: undefined });
  });
});

describe("a worker's account after Redis lost its data", () => {
  /** Two tasks on w1's queue; Redis then loses the queue, so the worker never got them. */
  function lostQueue(): SimulatedCluster {
    const c = new SimulatedCluster({ saturation: 4 });
    c.addWorker("w1");
    c.submit(
      [
        { key: "x-0", deps: [], run: () => 1 },
        { key: "x-1", deps: [], run: () => 2 },
      ],
      ["x-0", "x-1"],
    );
    expect(c.queueOf("w1")).toEqual(["x-0", "x-1"]);
    return c;
  }

  it("places again the tasks the worker never got", () => {
    const c = lostQueue();
    c.workers.get("w1")!.queue.length = 0;
    c.account("w1", { unsure: ["x-0", "x-1"] });
    expect(c.queueOf("w1")).toEqual(["x-0", "x-1"]);
    c.runToCompletion();
    expect([c.results.get("x-0"), c.results.get("x-1")]).toEqual([1, 2]);
  });

  it("keeps the tasks the worker runs or still has queued, and does not send them twice", () => {
    const c = lostQueue();
    c.start("w1");
    c.account("w1", { unsure: ["x-0", "x-1"] });
    expect(c.queueOf("w1")).toEqual(["x-1"]);
    expect(c.stateOf("x-0")).toBe("processing");
    c.finish("w1", "x-0");
    c.runToCompletion();
    expect(c.starts.get("x-0")).toHaveLength(1);
    expect(c.starts.get("x-1")).toHaveLength(1);
  });

  it("finishes a task whose report Redis lost when the worker holds its result", () => {
    const c = lostQueue();
    const w1 = c.workers.get("w1")!;
    w1.queue.length = 0;
    w1.data.set("x-0", 1);
    c.account("w1", { unsure: ["x-0", "x-1"] });
    expect(c.stateOf("x-0")).toBe("memory");
    expect(c.results.get("x-0")).toBe(1);
    c.runToCompletion();
    expect(c.results.get("x-1")).toBe(2);
    expect(c.starts.get("x-0")).toBeUndefined();
  });

  it("recomputes a result the books say the worker holds when its account does not name it", () => {
    const c = new SimulatedCluster();
    c.addWorker("w1");
    c.submit(chain, ["c"]);
    c.start("w1");
    c.finish("w1", "a");
    expect(c.stateOf("a")).toBe("memory");
    c.workers.get("w1")!.data.delete("a");
    c.account("w1");
    c.runToCompletion();
    expect(c.results.get("c")).toBe(20);
    expect(c.starts.get("a")).toHaveLength(2);
  });

  it("cancels a task the worker still runs after the scheduler stopped wanting it (the cancel Redis lost)", () => {
    const c = new SimulatedCluster();
    c.addWorker("w1");
    c.submit([{ key: "slow", deps: [], run: () => 1 }], ["slow"], "client-1");
    c.start("w1");
    c.send({ type: "keys-released", client: "client-1", keys: ["slow"] });
    c.log.length = 0;
    c.account("w1");
    expect(c.log).toContainEqual({ type: "cancel", key: "slow", worker: "w1", runSpec: undefined });
  });
});
