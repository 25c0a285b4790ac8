import { describe, expect, it } from "vitest";
import type { Column } from "../../../kernels/dataframe/column.js";
import { groupRows, hashRows } from "../../../kernels/dataframe/hash-keys.js";

const strings = (dictionary: string[], codes: number[], valid: number[] | null = null): Column => ({
  kind: "string",
  values: Int32Array.from(codes),
  dictionary,
  valid: valid === null ? null : Uint8Array.from(valid),
});

describe("grouping key rows", () => {
  it("puts equal strings in one group even when a dictionary repeats an entry", () => {
    const { groupOf, ngroups, firstRow } = groupRows([strings(["a", "b", "a"], [0, 1, 2, 0])], true);
    expect([...groupOf]).toEqual([0, 1, 0, 0]);
    expect(ngroups).toBe(2);
    expect([...firstRow]).toEqual([0, 1]);
  });

  it("leaves rows with a null key out, or makes them one group when asked to keep them", () => {
    const column = strings(["x"], [0, 0, 0], [1, 0, 1]);
    expect([...groupRows([column], true).groupOf]).toEqual([0, -1, 0]);
    expect([...groupRows([column], false).groupOf]).toEqual([0, 1, 0]);
  });

  it("hashes a string by its text, not its dictionary code, so partitions agree", () => {
    const one = hashRows([strings(["p", "q"], [1])], 1);
    const other = hashRows([strings(["q"], [0])], 1);
    expect(one[0]).toBe(other[0]);
  });

  it("groups several key columns of different kinds together", () => {
    const ints: Column = { kind: "int", values: Int32Array.from([1, 1, 2, 1]), valid: null };
    const floats: Column = { kind: "float", values: Float64Array.from([0.5, 0.5, 0.5, -0]), valid: null };
    const { groupOf, ngroups } = groupRows([ints, floats], true);
    expect([...groupOf]).toEqual([0, 0, 1, 2]);
    expect(ngroups).toBe(3);
  });
});
