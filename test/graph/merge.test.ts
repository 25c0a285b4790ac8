import { describe, expect, it } from "vitest";
import { GraphError } from "../../graph/graph-error.js";
import { mergeGraphs } from "../../graph/merge.js";
import { Call, Ref, taskSpec, type Graph, type TaskSpec } from "../../graph/task-spec.js";

function graphOf(...specs: TaskSpec[]): Graph {
  return new Map(specs.map((spec) => [spec.key, spec]));
}

function conflictOf(run: () => unknown): GraphError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(GraphError);
    expect((error as GraphError).code).toBe("conflicting-spec");
    return error as GraphError;
  }
  throw new Error("expected a conflicting-spec GraphError, nothing was thrown");
}

describe("mergeGraphs", () => {
  it("unites graphs with different keys", () => {
    const merged = mergeGraphs([graphOf(taskSpec("a", "inc", [1])), graphOf(taskSpec("b", "inc", [2]))]);
    expect([...merged.keys()]).toEqual(["a", "b"]);
  });

  it("returns an empty graph for no graphs", () => {
    expect(mergeGraphs([]).size).toBe(0);
  });

  it("keeps one copy of a spec object shared by several graphs", () => {
    const shared = taskSpec("a", "inc", [1]);
    const merged = mergeGraphs([graphOf(shared), graphOf(shared, taskSpec("b", "inc", [new Ref("a")]))]);
    expect(merged.size).toBe(2);
    expect(merged.get("a")).toBe(shared);
  });

  it("accepts distinct but deeply equal specs under one key, keeping the first", () => {
    const build = () =>
      taskSpec(
        "x",
        "combine",
        [
          new Ref("a"),
          new Call("inc", [new Ref("b"), [1, "two", null, undefined]]),
          { nested: { values: new Float64Array([1.5, NaN]) } },
          new Uint8Array([1, 2, 3]),
          new Date(0),
        ],
        { retries: 2, priority: 5 },
      );
    const first = build();
    const merged = mergeGraphs([graphOf(first), graphOf(build())]);
    expect(merged.get("x")).toBe(first);
  });

  it("names the key and shows both specs when the arguments differ", () => {
    const error = conflictOf(() =>
      mergeGraphs([graphOf(taskSpec("x", "inc", [1])), graphOf(taskSpec("x", "inc", [2]))]),
    );
    expect(error.message).toBe('key "x" has two different specs: inc(1) and inc(2)');
    expect(error.keys).toEqual(["x"]);
  });

  it("rejects the same arguments under different functions", () => {
    const error = conflictOf(() =>
      mergeGraphs([graphOf(taskSpec("x", "inc", [1])), graphOf(taskSpec("x", "dec", [1]))]),
    );
    expect(error.message).toBe('key "x" has two different specs: inc(1) and dec(1)');
  });

  it("rejects specs differing only in retries, showing the options", () => {
    const error = conflictOf(() =>
      mergeGraphs([graphOf(taskSpec("x", "inc", [1])), graphOf(taskSpec("x", "inc", [1], { retries: 3 }))]),
    );
    expect(error.message).toBe('key "x" has two different specs: inc(1) and inc(1) {retries: 3}');
  });

  it("rejects specs differing only in priority", () => {
    conflictOf(() =>
      mergeGraphs([graphOf(taskSpec("x", "inc", [1], { priority: 1 })), graphOf(taskSpec("x", "inc", [1]))]),
    );
  });

  it("rejects references to different keys, rendering them as Ref(key)", () => {
    const error = conflictOf(() =>
      mergeGraphs([graphOf(taskSpec("x", "inc", [new Ref("a")])), graphOf(taskSpec("x", "inc", [new Ref("b")]))]),
    );
    expect(error.message).toBe('key "x" has two different specs: inc(Ref(a)) and inc(Ref(b))');
  });

  it("rejects nested Calls with different functions", () => {
    conflictOf(() =>
      mergeGraphs([
        graphOf(taskSpec("x", "double", [new Call("inc", [1])])),
        graphOf(taskSpec("x", "double", [new Call("dec", [1])])),
      ]),
    );
  });

  it("rejects typed arrays with different contents", () => {
    conflictOf(() =>
      mergeGraphs([
        graphOf(taskSpec("x", "sum", [new Float64Array([1, 2])])),
        graphOf(taskSpec("x", "sum", [new Float64Array([1, 3])])),
      ]),
    );
  });

  it("rejects typed arrays of different types holding the same bytes", () => {
    conflictOf(() =>
      mergeGraphs([
        graphOf(taskSpec("x", "sum", [new Uint8Array(8)])),
        graphOf(taskSpec("x", "sum", [new Int8Array(8)])),
      ]),
    );
  });

  it("rejects plain objects with different keys", () => {
    conflictOf(() =>
      mergeGraphs([graphOf(taskSpec("x", "f", [{ a: 1 }])), graphOf(taskSpec("x", "f", [{ b: 1 }]))]),
    );
  });

  it("treats distinct class instances as different, since their equality is unknown", () => {
    class Table {}
    conflictOf(() =>
      mergeGraphs([graphOf(taskSpec("x", "f", [new Table()])), graphOf(taskSpec("x", "f", [new Table()]))]),
    );
  });

  it("says so when the specs differ deeper than the message shows", () => {
    const error = conflictOf(() =>
      mergeGraphs([graphOf(taskSpec("x", "f", [[[[[1]]]]])), graphOf(taskSpec("x", "f", [[[[[2]]]]]))]),
    );
    expect(error.message).toContain("differ deeper than shown");
  });

  it("does not change the input graphs", () => {
    const first = graphOf(taskSpec("a", "inc", [1]));
    const second = graphOf(taskSpec("b", "inc", [2]));
    const merged = mergeGraphs([first, second]);
    expect([...first.keys()]).toEqual(["a"]);
    expect([...second.keys()]).toEqual(["b"]);
    expect(merged).not.toBe(first);
  });

  it("compares Calls nested 100,000 deep without overflowing the stack", () => {
    const deep = (leaf: number): TaskSpec => {
      let args: unknown[] = [leaf];
      for (let i = 0; i < 100_000; i++) args = [new Call("inc", args)];
      // Built by hand: taskSpec's own walk over the arguments is recursive.
      return { key: "x", fn: "double", args, deps: [] };
    };
    expect(mergeGraphs([graphOf(deep(0)), graphOf(deep(0))]).size).toBe(1);
    conflictOf(() => mergeGraphs([graphOf(deep(0)), graphOf(deep(1))]));
  });
});
