import { Table, tableFromArrays } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { packTables, unpackTables } from "../../executor/table-transfer.js";

const table = () => tableFromArrays({ k: Int32Array.from([1, 2, 3]), v: Float64Array.from([0.5, 1.5, 2.5]) });

describe("tables across worker threads", () => {
  it("packs tables inside arrays and objects into shared bytes that survive structured cloning", () => {
    const packed = structuredClone(packTables([1, { part: table() }, "x"]));
    const [one, { part }, x] = unpackTables(packed) as [number, { part: Table }, string];
    expect([one, x]).toEqual([1, "x"]);
    expect(part).toBeInstanceOf(Table);
    expect([...(part.getChild("v")!.toArray() as Float64Array)]).toEqual([0.5, 1.5, 2.5]);
    expect(part.getChild("v")!.data[0].values.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it("encodes a table once, and a table read from shared bytes goes out as those bytes again", () => {
    const t = table();
    const first = packTables(t);
    expect(packTables(t)).toBe(first);
    const back = unpackTables(first) as Table;
    expect(packTables(back)).toBe(first);
  });

  it("leaves values without tables as they are, containers included", () => {
    const plain = { a: [1, 2, { b: new Float64Array(3) }], c: "text" };
    expect(packTables(plain)).toBe(plain);
    expect(unpackTables(plain)).toBe(plain);
  });
});
