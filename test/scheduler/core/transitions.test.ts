import { describe, expect, it } from "vitest";
import { TRANSITION_NAMES, type TransitionName } from "../../../scheduler/core/transitions.js";
import { SimulatedCluster, type SimTask } from "./simulated-cluster.js";

const tasks = (n: number, prefix = "t"): SimTask[] =>
  Array.from({ length: n }, (_, i) => ({ key: `${prefix}-${i}`, deps: [], run: () => i }));

/**
 * One scenario per entry of the transition table. Each drives a simulated cluster (which validates
 * every invariant after every event) and returns it; the test checks that `key` made the transition.
 */
const scenarios: Record<TransitionName, { key: string; when: string; run: () => SimulatedCluster }> = {
  "released->waiting": {
    key: "b",
    when: "a graph is submitted and the task is needed",
    run: () => {
      const c = new SimulatedCluster();
      c.submit([{ key: "a", deps: [], run: () => 1 }, { key: "b", deps: ["a"], run: ([a]) => a }], ["b"]);
      return c;
    },
  },
  "released->memory": {
    key: "x",
    when: "a new task claims a result a worker kept from an earlier scheduler",
    run: () => {
      const c = new SimulatedCluster();
      c.addWorker("w");
      c.workers.get("w")!.data.set("x", 1);
      c.account("w");
      c.submit([{ key: "x", deps: [], run: () => 1 }], ["x"]);
      return c;
    },
  },
  "waiting->processing": {
    key: "a",
    when: "its inputs are in memory and a worker has room",
    run: () => {
      const c = new SimulatedCluster();
      c.addWorker("w");
      c.submit([{ key: "a", deps: [], run: () => 1 }], ["a"]);
      return c;
    },
  },
  "waiting->queued": {
    key: "t-1",
    when: "it is ready but every worker is full",
    run: () => {
      const c = new SimulatedCluster({ saturation: 1, fillMs: 0 });
      c.addWorker("w");
      c.submit(tasks(2), ["t-0", "t-1"]);
      return c;
    },
  },
  "queued->processing": {
    key: "t-1",
    when: "a worker gets room",
    run: () => {
      const c = new SimulatedCluster({ saturation: 1, fillMs: 0 });
      c.addWorker("w");
      c.submit(tasks(2), ["t-0", "t-1"]);
      c.start("w");
      c.finish("w", "t-0");
      return c;
    },
  },
  "queued->waiting": {
    key: "use-1",
    when: "an input is lost while it waits in the queue",
    run: () => {
      const c = new SimulatedCluster({ saturation: 1, fillMs: 0 });
      c.addWorker("a");
      c.submit([{ key: "x", deps: [], run: () => 1 }], ["x"], "setup");
      c.start("a");
      c.finish("a", "x");
      c.submit(
        [
          { key: "use-0", deps: ["x"], run: ([x]) => x },
          { key: "use-1", deps: ["x"], run: ([x]) => x },
        ],
        ["use-0", "use-1"],
      );
      c.kill("a");
      return c;
    },
  },
  "processing->memory": {
    key: "a",
    when: "its worker finishes it",
    run: () => {
      const c = new SimulatedCluster();
      c.addWorker("w");
      c.submit([{ key: "a", deps: [], run: () => 1 }], ["a"]);
      c.runToCompletion();
      return c;
    },
  },
  "processing->waiting": {
    key: "a",
    when: "its worker dies before it finishes",
    run: () => {
      const c = new SimulatedCluster();
      c.addWorker("w1");
      c.submit([{ key: "a", deps: [], run: () => 1 }], ["a"]);
      c.start("w1");
      c.kill("w1");
      return c;
    },
  },
  "processing->erred": {
    key: "a",
    when: "its function throws and no retries are left",
    run: () => {
      const c = new SimulatedCluster();
      c.addWorker("w");
      c.submit([{ key: "a", deps: [], run: () => 1, failures: 1 }], ["a"]);
      c.runToCompletion();
      return c;
    },
  },
  "processing->released": {
    key: "a",
    when: "the client releases it while it runs",
    run: () => {
      const c = new SimulatedCluster();
      c.addWorker("w");
      c.submit([{ key: "a", deps: [], run: () => 1 }], ["a"]);
      c.start("w");
      c.send({ type: "keys-released", client: "client", keys: ["a"] });
      return c;
    },
  },
  "memory->released": {
    key: "a",
    when: "its last dependent has run",
    run: () => {
      const c = new SimulatedCluster();
      c.addWorker("w");
      c.submit([{ key: "a", deps: [], run: () => 1 }, { key: "b", deps: ["a"], run: ([a]) => a }], ["b"]);
      c.runToCompletion();
      return c;
    },
  },
  "waiting->released": {
    key: "b",
    when: "the client releases it before its inputs are ready",
    run: () => {
      const c = new SimulatedCluster();
      c.addWorker("w");
      c.submit([{ key: "a", deps: [], run: () => 1 }, { key: "b", deps: ["a"], run: ([a]) => a }], ["b"]);
      c.send({ type: "keys-released", client: "client", keys: ["b"] });
      return c;
    },
  },
  "queued->released": {
    key: "t-1",
    when: "the client releases it while it is queued",
    run: () => {
      const c = new SimulatedCluster({ saturation: 1, fillMs: 0 });
      c.addWorker("w");
      c.submit(tasks(2), ["t-0", "t-1"]);
      c.send({ type: "keys-released", client: "client", keys: ["t-1"] });
      return c;
    },
  },
  "waiting->erred": {
    key: "b",
    when: "an input fails",
    run: () => {
      const c = new SimulatedCluster();
      c.addWorker("w");
      c.submit([{ key: "a", deps: [], run: () => 1, failures: 1 }, { key: "b", deps: ["a"], run: ([a]) => a }], ["b"]);
      c.runToCompletion();
      return c;
    },
  },
  "released->erred": {
    key: "s",
    when: "scattered data is needed after its last holder left",
    run: () => {
      const c = new SimulatedCluster();
      c.addWorker("w1");
      c.submit([{ key: "s", deps: [], run: () => 1, scattered: true }], ["s"], "scatter");
      c.runToCompletion();
      c.kill("w1");
      return c;
    },
  },
  "released->forgotten": {
    key: "a",
    when: "it is released, unwanted, and has no dependents left",
    run: () => {
      const c = new SimulatedCluster();
      c.addWorker("w");
      c.submit([{ key: "a", deps: [], run: () => 1 }], ["a"]);
      c.runToCompletion();
      c.send({ type: "keys-released", client: "client", keys: ["a"] });
      return c;
    },
  },
  "erred->forgotten": {
    key: "a",
    when: "the client releases a failed key",
    run: () => {
      const c = new SimulatedCluster();
      c.addWorker("w");
      c.submit([{ key: "a", deps: [], run: () => 1, failures: 1 }], ["a"]);
      c.runToCompletion();
      c.send({ type: "keys-released", client: "client", keys: ["a"] });
      return c;
    },
  },
};

describe("scheduler core: the transition table", () => {
  for (const [name, scenario] of Object.entries(scenarios)) {
    it(`${name} happens when ${scenario.when}`, () => {
      const cluster = scenario.run();
      expect(cluster.transitions).toContain(`${scenario.key}: ${name}`);
    });
  }

  it("has a scenario for every transition in the table, and no scenario for one it lacks", () => {
    expect(Object.keys(scenarios).sort()).toEqual([...TRANSITION_NAMES].sort());
  });
});
