import { describe, expect, it } from "vitest";
import { GraphError } from "../../graph/graph-error.js";
import { Call, Ref, taskSpec, type Graph, type TaskSpec } from "../../graph/task-spec.js";
import { validateGraph } from "../../graph/validate.js";

function graphOf(...specs: TaskSpec[]): Graph {
  return new Map(specs.map((spec) => [spec.key, spec]));
}

function chain(length: number): Graph {
  const graph: Graph = new Map();
  graph.set("t0", taskSpec("t0", "inc", [0]));
  for (let i = 1; i < length; i++) graph.set(`t${i}`, taskSpec(`t${i}`, "inc", [new Ref(`t${i - 1}`)]));
  return graph;
}

function thrown(run: () => void): GraphError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(GraphError);
    return error as GraphError;
  }
  throw new Error("expected a GraphError, nothing was thrown");
}

const known = new Set(["inc", "add", "sum", "double"]);
const isKnownFunction = (name: string) => known.has(name);

describe("validateGraph", () => {
  it("accepts a valid graph", () => {
    const graph = graphOf(
      taskSpec("a", "inc", [1]),
      taskSpec("b", "inc", [new Ref("a")]),
      taskSpec("c", "add", [new Ref("a"), new Ref("b")]),
    );
    expect(() => validateGraph(graph, { isKnownFunction })).not.toThrow();
  });

  it("accepts an empty graph", () => {
    expect(() => validateGraph(new Map())).not.toThrow();
  });

  it("accepts a diamond, where two paths reach the same task, as acyclic", () => {
    const graph = graphOf(
      taskSpec("d", "add", [new Ref("b"), new Ref("c")]),
      taskSpec("b", "inc", [new Ref("a")]),
      taskSpec("c", "inc", [new Ref("a")]),
      taskSpec("a", "inc", [1]),
    );
    expect(() => validateGraph(graph)).not.toThrow();
  });

  describe("cycles", () => {
    it("reports a cycle with its keys in data-flow order, closing on the first", () => {
      const graph = graphOf(
        taskSpec("a", "inc", [new Ref("c")]),
        taskSpec("b", "inc", [new Ref("a")]),
        taskSpec("c", "inc", [new Ref("b")]),
      );
      const error = thrown(() => validateGraph(graph));
      expect(error.code).toBe("cycle");
      expect(error.message).toBe("cycle in graph: a -> b -> c -> a");
      expect(error.keys).toEqual(["a", "b", "c"]);
    });

    it("reports a task depending on itself", () => {
      const error = thrown(() => validateGraph(graphOf(taskSpec("a", "inc", [new Ref("a")]))));
      expect(error.code).toBe("cycle");
      expect(error.message).toBe("cycle in graph: a -> a");
      expect(error.keys).toEqual(["a"]);
    });

    it("names only the keys on the cycle, not the tasks leading to it", () => {
      const graph = graphOf(
        taskSpec("out", "inc", [new Ref("x")]),
        taskSpec("x", "inc", [new Ref("y")]),
        taskSpec("y", "inc", [new Ref("x")]),
      );
      const error = thrown(() => validateGraph(graph));
      expect(error.keys).toEqual(["x", "y"]);
      expect(error.message).toBe("cycle in graph: x -> y -> x");
    });

    it("finds a cycle closing over 100,000 tasks without overflowing the stack", () => {
      const graph = chain(100_000);
      graph.set("t0", taskSpec("t0", "inc", [new Ref("t99999")]));
      const error = thrown(() => validateGraph(graph));
      expect(error.code).toBe("cycle");
      expect(error.keys).toHaveLength(100_000);
    });
  });

  describe("missing dependencies", () => {
    it("names the task and the key it lacks", () => {
      const graph = graphOf(taskSpec("a", "inc", [1]), taskSpec("b", "add", [new Ref("a"), new Ref("y")]));
      const error = thrown(() => validateGraph(graph));
      expect(error.code).toBe("missing-dependency");
      expect(error.message).toBe('task "b" depends on "y", which is not in the graph');
      expect(error.keys).toEqual(["b", "y"]);
    });

    it("allows dependencies listed in an external set", () => {
      const graph = graphOf(taskSpec("b", "inc", [new Ref("held")]));
      expect(() => validateGraph(graph, { external: new Set(["held"]) })).not.toThrow();
    });

    it("allows dependencies accepted by an external predicate", () => {
      const graph = graphOf(taskSpec("b", "inc", [new Ref("held-1")]));
      expect(() => validateGraph(graph, { external: (key) => key.startsWith("held-") })).not.toThrow();
    });

    it("still rejects dependencies that are neither in the graph nor external", () => {
      const graph = graphOf(taskSpec("b", "add", [new Ref("held"), new Ref("lost")]));
      const error = thrown(() => validateGraph(graph, { external: new Set(["held"]) }));
      expect(error.message).toBe('task "b" depends on "lost", which is not in the graph');
    });
  });

  describe("unknown functions", () => {
    it("names the task and the function", () => {
      const graph = graphOf(taskSpec("a", "inc", [1]), taskSpec("b", "foo", [new Ref("a")]));
      const error = thrown(() => validateGraph(graph, { isKnownFunction }));
      expect(error.code).toBe("unknown-function");
      expect(error.message).toBe('task "b" calls unknown function "foo"');
      expect(error.keys).toEqual(["b"]);
    });

    it("finds unknown functions in Calls nested inside arrays and objects of the arguments", () => {
      const nested = new Call("inc", [{ deeper: [new Call("bar", [1])] }]);
      const graph = graphOf(taskSpec("a", "sum", [[1, nested]]));
      const error = thrown(() => validateGraph(graph, { isKnownFunction }));
      expect(error.message).toBe('task "a" calls unknown function "bar"');
    });

    it("does not check function names when no isKnownFunction is given", () => {
      expect(() => validateGraph(graphOf(taskSpec("a", "anything", [new Call("at-all", [])])))).not.toThrow();
    });

    it("walks Calls nested 100,000 deep without overflowing the stack", () => {
      let args: unknown[] = [0];
      for (let i = 0; i < 100_000; i++) args = [new Call("inc", args)];
      // Built by hand: taskSpec's own walk over the arguments is recursive.
      const graph = graphOf({ key: "deep", fn: "double", args, deps: [] });
      expect(() => validateGraph(graph, { isKnownFunction })).not.toThrow();
    });
  });

  it("rejects a task stored under a key other than its own, naming both", () => {
    const graph: Graph = new Map([["a", taskSpec("b", "inc", [1])]]);
    const error = thrown(() => validateGraph(graph));
    expect(error.code).toBe("invalid-graph");
    expect(error.message).toContain('"a"');
    expect(error.message).toContain('"b"');
    expect(error.keys).toEqual(["a"]);
  });

  it("reports the first bad task in insertion order", () => {
    const graph = graphOf(taskSpec("first", "inc", [new Ref("x")]), taskSpec("second", "inc", [new Ref("y")]));
    expect(thrown(() => validateGraph(graph)).keys).toEqual(["first", "x"]);
  });

  it("validates a 100,000-task chain without overflowing the stack", () => {
    expect(() => validateGraph(chain(100_000), { isKnownFunction })).not.toThrow();
  });
});

describe("validateGraph: serializable arguments", () => {
  it("names the task and the path of an argument that cannot be serialized", () => {
    const graph: Graph = new Map([["t", taskSpec("t", "inc", [1, { onDone: () => 0 }])]]);
    let error: unknown;
    try {
      validateGraph(graph, { serializable: true });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GraphError);
    expect((error as GraphError).code).toBe("unserializable-argument");
    expect((error as GraphError).keys).toEqual(["t"]);
    expect((error as GraphError).message).toBe(
      'task "t" has an argument that cannot be serialized: args[1].onDone is a function',
    );
  });

  it("accepts typed arrays, nested data and references", () => {
    const graph: Graph = new Map([
      ["a", taskSpec("a", "load", [new Float64Array(4), { rows: [1, 2], when: new Date(0) }])],
      ["b", taskSpec("b", "use", [new Ref("a")])],
    ]);
    expect(() => validateGraph(graph, { serializable: true })).not.toThrow();
  });

  it("does not check serializability unless asked", () => {
    const graph: Graph = new Map([["t", taskSpec("t", "inc", [() => 1])]]);
    expect(() => validateGraph(graph)).not.toThrow();
  });
});
