import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_CHAIN_LENGTH, fuseLinearChains } from "../../graph/fuse.js";
import {
  Call,
  Ref,
  dependentsOf,
  isPlainObject,
  taskSpec,
  type Graph,
  type Key,
  type ReadonlyGraph,
  type TaskSpec,
} from "../../graph/task-spec.js";

function graphOf(...specs: TaskSpec[]): Graph {
  return new Map(specs.map((spec) => [spec.key, spec]));
}

/** t0 = inc(0), t1 = inc(t0), …: a chain of `length` tasks ending in `t${length - 1}`. */
function chain(length: number, prefix = "t"): Graph {
  const graph: Graph = new Map();
  graph.set(`${prefix}0`, taskSpec(`${prefix}0`, "inc", [0]));
  for (let i = 1; i < length; i++) {
    graph.set(`${prefix}${i}`, taskSpec(`${prefix}${i}`, "inc", [new Ref(`${prefix}${i - 1}`)]));
  }
  return graph;
}

/** Pairwise sums over `leaves` keys, level by level; returns the root's key. */
function addTree(graph: Graph, leaves: Key[]): Key {
  let level = leaves;
  for (let depth = 0; level.length > 1; depth++) {
    const next: Key[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const key = `add-${depth}-${i / 2}`;
      graph.set(key, taskSpec(key, "add", [new Ref(level[i]), new Ref(level[i + 1])]));
      next.push(key);
    }
    level = next;
  }
  return level[0];
}

const functions: Record<string, (...args: any[]) => unknown> = {
  inc: (x: number) => x + 1,
  double: (x: number) => 2 * x,
  add: (x: number, y: number) => x + y,
  load: (i: number) => i * 10,
  sum: (xs: number[]) => xs.reduce((a, b) => a + b, 0),
  pick: (o: { value: number; scale: number }) => o.value * o.scale,
};

/** Runs a graph: tasks in dependency order, each task's Calls and Refs evaluated recursively. */
function evaluate(graph: ReadonlyGraph, outputs: readonly Key[]): unknown[] {
  const results = new Map<Key, unknown>();
  const value = (arg: unknown): unknown => {
    if (arg instanceof Ref) {
      if (!results.has(arg.key)) throw new Error(`no result for ${arg.key}`);
      return results.get(arg.key);
    }
    if (arg instanceof Call) return functions[arg.fn](...arg.args.map(value));
    if (Array.isArray(arg)) return arg.map(value);
    if (isPlainObject(arg)) return Object.fromEntries(Object.entries(arg).map(([k, v]) => [k, value(v)]));
    return arg;
  };
  const waiting = new Map<Key, number>();
  const ready: Key[] = [];
  for (const [key, spec] of graph) {
    waiting.set(key, spec.deps.length);
    if (spec.deps.length === 0) ready.push(key);
  }
  const dependents = dependentsOf(graph);
  while (ready.length > 0) {
    const key = ready.pop()!;
    const spec = graph.get(key)!;
    results.set(key, functions[spec.fn](...spec.args.map(value)));
    for (const dependent of dependents.get(key)!) {
      const left = waiting.get(dependent)! - 1;
      waiting.set(dependent, left);
      if (left === 0) ready.push(dependent);
    }
  }
  return outputs.map((key) => results.get(key));
}

describe("fuseLinearChains", () => {
  it("fuses a chain into one task keyed by its last task, nesting the upstream tasks as Calls", () => {
    const graph = graphOf(
      taskSpec("a", "inc", [1]),
      taskSpec("b", "inc", [new Ref("a")]),
      taskSpec("c", "double", [new Ref("b")]),
    );
    const fused = fuseLinearChains(graph, ["c"]);
    expect([...fused.keys()]).toEqual(["c"]);
    expect(fused.get("c")).toEqual({
      key: "c",
      fn: "double",
      args: [new Call("inc", [new Call("inc", [1])])],
      deps: [],
    });
  });

  it("gives the fused task the dependencies of the chain's first task", () => {
    const graph = graphOf(
      taskSpec("x", "load", [1]),
      taskSpec("a", "inc", [new Ref("x")]),
      taskSpec("b", "double", [new Ref("a")]),
      taskSpec("y", "add", [new Ref("x"), new Ref("b")]),
    );
    const fused = fuseLinearChains(graph, ["y"]);
    expect([...fused.keys()]).toEqual(["x", "b", "y"]);
    expect(fused.get("b")!.deps).toEqual(["x"]);
    expect(fused.get("b")!.args).toEqual([new Call("inc", [new Ref("x")])]);
  });

  it("does not fuse a tree reduction, whose tasks each have two inputs", () => {
    const graph: Graph = new Map();
    const leaves: Key[] = [];
    for (let i = 0; i < 8; i++) {
      graph.set(`leaf-${i}`, taskSpec(`leaf-${i}`, "load", [i]));
      leaves.push(`leaf-${i}`);
    }
    const root = addTree(graph, leaves);
    const fused = fuseLinearChains(graph, [root]);
    expect(fused.size).toBe(graph.size);
    for (const [key, spec] of graph) expect(fused.get(key)).toBe(spec);
  });

  it("fuses the chains feeding a tree reduction but not the reduction itself", () => {
    const graph: Graph = new Map();
    const leaves: Key[] = [];
    for (let i = 0; i < 4; i++) {
      graph.set(`load-${i}`, taskSpec(`load-${i}`, "load", [i]));
      graph.set(`inc-${i}`, taskSpec(`inc-${i}`, "inc", [new Ref(`load-${i}`)]));
      graph.set(`double-${i}`, taskSpec(`double-${i}`, "double", [new Ref(`inc-${i}`)]));
      leaves.push(`double-${i}`);
    }
    const root = addTree(graph, leaves);
    const fused = fuseLinearChains(graph, [root]);
    expect([...fused.keys()].sort()).toEqual(
      ["double-0", "double-1", "double-2", "double-3", "add-0-0", "add-0-1", "add-1-0"].sort(),
    );
    expect(fused.get("double-2")!.args).toEqual([new Call("inc", [new Call("load", [2])])]);
    expect(fused.get("add-0-0")).toBe(graph.get("add-0-0"));
  });

  it("does not fuse a task into a dependent that has other dependencies", () => {
    const graph = graphOf(
      taskSpec("a", "load", [1]),
      taskSpec("b", "load", [2]),
      taskSpec("c", "add", [new Ref("a"), new Ref("b")]),
    );
    expect([...fuseLinearChains(graph, ["c"]).keys()]).toEqual(["a", "b", "c"]);
  });

  it("does not fuse a task that feeds two tasks", () => {
    const graph = graphOf(
      taskSpec("a", "load", [1]),
      taskSpec("b", "inc", [new Ref("a")]),
      taskSpec("c", "double", [new Ref("a")]),
    );
    const fused = fuseLinearChains(graph, ["b", "c"]);
    expect([...fused.keys()]).toEqual(["a", "b", "c"]);
  });

  it("does not fuse an output into its dependent, so its result stays addressable", () => {
    const graph = graphOf(
      taskSpec("a", "inc", [1]),
      taskSpec("b", "inc", [new Ref("a")]),
      taskSpec("c", "double", [new Ref("b")]),
    );
    const fused = fuseLinearChains(graph, ["b", "c"]);
    expect([...fused.keys()]).toEqual(["b", "c"]);
    expect(fused.get("b")!.args).toEqual([new Call("inc", [1])]);
    expect(fused.get("c")).toBe(graph.get("c"));
  });

  it("does not fuse a task its dependent refers to twice, which would compute it twice", () => {
    const graph = graphOf(taskSpec("a", "load", [1]), taskSpec("b", "add", [new Ref("a"), new Ref("a")]));
    expect([...fuseLinearChains(graph, ["b"]).keys()]).toEqual(["a", "b"]);
  });

  it("replaces references nested in arrays and objects of the dependent's arguments", () => {
    const graph = graphOf(
      taskSpec("a", "load", [1]),
      taskSpec("b", "pick", [{ value: new Ref("a"), scale: 3 }]),
      taskSpec("c", "sum", [[new Ref("b"), 4]]),
    );
    const fused = fuseLinearChains(graph, ["c"]);
    expect(fused.get("c")!.args).toEqual([[new Call("pick", [{ value: new Call("load", [1]), scale: 3 }]), 4]]);
  });

  it("keeps the last task's priority and the largest retries of the chain", () => {
    const graph = graphOf(
      taskSpec("a", "inc", [1], { retries: 2, priority: 9 }),
      taskSpec("b", "inc", [new Ref("a")], { retries: 5 }),
      taskSpec("c", "double", [new Ref("b")], { retries: 1, priority: -1 }),
    );
    const fused = fuseLinearChains(graph, ["c"]).get("c")!;
    expect(fused.priority).toBe(-1);
    expect(fused.retries).toBe(5);
  });

  it("never fuses a task with a timeout, which bounds its own run alone", () => {
    const graph = graphOf(
      taskSpec("a", "inc", [1]),
      taskSpec("b", "inc", [new Ref("a")], { timeoutMs: 500 }),
      taskSpec("c", "double", [new Ref("b")]),
      taskSpec("d", "double", [new Ref("c")]),
    );
    const fused = fuseLinearChains(graph, ["d"]);
    expect([...fused.keys()]).toEqual(["a", "b", "d"]);
    expect(fused.get("b")).toBe(graph.get("b"));
    expect(fused.get("d")!.args).toEqual([new Call("double", [new Ref("b")])]);
  });

  it("leaves out zero-valued options, as taskSpec does", () => {
    const graph = graphOf(taskSpec("a", "inc", [1], { priority: 3 }), taskSpec("b", "inc", [new Ref("a")]));
    expect(Object.keys(fuseLinearChains(graph, ["b"]).get("b")!)).toEqual(["key", "fn", "args", "deps"]);
  });

  describe("maxChainLength", () => {
    it("cuts a longer chain into pieces of at most that many tasks, each keyed by its last task", () => {
      const fused = fuseLinearChains(chain(5), ["t4"], { maxChainLength: 2 });
      expect([...fused.keys()]).toEqual(["t1", "t3", "t4"]);
      expect(fused.get("t3")!.deps).toEqual(["t1"]);
      expect(fused.get("t3")!.args).toEqual([new Call("inc", [new Ref("t1")])]);
    });

    it(`defaults to ${DEFAULT_MAX_CHAIN_LENGTH}`, () => {
      const fused = fuseLinearChains(chain(2 * DEFAULT_MAX_CHAIN_LENGTH + 1), [`t${2 * DEFAULT_MAX_CHAIN_LENGTH}`]);
      expect(fused.size).toBe(3);
    });

    it("turns fusion off at 1", () => {
      const graph = chain(4);
      const fused = fuseLinearChains(graph, ["t3"], { maxChainLength: 1 });
      expect([...fused.keys()]).toEqual(["t0", "t1", "t2", "t3"]);
      expect(fused).toBe(graph);
    });

    it("fuses whole chains at Infinity", () => {
      expect(fuseLinearChains(chain(500), ["t499"], { maxChainLength: Infinity }).size).toBe(1);
    });

    it.each([0, -1, 2.5, NaN])("rejects %s", (maxChainLength) => {
      expect(() => fuseLinearChains(chain(3), ["t2"], { maxChainLength })).toThrow(RangeError);
    });
  });

  it("evaluates to the same results as the unfused graph", () => {
    const graph: Graph = new Map();
    const leaves: Key[] = [];
    for (let i = 0; i < 8; i++) {
      graph.set(`load-${i}`, taskSpec(`load-${i}`, "load", [i]));
      graph.set(`inc-${i}`, taskSpec(`inc-${i}`, "inc", [new Ref(`load-${i}`)]));
      graph.set(`pick-${i}`, taskSpec(`pick-${i}`, "pick", [{ value: new Ref(`inc-${i}`), scale: i }]));
      leaves.push(`pick-${i}`);
    }
    const root = addTree(graph, leaves);
    graph.set("shared", taskSpec("shared", "inc", [new Ref(root)]));
    graph.set("left", taskSpec("left", "double", [new Ref("shared")]));
    graph.set("right", taskSpec("right", "inc", [new Ref("shared")]));
    graph.set("right-2", taskSpec("right-2", "double", [new Ref("right")]));
    graph.set("total", taskSpec("total", "sum", [[new Ref("left"), new Ref("right-2"), 7]]));
    graph.set("after", taskSpec("after", "inc", [new Ref("total")]));
    const outputs = ["after", "inc-3"];

    const fused = fuseLinearChains(graph, outputs);
    expect(fused.size).toBeLessThan(graph.size);
    expect(evaluate(fused, outputs)).toEqual(evaluate(graph, outputs));
  });

  it("keeps tasks on a cycle as they are instead of dropping them", () => {
    const graph = graphOf(taskSpec("a", "inc", [new Ref("b")]), taskSpec("b", "inc", [new Ref("a")]));
    const fused = fuseLinearChains(graph, []);
    expect(fused.get("a")).toBe(graph.get("a"));
    expect(fused.get("b")).toBe(graph.get("b"));
  });

  it("does not change the input graph or its specs", () => {
    const graph = chain(3);
    const before = [...graph.entries()].map(([key, spec]) => [key, spec, [...spec.args]]);
    fuseLinearChains(graph, ["t2"]);
    expect([...graph.entries()].map(([key, spec]) => [key, spec, [...spec.args]])).toEqual(before);
  });

  it("fuses a 100,000-task chain without overflowing the stack, keeping its result", () => {
    const graph = chain(100_000);
    const fused = fuseLinearChains(graph, ["t99999"]);
    expect(fused.size).toBe(Math.ceil(100_000 / DEFAULT_MAX_CHAIN_LENGTH));
    expect(evaluate(fused, ["t99999"])).toEqual([100_000]);
  });

  it("fuses a 100,000-task chain into a single task when unlimited", () => {
    const fused = fuseLinearChains(chain(100_000), ["t99999"], { maxChainLength: Infinity });
    expect([...fused.keys()]).toEqual(["t99999"]);
    let depth = 0;
    for (let value: unknown = fused.get("t99999")!.args[0]; value instanceof Call; value = value.args[0]) depth++;
    expect(depth).toBe(99_999);
  });
});
