import { describe, expect, it } from "vitest";
import { GraphError } from "../../graph/graph-error.js";
import { Call, Ref, taskSpec, type Graph } from "../../graph/task-spec.js";
import { decodeWireGraph, encodeWireGraph, type WireGraph } from "../../graph/wire-graph.js";

function decodeError(wire: WireGraph): GraphError {
  try {
    decodeWireGraph(wire);
  } catch (error) {
    return error as GraphError;
  }
  throw new Error("decoding did not fail");
}

describe("decodeWireGraph", () => {
  it("turns tasks into task specs with their dependencies, retries, priority and timeout", () => {
    const { graph, outputs } = decodeWireGraph({
      tasks: { a: { fn: "weft.add", args: [1, 2] }, b: { fn: "weft.mul", args: [{ $ref: "a" }, 10], retries: 2, priority: 5, timeoutMs: 900 } },
      outputs: ["b"],
    });
    expect(outputs).toEqual(["b"]);
    expect(graph.get("a")).toEqual(taskSpec("a", "weft.add", [1, 2]));
    expect(graph.get("b")).toEqual(taskSpec("b", "weft.mul", [new Ref("a"), 10], { retries: 2, priority: 5, timeoutMs: 900 }));
    expect(graph.get("b")!.deps).toEqual(["a"]);
  });

  it("reads references nested in arrays and objects", () => {
    const { graph } = decodeWireGraph({ tasks: { s: { fn: "weft.sum", args: [[{ $ref: "x" }, { inner: { $ref: "y" } }]] } }, outputs: ["s"] });
    expect(graph.get("s")!.deps).toEqual(["x", "y"]);
  });

  it("reads $call as a nested call", () => {
    const { graph } = decodeWireGraph({ tasks: { c: { fn: "weft.identity", args: [{ $call: "weft.add", args: [{ $ref: "a" }, 1] }] } }, outputs: ["c"] });
    expect(graph.get("c")!.args).toEqual([new Call("weft.add", [new Ref("a"), 1])]);
    expect(graph.get("c")!.deps).toEqual(["a"]);
  });

  it("reads $bytes and $typed from base64 text or binary", () => {
    const floats = new Float64Array([1.5, -2]);
    const base64 = Buffer.from(floats.buffer).toString("base64");
    const { graph } = decodeWireGraph({
      tasks: {
        t: { fn: "weft.identity", args: [{ $typed: "float64", data: base64 }, { $bytes: "AQID" }, { $typed: "int16", data: new Uint8Array([1, 0, 255, 255]) }] },
      },
      outputs: ["t"],
    });
    expect(graph.get("t")!.args).toEqual([floats, new Uint8Array([1, 2, 3]), new Int16Array([1, -1])]);
  });

  it("takes a $literal's value as it is", () => {
    const { graph } = decodeWireGraph({ tasks: { l: { fn: "weft.identity", args: [{ $literal: { $ref: "not a reference" } }] } }, outputs: ["l"] });
    expect(graph.get("l")!.args).toEqual([{ $ref: "not a reference" }]);
    expect(graph.get("l")!.deps).toEqual([]);
  });

  it.each([
    [{ $ref: 3 }, "the key must be a non-empty string"],
    [{ $ref: "a", extra: 1 }, 'unexpected field "extra"'],
    [{ $call: "f", args: "x" }, "args must be an array"],
    [{ $typed: "float128", data: "" }, "the type must be one of"],
    [{ $typed: "float64", data: "AQID" }, "3 bytes is not a whole number of float64 elements"],
    [{ $bytes: "not base64!" }, "bytes must be base64 text"],
    [{ $eval: "process.exit()" }, "unknown marker"],
  ])("refuses the malformed marker %j, naming the task and path", (marker, message) => {
    const error = decodeError({ tasks: { bad: { fn: "weft.identity", args: [1, [marker]] } }, outputs: ["bad"] });
    expect(error).toBeInstanceOf(GraphError);
    expect(error.code).toBe("invalid-graph");
    expect(error.keys).toEqual(["bad"]);
    expect(error.message).toContain("args[1][0]");
    expect(error.message).toContain(message);
  });
});

describe("encodeWireGraph", () => {
  it("round-trips through decodeWireGraph, references, calls, typed arrays and $-keyed objects included", () => {
    const graph: Graph = new Map([
      ["a", taskSpec("a", "f", [1, "two", null, true, { x: [3] }])],
      ["b", taskSpec("b", "g", [new Ref("a"), new Call("h", [new Ref("a"), new Float32Array([0.5])]), new Uint8Array([9]), { $ref: "literal" }], { retries: 1 })],
    ]);
    for (const bytes of ["binary", "base64"] as const) {
      const wire = JSON.parse(JSON.stringify(encodeWireGraph(graph, ["b"], "base64"))) as WireGraph;
      const decoded = decodeWireGraph(bytes === "base64" ? wire : encodeWireGraph(graph, ["b"], bytes));
      expect(decoded.graph).toEqual(graph);
      expect(decoded.outputs).toEqual(["b"]);
    }
  });

  it.each([
    [() => 1, "a function"],
    [undefined, "undefined"],
    [new Map(), "a Map"],
    [Number.NaN, "NaN"],
    [10n, "a bigint"],
  ])("refuses %s, naming the task and path", (value, what) => {
    const graph: Graph = new Map([["t", taskSpec("t", "f", [[value]])]]);
    expect(() => encodeWireGraph(graph, ["t"])).toThrow(`task "t": the argument at args[0][0] is ${what}`);
  });
});
