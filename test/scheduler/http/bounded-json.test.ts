import { Table, tableFromArrays } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { stringifyWithin } from "../../../scheduler/http/bounded-json.js";

const LARGE = 1 << 30;

/** The replacer results were written with before: the text must stay the same. */
function reference(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value === undefined) return null;
  if (value === null || typeof value !== "object") return value;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number | bigint>);
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  if (value instanceof Table) return value.toArray().map((row) => row?.toJSON());
  return value;
}

describe("stringifyWithin", () => {
  it("writes the same text as JSON.stringify with the replacer results had, for every kind of value a result holds", () => {
    const value = {
      text: "héllo \u2028 \ud83d\ude00",
      numbers: [1, -0.5, Number.NaN, Number.POSITIVE_INFINITY, 1e300],
      typed: new Float32Array([1, 2.5]),
      bigints: new BigInt64Array([1n, -(2n ** 62n)]),
      big: 2n ** 70n,
      map: new Map([["a", 1]]),
      set: new Set([3, "x"]),
      missing: undefined,
      nested: [[[]], {}, [null, true, false]],
      date: new Date(0),
      bytes: Buffer.from([1, 2]),
      "key with \"quotes\"": 1,
    };
    expect(stringifyWithin(value, LARGE)).toBe(JSON.stringify(value, reference));
  });

  it("writes an Arrow table as its rows", () => {
    const table = tableFromArrays({ k: Int32Array.from([1, 2]), v: ["a", "b"] });
    expect(stringifyWithin({ table }, LARGE)).toBe(JSON.stringify({ table }, reference));
  });

  it("gives up, undefined, once the text would pass the limit, counting bytes of UTF-8", () => {
    const text = JSON.stringify({ a: [1, 2, 3] });
    expect(stringifyWithin({ a: [1, 2, 3] }, text.length)).toBe(text);
    expect(stringifyWithin({ a: [1, 2, 3] }, text.length - 1)).toBeUndefined();
    expect(stringifyWithin("ééé", 8)).toBe('"ééé"');
    expect(stringifyWithin("ééé", 7)).toBeUndefined();
  });

  it("gives up on a typed array, a long string, or many small members past the limit", () => {
    expect(stringifyWithin({ a: new Float64Array(2_000_000).fill(0.25) }, 1024)).toBeUndefined();
    expect(stringifyWithin(["x".repeat(5000)], 1024)).toBeUndefined();
    expect(stringifyWithin(Array.from({ length: 5000 }, (_, i) => ({ i })), 1024)).toBeUndefined();
  });

  it("writes values nested deeper than JSON.stringify can (it overflows the stack a few thousand levels down)", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(stringifyWithin(deep, LARGE)).toBe(`${"[".repeat(10_000)}1${"]".repeat(10_000)}`);
  });

  it("refuses a cycle with a TypeError, as JSON.stringify does", () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(() => stringifyWithin(cyclic, LARGE)).toThrow(TypeError);
  });
});
