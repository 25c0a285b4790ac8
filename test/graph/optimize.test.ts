import { describe, expect, it } from "vitest";
import { GraphError } from "../../graph/graph-error.js";
import { optimizeGraph } from "../../graph/optimize.js";
import { Call, Ref, taskSpec, type Graph, type TaskSpec } from "../../graph/task-spec.js";

function graphOf(...specs: TaskSpec[]): Graph {
  return new Map(specs.map((spec) => [spec.key, spec]));
}

/** A chain a -> b -> c, plus `unused` reading `a` (which stops `a` fusing until it is culled). */
function sample(): Graph {
  return graphOf(
    taskSpec("a", "inc", [1]),
    taskSpec("b", "inc", [new Ref("a")]),
    taskSpec("c", "double", [new Ref("b")]),
    taskSpec("unused", "dec", [new Ref("a")]),
  );
}

describe("optimizeGraph", () => {
  it("culls, then fuses what is left, by default", () => {
    const optimized = optimizeGraph(sample(), ["c"]);
    expect([...optimized.keys()]).toEqual(["c"]);
    expect(optimized.get("c")!.args).toEqual([new Call("inc", [new Call("inc", [1])])]);
  });

  it("keeps unneeded tasks, and the edges they add, with cull off", () => {
    const optimized = optimizeGraph(sample(), ["c"], { cull: false });
    expect([...optimized.keys()]).toEqual(["a", "c", "unused"]);
  });

  it("keeps every needed task separate with fuse off", () => {
    expect([...optimizeGraph(sample(), ["c"], { fuse: false }).keys()]).toEqual(["a", "b", "c"]);
  });

  it("returns the input itself, uncopied, with every pass off", () => {
    const graph = sample();
    expect(optimizeGraph(graph, ["c"], { cull: false, fuse: false })).toBe(graph);
  });

  it("passes fuse options through", () => {
    const optimized = optimizeGraph(sample(), ["c"], { fuse: { maxChainLength: 2 } });
    expect([...optimized.keys()]).toEqual(["b", "c"]);
  });

  it("keeps every output's key", () => {
    const optimized = optimizeGraph(sample(), ["b", "c"]);
    expect([...optimized.keys()]).toEqual(["b", "c"]);
  });

  it("does not change the input graph", () => {
    const graph = sample();
    const before = [...graph.entries()];
    optimizeGraph(graph, ["c"]);
    expect([...graph.entries()]).toEqual(before);
  });

  it("rejects an output that is not in the graph when culling", () => {
    expect(() => optimizeGraph(sample(), ["nope"])).toThrow(GraphError);
  });
});
