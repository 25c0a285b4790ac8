import { describe, expect, it } from "vitest";
import { readColumn, toTable, type Column } from "../../../kernels/dataframe/column.js";

describe("kernel columns as Arrow vectors", () => {
  it("writes a string column with only the dictionary entries its rows use", () => {
    const column: Column = { kind: "string", values: Int32Array.from([3, 0, 3]), dictionary: ["a", "b", "c", "d"], valid: Uint8Array.from([1, 0, 1]) };
    const table = toTable(["s"], [column]);
    expect(table.getChild("s")!.data[0].dictionary!.toArray()).toEqual(["d"]);
    expect(table.getChild("s")!.toArray()).toEqual(["d", null, "d"]);
  });

  it("reads back every kind with its nulls", () => {
    const columns: Column[] = [
      { kind: "int", values: Int32Array.from([1, 0, -3]), valid: Uint8Array.from([1, 0, 1]) },
      { kind: "float", values: Float64Array.from([0.5, 0, Number.NaN]), valid: Uint8Array.from([1, 0, 1]) },
      { kind: "bool", values: Uint8Array.from([1, 0, 0]), valid: Uint8Array.from([1, 1, 0]) },
      { kind: "timestamp", values: Float64Array.from([0, 1_700_000_000_123, 0]), valid: Uint8Array.from([1, 1, 0]) },
      { kind: "string", values: Int32Array.from([1, 0, 0]), dictionary: ["x", "y"], valid: null },
    ];
    const table = toTable(["i", "f", "b", "t", "s"], columns);
    const back = ["i", "f", "b", "t", "s"].map((name) => readColumn(table, name));
    expect(back.map((c) => c.kind)).toEqual(["int", "float", "bool", "timestamp", "string"]);
    expect(back.map((c) => (c.valid === null ? null : [...c.valid]))).toEqual([[1, 0, 1], [1, 0, 1], [1, 1, 0], [1, 1, 0], null]);
    expect([back[0].values[0], back[0].values[2], back[1].values[0], back[2].values[0], back[3].values[1]]).toEqual([1, -3, 0.5, 1, 1_700_000_000_123]);
    expect(Number.isNaN(back[1].values[2])).toBe(true);
    expect(back[4].dictionary![back[4].values[0]]).toBe("y");
  });
});
