import { tableFromArrays } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { sizeOf } from "../../executor/size-of.js";

describe("sizeOf", () => {
  it("counts an Arrow table as the bytes of its column buffers", () => {
    const table = tableFromArrays({ a: new Float64Array(100_000), b: new Int32Array(100_000) });
    expect(sizeOf(table)).toBe(1_200_000);
    expect(sizeOf(table.concat(table))).toBe(2_400_000);
  });
});
