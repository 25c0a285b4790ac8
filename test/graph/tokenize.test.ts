import { describe, expect, it } from "vitest";
import { decodeValue, encodeValue } from "../../graph/codec.js";
import { Call, Ref } from "../../graph/task-spec.js";
import { tokenize } from "../../graph/tokenize.js";

function thrownBy(run: () => unknown): TypeError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return error as TypeError;
  }
  throw new Error("expected a TypeError, nothing was thrown");
}

/** Fails unless every value tokenizes differently from every other. */
function expectAllDistinct(values: unknown[]): void {
  const tokens = values.map((value) => tokenize(value));
  expect(new Set(tokens).size).toBe(values.length);
}

describe("tokenize determinism", () => {
  it("returns 20 lowercase hex characters", () => {
    expect(tokenize("inc", 5)).toMatch(/^[0-9a-f]{20}$/);
  });

  it("gives the same token for the same arguments", () => {
    expect(tokenize("inc", 5)).toBe(tokenize("inc", 5));
  });

  it("gives the same token for deeply equal but distinct values", () => {
    const make = () => ({ a: [1, { b: "x" }], m: new Map([[1, new Set([2])]]), t: new Float64Array([1, 2]) });
    expect(tokenize(make())).toBe(tokenize(make()));
  });

  it("ignores the key order of plain objects, at every depth", () => {
    expect(tokenize({ a: 1, b: { c: 2, d: 3 } })).toBe(tokenize({ b: { d: 3, c: 2 }, a: 1 }));
  });

  it("ignores the insertion order of a Map", () => {
    expect(tokenize(new Map<unknown, unknown>([[1, "a"], ["b", 2]]))).toBe(
      tokenize(new Map<unknown, unknown>([["b", 2], [1, "a"]])),
    );
  });

  it("ignores the insertion order of a Set", () => {
    expect(tokenize(new Set([1, "two", [3]]))).toBe(tokenize(new Set([[3], "two", 1])));
  });

  it("treats an object with a null prototype like a plain object", () => {
    expect(tokenize(Object.assign(Object.create(null) as object, { a: 1 }))).toBe(tokenize({ a: 1 }));
  });

  it("treats a Buffer like a Uint8Array with the same bytes", () => {
    expect(tokenize(Buffer.from([1, 2, 3]))).toBe(tokenize(new Uint8Array([1, 2, 3])));
  });

  it("hashes a typed-array view by its own bytes, not its whole buffer", () => {
    const whole = new Float64Array([9, 1, 2, 9]);
    expect(tokenize(whole.subarray(1, 3))).toBe(tokenize(new Float64Array([1, 2])));
  });

  it("treats array holes like undefined", () => {
    // eslint-disable-next-line no-sparse-arrays
    expect(tokenize([1, , 3])).toBe(tokenize([1, undefined, 3]));
  });

  it("gives NaN one token", () => {
    expect(tokenize(NaN)).toBe(tokenize(0 / 0));
  });

  it("tokenizes a Ref by its key", () => {
    expect(tokenize(new Ref("a"))).toBe(tokenize(new Ref("a")));
    expect(tokenize(new Ref("a"))).not.toBe(tokenize(new Ref("b")));
  });

  it("tokenizes a Call by its function and arguments", () => {
    expect(tokenize(new Call("add", [new Ref("a"), 1]))).toBe(tokenize(new Call("add", [new Ref("a"), 1])));
    expect(tokenize(new Call("add", [1]))).not.toBe(tokenize(new Call("sub", [1])));
    expect(tokenize(new Call("add", [1]))).not.toBe(tokenize(new Call("add", [2])));
  });

  it("tokenizes a Date by its time and a RegExp by its source and flags", () => {
    expect(tokenize(new Date(5))).toBe(tokenize(new Date(5)));
    expect(tokenize(new Date(5))).not.toBe(tokenize(new Date(6)));
    expect(tokenize(/a/g)).toBe(tokenize(/a/g));
    expect(tokenize(/a/g)).not.toBe(tokenize(/a/i));
  });

  it("gives a value the same token before and after a trip through the wire codec", () => {
    const value = {
      n: [1, -0, NaN, 2n ** 70n],
      s: "x",
      m: new Map<unknown, unknown>([[{ k: 1 }, new Set([1])]]),
      t: [new Int16Array([1, -1]), Buffer.from("b"), new DataView(new ArrayBuffer(2)), new ArrayBuffer(3)],
      d: new Date(0),
      r: /re/y,
      g: new Call("f", [new Ref("a"), undefined, null]),
    };
    expect(tokenize(decodeValue(encodeValue(value)))).toBe(tokenize(value));
  });
});

describe("tokenize distinctions", () => {
  it("tells apart values of different types that print alike", () => {
    expectAllDistinct([1, "1", 1n, true, "true", null, "null", undefined, "undefined", new Date(1), [1], new Ref("1")]);
  });

  it("tells [1] from { 0: 1 }", () => {
    expect(tokenize([1])).not.toBe(tokenize({ 0: 1 }));
  });

  it("tells a Map from a plain object and a Set from an array with the same entries", () => {
    expect(tokenize(new Map([["a", 1]]))).not.toBe(tokenize({ a: 1 }));
    expect(tokenize(new Set([1, 2]))).not.toBe(tokenize([1, 2]));
  });

  it("tells a Float64Array from a Float32Array with the same bytes", () => {
    const bytes = new Uint8Array([0, 0, 128, 63, 0, 0, 0, 64]);
    expect(tokenize(new Float64Array(bytes.buffer))).not.toBe(tokenize(new Float32Array(bytes.buffer)));
  });

  it("tells every typed-array class, DataView and ArrayBuffer apart for the same bytes", () => {
    const buffer = new Uint8Array(16).fill(1).buffer;
    expectAllDistinct([
      new Int8Array(buffer),
      new Uint8Array(buffer),
      new Uint8ClampedArray(buffer),
      new Int16Array(buffer),
      new Uint16Array(buffer),
      new Int32Array(buffer),
      new Uint32Array(buffer),
      new Float32Array(buffer),
      new Float64Array(buffer),
      new BigInt64Array(buffer),
      new BigUint64Array(buffer),
      new DataView(buffer),
      buffer,
    ]);
  });

  it("tells typed arrays apart by any byte, including the last", () => {
    const a = new Float64Array(100_000);
    const b = a.slice();
    b[b.length - 1] = 1;
    expect(tokenize(a)).not.toBe(tokenize(b));
  });

  it("tells -0 from 0, as the wire codec keeps the sign", () => {
    expect(tokenize(-0)).not.toBe(tokenize(0));
  });

  it("keeps argument boundaries", () => {
    expectAllDistinct([["ab"], ["a", "b"], [["a", "b"]], [["a"], "b"], ["a,b"], []]);
    expect(tokenize("a", "b")).not.toBe(tokenize("ab"));
    expect(tokenize()).not.toBe(tokenize(undefined));
    expect(tokenize(["a"])).not.toBe(tokenize("a"));
  });

  it("does not confuse strings that spell out other values' encodings", () => {
    expectAllDistinct([["s1:a"], ["a"], ["n1;"], [1], [{ a: 1 }], ["{1;s1:an1;}"], [""], [" "]]);
  });

  it("tells apart strings with different lone surrogates", () => {
    expect(tokenize("\uD800")).not.toBe(tokenize("\uD801"));
  });

  it("tells apart object keys and values that swap places", () => {
    expect(tokenize({ a: "b" })).not.toBe(tokenize({ b: "a" }));
  });

  it("gives distinct tokens to many distinct small values", () => {
    const tokens = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      tokens.add(tokenize("inc", i));
      tokens.add(tokenize("inc", String(i)));
    }
    expect(tokens.size).toBe(40_000);
  });
});

describe("tokenize refusals", () => {
  it("names the path of a function", () => {
    expect(thrownBy(() => tokenize("f", { callback: () => 0 })).message).toBe(
      "cannot tokenize values[1].callback: it is a function",
    );
  });

  it("names the path of a symbol", () => {
    expect(thrownBy(() => tokenize([Symbol("s")])).message).toBe("cannot tokenize values[0][0]: it is a symbol");
  });

  it("names the path and class of a class instance", () => {
    class Point {
      x = 1;
    }
    expect(thrownBy(() => tokenize({ "a point": new Point() })).message).toBe(
      'cannot tokenize values[0]["a point"]: it is an instance of class Point',
    );
  });

  it("names paths through Map values and Set items", () => {
    expect(thrownBy(() => tokenize(new Map([["k", () => 0]]))).message).toBe(
      'cannot tokenize values[0].get("k"): it is a function',
    );
    expect(thrownBy(() => tokenize(new Set([Symbol("s")]))).message).toBe(
      "cannot tokenize values[0].values()[0]: it is a symbol",
    );
  });

  it("names a circular reference instead of recursing forever", () => {
    const node: Record<string, unknown> = { name: "n" };
    node.self = [node];
    expect(thrownBy(() => tokenize(node)).message).toBe("cannot tokenize values[0].self[0]: it is a circular reference");
  });

  it("accepts the same object reached twice without a cycle", () => {
    const shared = { x: 1 };
    expect(tokenize([shared, shared])).toBe(tokenize([{ x: 1 }, { x: 1 }]));
  });
});

describe("tokenize speed", () => {
  /** The best of a few runs, so another process taking the CPU for a moment does not fail the test. */
  function bestOf(runs: number, work: () => void): number {
    let best = Infinity;
    for (let run = 0; run < runs; run++) {
      const started = performance.now();
      work();
      best = Math.min(best, performance.now() - started);
    }
    return best;
  }

  it("tokenizes a small call 10,000 times in well under 50 ms", () => {
    for (let i = 0; i < 5_000; i++) tokenize("inc", i); // let the JIT compile first
    const elapsed = bestOf(5, () => {
      for (let i = 0; i < 10_000; i++) tokenize("inc", 5);
    });
    expect(elapsed).toBeLessThan(25);
  });

  it("tokenizes a 32 MB typed array in a fraction of a second", () => {
    const block = new Float64Array(4_000_000);
    expect(bestOf(3, () => tokenize(block))).toBeLessThan(250);
  });
});
