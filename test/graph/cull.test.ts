import { describe, expect, it } from "vitest";
import { cullGraph } from "../../graph/cull.js";
import { GraphError } from "../../graph/graph-error.js";
import { Ref, taskSpec, type Graph, type TaskSpec } from "../../graph/task-spec.js";

function graphOf(...specs: TaskSpec[]): Graph {
  return new Map(specs.map((spec) => [spec.key, spec]));
}

/** load -> a -> b, with `unused` also reading `load` and `other` standing alone. */
function sample(): Graph {
  return graphOf(
    taskSpec("load", "load", []),
    taskSpec("other", "load", []),
    taskSpec("a", "inc", [new Ref("load")]),
    taskSpec("unused", "dec", [new Ref("load")]),
    taskSpec("b", "double", [new Ref("a")]),
  );
}

describe("cullGraph", () => {
  it("keeps an output and everything it depends on, transitively", () => {
    expect([...cullGraph(sample(), ["b"]).keys()]).toEqual(["load", "a", "b"]);
  });

  it("keeps the union of what several outputs need", () => {
    expect([...cullGraph(sample(), ["b", "unused"]).keys()]).toEqual(["load", "a", "unused", "b"]);
  });

  it("keeps an output that depends on nothing, alone", () => {
    expect([...cullGraph(sample(), ["other"]).keys()]).toEqual(["other"]);
  });

  it("returns an empty graph for no outputs", () => {
    expect(cullGraph(sample(), []).size).toBe(0);
  });

  it("keeps the input's insertion order whatever the order of outputs", () => {
    expect([...cullGraph(sample(), ["unused", "b"]).keys()]).toEqual(["load", "a", "unused", "b"]);
  });

  it("keeps the spec objects rather than copies", () => {
    const graph = sample();
    expect(cullGraph(graph, ["b"]).get("a")).toBe(graph.get("a"));
  });

  it("returns the input itself, uncopied, when everything is needed", () => {
    const graph = sample();
    expect(cullGraph(graph, ["b", "unused", "other"])).toBe(graph);
  });

  it("leaves the input unchanged when it drops tasks", () => {
    const graph = sample();
    const culled = cullGraph(graph, ["b"]);
    expect(culled).not.toBe(graph);
    expect(graph.size).toBe(5);
  });

  it("passes over dependencies that are not in the graph", () => {
    const graph = graphOf(taskSpec("b", "add", [new Ref("held-elsewhere"), 1]));
    expect([...cullGraph(graph, ["b"]).keys()]).toEqual(["b"]);
  });

  it("rejects an output that is not in the graph, naming it", () => {
    let error: unknown;
    try {
      cullGraph(sample(), ["b", "nope"]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GraphError);
    expect((error as GraphError).code).toBe("missing-dependency");
    expect((error as GraphError).message).toBe('output "nope" is not in the graph');
    expect((error as GraphError).keys).toEqual(["nope"]);
  });

  it("culls a 100,000-task chain without overflowing the stack", () => {
    const graph: Graph = new Map();
    graph.set("t0", taskSpec("t0", "inc", [0]));
    for (let i = 1; i < 100_000; i++) graph.set(`t${i}`, taskSpec(`t${i}`, "inc", [new Ref(`t${i - 1}`)]));
    graph.set("unused", taskSpec("unused", "inc", [new Ref("t5")]));
    const culled = cullGraph(graph, ["t99999"]);
    expect(culled.size).toBe(100_000);
    expect(culled.has("unused")).toBe(false);
  });
});
