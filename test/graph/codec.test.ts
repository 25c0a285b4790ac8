import { Table, tableFromArrays } from "apache-arrow";
import { Packr, pack as plainPack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { decodeGraph, decodeValue, encodeGraph, encodeValue } from "../../graph/codec.js";
import { checkSerializable } from "../../graph/wire-form.js";
import { GraphError } from "../../graph/graph-error.js";
import { Call, Ref, collectRefs, taskSpec, type Graph, type TaskSpec } from "../../graph/task-spec.js";

function roundTrip<T>(value: T): T {
  return decodeValue(encodeValue(value)) as T;
}

function graphOf(...specs: TaskSpec[]): Graph {
  return new Map(specs.map((spec) => [spec.key, spec]));
}

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error, nothing was thrown");
}

function graphErrorOf(run: () => unknown): GraphError {
  const error = thrown(run);
  expect(error).toBeInstanceOf(GraphError);
  return error as GraphError;
}

const TYPED_ARRAY_CLASSES = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
] as const;

function sampleOf(cls: (typeof TYPED_ARRAY_CLASSES)[number]): ArrayBufferView {
  if (cls === BigInt64Array) return new BigInt64Array([0n, -1n, 2n ** 62n, -(2n ** 63n)]);
  if (cls === BigUint64Array) return new BigUint64Array([0n, 1n, 2n ** 64n - 1n]);
  return new (cls as Float64ArrayConstructor)([0, 1, 2, 127, 3.5, -1]);
}

/** Bytes for `envelope` with the encoding of the string `marker` replaced by `raw` MessagePack. */
function withRawBytes(envelope: unknown, marker: string, raw: number[]): Uint8Array {
  const bytes = Buffer.from(encodeValue(envelope));
  const needle = Buffer.from(encodeValue(marker));
  const at = bytes.indexOf(needle);
  expect(at).toBeGreaterThanOrEqual(0);
  return Buffer.concat([bytes.subarray(0, at), Buffer.from(raw), bytes.subarray(at + needle.length)]);
}

function graphEnvelope(tasks: unknown[]): unknown {
  return { format: "weft-graph", version: 1, tasks };
}

describe("encodeValue / decodeValue round trip", () => {
  it.each([
    ["null", null],
    ["undefined", undefined],
    ["true", true],
    ["false", false],
    ["zero", 0],
    ["a small integer", 42],
    ["a negative integer", -123456],
    ["an integer above 2^32", 2 ** 40],
    ["the largest safe integer", Number.MAX_SAFE_INTEGER],
    ["a fraction", 0.1],
    ["a tiny float", 5e-324],
    ["Infinity", Infinity],
    ["-Infinity", -Infinity],
    ["the empty string", ""],
    ["an ASCII string", "hello"],
    ["a non-ASCII string", "Grüße, 世界 🌍"],
    ["a small bigint", 7n],
    ["a negative bigint", -7n],
    ["the largest int64 bigint", 2n ** 63n - 1n],
    ["a uint64 bigint", 2n ** 64n - 1n],
    ["a bigint wider than 64 bits", 2n ** 200n + 12345n],
    ["a negative bigint wider than 64 bits", -(2n ** 130n)],
  ])("keeps %s", (_name, value) => {
    expect(roundTrip(value)).toBe(value);
  });

  it("keeps NaN", () => {
    expect(roundTrip(NaN)).toBeNaN();
  });

  it("keeps the sign of -0, alone and nested", () => {
    expect(Object.is(roundTrip(-0), -0)).toBe(true);
    const nested = roundTrip({ a: [-0, 0], m: new Map([["z", -0]]) });
    expect(Object.is(nested.a[0], -0)).toBe(true);
    expect(Object.is(nested.a[1], 0)).toBe(true);
    expect(Object.is(nested.m.get("z"), -0)).toBe(true);
  });

  it("keeps an object property whose value is undefined", () => {
    const decoded = roundTrip({ a: undefined, b: 1 });
    expect("a" in decoded).toBe(true);
    expect(decoded).toStrictEqual({ a: undefined, b: 1 });
  });

  it("turns array holes into undefined", () => {
    // eslint-disable-next-line no-sparse-arrays
    expect(roundTrip([1, , 3])).toStrictEqual([1, undefined, 3]);
  });

  it("keeps nested plain objects and arrays", () => {
    const value = { a: [1, "two", { three: [3, [4]] }], b: { c: { d: null } }, "key with spaces": true };
    expect(roundTrip(value)).toStrictEqual(value);
  });

  it("decodes an object with a null prototype as a plain object with the same entries", () => {
    const value = Object.assign(Object.create(null) as Record<string, number>, { x: 1, y: 2 });
    const decoded = roundTrip(value);
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(decoded).toEqual({ x: 1, y: 2 });
  });

  it.each([
    ["empty array", []],
    ["empty object", {}],
    ["empty Map", new Map()],
    ["empty Set", new Set()],
    ["empty Float64Array", new Float64Array(0)],
    ["empty ArrayBuffer", new ArrayBuffer(0)],
  ])("keeps an %s", (_name, value) => {
    expect(roundTrip(value)).toStrictEqual(value);
  });

  it("keeps a Map with non-string keys as a Map", () => {
    const map = new Map<unknown, unknown>([
      [1, "one"],
      ["1", "string one"],
      [true, [1, 2]],
      [null, { x: 1 }],
      [3n, "bigint"],
    ]);
    const decoded = roundTrip(map);
    expect(decoded).toBeInstanceOf(Map);
    expect([...decoded]).toStrictEqual([...map]);
  });

  it("keeps Maps nested in Maps, objects and arrays", () => {
    const value = { m: new Map([["inner", new Map([[1, [new Map([[2, 3]])]]])]]) };
    expect(roundTrip(value)).toStrictEqual(value);
  });

  it("keeps a Map with object keys, by value", () => {
    const decoded = roundTrip(new Map([[{ id: 1 }, "a"]]));
    expect([...decoded]).toStrictEqual([[{ id: 1 }, "a"]]);
  });

  it("keeps a Set, including one that holds Maps and -0-free numbers", () => {
    const value = new Set<unknown>([1, "a", new Map([["k", 1]]), [2, 3]]);
    const decoded = roundTrip(value);
    expect(decoded).toBeInstanceOf(Set);
    expect([...decoded]).toStrictEqual([...value]);
  });

  it.each([
    ["the epoch", new Date(0)],
    ["a date with milliseconds", new Date("2024-02-29T12:34:56.789Z")],
    ["a date before 1970", new Date("1901-05-06T07:08:09.123Z")],
    ["the latest date", new Date(8.64e15)],
  ])("keeps a Date: %s", (_name, date) => {
    const decoded = roundTrip(date);
    expect(decoded).toBeInstanceOf(Date);
    expect(decoded.getTime()).toBe(date.getTime());
  });

  it("keeps an invalid Date invalid", () => {
    expect(roundTrip(new Date(NaN)).getTime()).toBeNaN();
  });

  it("keeps a RegExp's source and flags", () => {
    const decoded = roundTrip(/a+[b-z]\/?$/giu);
    expect(decoded).toBeInstanceOf(RegExp);
    expect(decoded.source).toBe("a+[b-z]\\/?$");
    expect(decoded.flags).toBe("giu");
  });

  it.each(TYPED_ARRAY_CLASSES.map((cls) => [cls.name, cls] as const))("keeps a %s as that class", (_name, cls) => {
    const value = sampleOf(cls);
    const decoded = roundTrip(value);
    expect(decoded.constructor).toBe(cls);
    expect(decoded).toStrictEqual(value);
  });

  it("keeps only a subarray's own elements", () => {
    const whole = new Float64Array([1, 2, 3, 4, 5]);
    const decoded = roundTrip(whole.subarray(1, 3));
    expect(decoded).toStrictEqual(new Float64Array([2, 3]));
  });

  it("decodes a Buffer as a Uint8Array with the same bytes", () => {
    const decoded = roundTrip(Buffer.from([1, 2, 255]));
    expect(decoded.constructor).toBe(Uint8Array);
    expect([...decoded]).toStrictEqual([1, 2, 255]);
  });

  it("keeps a DataView's bytes", () => {
    const view = new DataView(new Uint8Array([9, 8, 7, 6]).buffer, 1, 2);
    const decoded = roundTrip(view);
    expect(decoded).toBeInstanceOf(DataView);
    expect([decoded.getUint8(0), decoded.getUint8(1)]).toStrictEqual([8, 7]);
    expect(decoded.byteLength).toBe(2);
  });

  it("keeps an ArrayBuffer's bytes in an ArrayBuffer of the same length", () => {
    const decoded = roundTrip(new Uint8Array([1, 2, 3]).buffer);
    expect(decoded).toBeInstanceOf(ArrayBuffer);
    expect(decoded.byteLength).toBe(3);
    expect([...new Uint8Array(decoded)]).toStrictEqual([1, 2, 3]);
  });

  it("keeps Ref and Call, as their classes, inside arrays and objects", () => {
    const value = {
      list: [new Ref("a"), { deep: new Call("add", [new Ref("b"), [new Ref("c")], { d: new Ref("d") }]) }],
      call: new Call("inc", [new Call("double", [new Ref("e")])]),
    };
    const decoded = roundTrip(value);
    expect(decoded).toStrictEqual(value);
    expect(decoded.list[0]).toBeInstanceOf(Ref);
    expect(decoded.call).toBeInstanceOf(Call);
    expect(decoded.call.args[0]).toBeInstanceOf(Call);
  });

  it("keeps Maps, typed arrays and -0 inside a Call's arguments", () => {
    const value = new Call("f", [new Map([["x", new Float32Array([1.5])]]), -0]);
    const decoded = roundTrip(value);
    expect(decoded).toStrictEqual(value);
    expect(Object.is(decoded.args[1], -0)).toBe(true);
  });

  it("keeps a large Float64Array", () => {
    const value = Float64Array.from({ length: 1_000_000 }, (_, i) => i * 0.5);
    const decoded = roundTrip(value);
    expect(decoded).toBeInstanceOf(Float64Array);
    // Compared as bytes: a deep equality over a million elements takes the matcher many seconds.
    expect(Buffer.from(decoded.buffer, decoded.byteOffset, decoded.byteLength).equals(Buffer.from(value.buffer))).toBe(true);
  });

  it("keeps a large string", () => {
    const value = "weft ".repeat(300_000);
    expect(roundTrip(value)).toBe(value);
  });

  it("keeps a long array of small objects", () => {
    const value = Array.from({ length: 100_000 }, (_, i) => ({ i, s: `row ${i}` }));
    // Compared as JSON (the value is JSON-safe): the deep matcher is slow on this many objects.
    expect(JSON.stringify(roundTrip(value))).toBe(JSON.stringify(value));
  });

  it("keeps an object with more than 65,535 keys", () => {
    const value: Record<string, number> = {};
    for (let i = 0; i < 70_000; i++) value[`k${i}`] = i;
    expect(JSON.stringify(roundTrip(value))).toBe(JSON.stringify(value));
  });

  it("gives the same bytes for the same value, typed arrays included", () => {
    const value = () => ({ a: [1, "x", new Float64Array([1, 2])], m: new Map([[1, new Ref("r")]]) });
    const first = Buffer.from(encodeValue(value()));
    encodeValue("something in between, so the second message starts elsewhere");
    expect(Buffer.from(encodeValue(value())).equals(first)).toBe(true);
  });
});

describe("typed arrays without copying", () => {
  it.each([0, 1, 2, 3, 4, 5, 6, 7])(
    "decodes a Float64Array as a view on the input bytes after a %i-character prefix",
    (prefix) => {
      const bytes = encodeValue(["x".repeat(prefix), new Float64Array([1, 2, 3])]);
      const [, decoded] = decodeValue(bytes) as [string, Float64Array];
      expect(decoded.buffer).toBe(bytes.buffer);
      expect([...decoded]).toStrictEqual([1, 2, 3]);
    },
  );

  it("still decodes without copying from a fresh copy of the bytes, as a receiver holds them", () => {
    const received = new Uint8Array(encodeValue({ block: new BigInt64Array([1n, 2n]) }));
    const decoded = decodeValue(received) as { block: BigInt64Array };
    expect(decoded.block.buffer).toBe(received.buffer);
  });

  it.each([
    ["Uint8Array", (length: number) => new Uint8Array(length)],
    ["Buffer", (length: number) => Buffer.alloc(length)],
  ])("copies a typed array whose bytes sit at an unaligned offset of a %s", (_name, allocate) => {
    const bytes = encodeValue(new Float64Array([1.25, -2.5]));
    const unaligned = allocate(bytes.length + 1).subarray(1);
    unaligned.set(bytes);
    const decoded = decodeValue(unaligned) as Float64Array;
    expect(decoded.buffer).not.toBe(unaligned.buffer);
    expect([...decoded]).toStrictEqual([1.25, -2.5]);
  });

  it("does not let a small message keep a large message's buffer alive", () => {
    encodeValue(new Float64Array(1_000_000));
    const small = encodeValue([1, 2, 3]);
    expect(small.buffer.byteLength).toBeLessThanOrEqual(64 * 1024);
  });
});

describe("decodeValue", () => {
  it("reads plain MessagePack written by other encoders", () => {
    expect(decodeValue(plainPack({ a: [1, "x", null], b: 2.5 }))).toStrictEqual({ a: [1, "x", null], b: 2.5 });
  });

  it("throws an Error on truncated bytes", () => {
    const bytes = encodeValue({ a: "a string that will be cut short" });
    expect(() => decodeValue(bytes.subarray(0, bytes.length - 5))).toThrow(/cannot decode value/);
  });

  it("throws on bytes left over after the value", () => {
    const bytes = Buffer.concat([Buffer.from(encodeValue(1)), Buffer.from([0x01])]);
    expect(() => decodeValue(bytes)).toThrow(/cannot decode value/);
  });

  it("refuses structured-clone references, so a decoded value is never cyclic", () => {
    const cyclic: Record<string, unknown> = { name: "loop" };
    cyclic.self = cyclic;
    const bytes = new Packr({ structuredClone: true }).pack(cyclic);
    expect(() => decodeValue(bytes)).toThrow(/cannot decode value/);
  });

  it("refuses a Ref whose key is not a string", () => {
    const bytes = withRawBytes(["MARK"], "MARK", [0xd4, 0x52, 0x00, 0x05]);
    expect(() => decodeValue(bytes)).toThrow(/Ref holds a number/);
  });
});

describe("encodeValue", () => {
  it("throws a TypeError naming the path of a function", () => {
    expect(() => encodeValue({ options: [1, { onDone: () => 0 }] })).toThrow(
      new TypeError("value.options[1].onDone is a function"),
    );
  });
});

describe("checkSerializable", () => {
  it("returns undefined for a value of every supported type", () => {
    const value = [
      null,
      undefined,
      true,
      -0,
      NaN,
      1n,
      "s",
      [1, [2]],
      { a: { b: 1 } },
      Object.create(null),
      new Map([[{ k: 1 }, new Set([1])]]),
      new Date(),
      /re/g,
      new Float64Array(2),
      Buffer.from("x"),
      new DataView(new ArrayBuffer(1)),
      new ArrayBuffer(1),
      new Ref("a"),
      new Call("f", [new Ref("b")]),
    ];
    expect(checkSerializable(value, "args")).toBeUndefined();
  });

  it("names the path of a function", () => {
    expect(checkSerializable([1, { callback: () => 0 }], "args")).toBe("args[1].callback is a function");
  });

  it("names the path of a symbol", () => {
    expect(checkSerializable({ tag: Symbol("t") }, "args")).toBe("args.tag is a symbol");
  });

  it("names the path and class of a class instance", () => {
    class Point {
      constructor(readonly x: number) {}
    }
    expect(checkSerializable([[new Point(1)]], "args")).toBe("args[0][0] is an instance of class Point");
  });

  it("refuses an Error, which would lose its class and stack", () => {
    expect(checkSerializable({ failure: new RangeError("x") }, "args")).toBe(
      "args.failure is an instance of class RangeError",
    );
  });

  it("quotes a key that is not an identifier", () => {
    expect(checkSerializable({ "my key": () => 0 }, "args")).toBe('args["my key"] is a function');
  });

  it("names a circular reference and what it points back to", () => {
    const node: Record<string, unknown> = { children: [] };
    (node.children as unknown[]).push({ parent: node });
    expect(checkSerializable([node], "args")).toBe("args[0].children[0].parent is a circular reference to args[0]");
  });

  it("names a cycle that closes deep inside the value where it first closes", () => {
    const head: Record<string, unknown> = {};
    let node = head;
    for (let i = 0; i < 100; i++) node = (node.next = {}) as Record<string, unknown>;
    node.next = head;
    expect(checkSerializable({ list: head }, "args")).toBe(
      `args.list${".next".repeat(101)} is a circular reference to args.list`,
    );
  });

  it("accepts a deeply nested value without cycles", () => {
    let value: unknown = 1;
    for (let i = 0; i < 1_000; i++) value = { child: [value] };
    expect(checkSerializable(value, "args")).toBeUndefined();
  });

  it("accepts the same object reached twice without a cycle", () => {
    const shared = { big: [1, 2, 3] };
    expect(checkSerializable([shared, { again: shared }], "args")).toBeUndefined();
  });

  it("names paths through Map values, Map keys, Set items and Call arguments", () => {
    expect(checkSerializable(new Map([["k", [() => 0]]]), "m")).toBe('m.get("k")[0] is a function');
    expect(checkSerializable(new Map([[Symbol("s"), 1]]), "m")).toBe("m.keys()[0] is a symbol");
    expect(checkSerializable(new Set([1, () => 0]), "s")).toBe("s.values()[1] is a function");
    expect(checkSerializable([new Call("f", [1, () => 0])], "args")).toBe("args[0].args[1] is a function");
  });

  it("refuses a Ref whose key is not a string", () => {
    expect(checkSerializable([new Ref(7 as unknown as string)], "args")).toBe(
      "args[0] is a Ref whose key is a number, not a string",
    );
  });

  it("refuses an own __proto__ key, which msgpackr would rename", () => {
    const value = JSON.parse('{"__proto__": 1}') as unknown;
    expect(checkSerializable(value, "args")).toMatch(/^args has an own "__proto__" key/);
  });

  it("does not walk the elements of a large typed array", () => {
    const block = new Float64Array(4_000_000);
    const started = performance.now();
    for (let i = 0; i < 100; i++) checkSerializable([block], "args");
    expect(performance.now() - started).toBeLessThan(50);
  });
});

describe("encodeGraph / decodeGraph", () => {
  it("gives back a graph equal to the original", () => {
    const graph = graphOf(
      taskSpec("load", "load", ["s3://bucket/x.csv", { header: true }]),
      taskSpec("clean", "clean", [new Ref("load"), [new Ref("load")]], { retries: 2, timeoutMs: 60_000 }),
      taskSpec("fused", "add", [new Call("inc", [new Ref("clean")]), { factor: new Call("double", [3]) }], {
        priority: -5,
      }),
      taskSpec("block", "scale", [new Float64Array([1, 2]), new Map([["k", new Ref("fused")]]), new Date(5)]),
    );
    expect(decodeGraph(encodeGraph(graph))).toStrictEqual(graph);
  });

  it("gives back an empty graph", () => {
    expect(decodeGraph(encodeGraph(new Map()))).toStrictEqual(new Map());
  });

  it("recomputes deps from the args instead of reading them from the wire", () => {
    const forged: TaskSpec = { key: "b", fn: "inc", args: [new Ref("a")], deps: ["not-a-dep"] };
    const decoded = decodeGraph(encodeGraph(graphOf(taskSpec("a", "one", []), forged)));
    expect(decoded.get("b")!.deps).toStrictEqual(["a"]);
  });

  it("finds deps nested in Calls, objects and Maps after decoding", () => {
    const args = [new Call("f", [{ x: new Ref("a") }]), new Map([["k", new Ref("b")]]), [new Ref("a")]];
    const bytes = encodeValue(graphEnvelope([["c", "g", args]]));
    expect(decodeGraph(bytes).get("c")!.deps).toStrictEqual(collectRefs(args));
  });

  it("throws unserializable-argument naming the task and the argument's path", () => {
    const error = graphErrorOf(() => encodeGraph(graphOf(taskSpec("t", "f", [1, { cb: () => 0 }]))));
    expect(error.code).toBe("unserializable-argument");
    expect(error.keys).toStrictEqual(["t"]);
    expect(error.message).toBe('task "t": args[1].cb is a function');
  });

  it("refuses to encode an entry whose key differs from its task's key", () => {
    const error = graphErrorOf(() => encodeGraph(new Map([["a", taskSpec("b", "f", [])]])));
    expect(error.code).toBe("invalid-graph");
    expect(error.keys).toStrictEqual(["a"]);
  });
});

describe("decodeGraph on malformed bytes", () => {
  const valid = (tasks: unknown[]) => encodeValue(graphEnvelope(tasks));

  it.each<[string, () => Uint8Array, RegExp]>([
    ["an unknown MessagePack extension", () => new Uint8Array([0xd4, 0x07, 0x00]), /not valid weft MessagePack/],
    ["truncated bytes", () => encodeGraph(graphOf(taskSpec("a", "f", ["x".repeat(50)]))).subarray(0, 40), /not valid weft MessagePack/],
    ["no bytes at all", () => new Uint8Array(0), /not valid weft MessagePack/],
    ["an array instead of a graph", () => encodeValue([1, 2]), /hold an array, not a weft graph/],
    ["an object of another format", () => encodeValue({ format: "other", version: 1, tasks: [] }), /not a weft graph \(format is "other"\)/],
    ["an unknown version", () => encodeValue({ format: "weft-graph", version: 2, tasks: [] }), /unsupported weft graph version 2/],
    ["tasks that are not an array", () => encodeValue({ format: "weft-graph", version: 1, tasks: {} }), /"tasks" is an object, not an array/],
    ["a task that is not a tuple", () => valid([{ key: "a" }]), /task 0 is not \[key, fn, args\]/],
    ["a task tuple that is too short", () => valid([["a", "f"]]), /task 0 is not \[key, fn, args\]/],
    ["a key that is not a string", () => valid([[1, "f", []]]), /task 0 has a key that is not a non-empty string/],
    ["an empty key", () => valid([["", "f", []]]), /task 0 has a key that is not a non-empty string/],
    ["a fn that is not a string", () => valid([["a", 5, []]]), /task "a" has a fn that is not a non-empty string/],
    ["args that are not an array", () => valid([["a", "f", { x: 1 }]]), /task "a" has args that are an object, not an array/],
    ["options that are not an object", () => valid([["a", "f", [], 3]]), /task "a" has options that are a number/],
    ["negative retries", () => valid([["a", "f", [], { retries: -1 }]]), /task "a" has retries -1/],
    ["fractional retries", () => valid([["a", "f", [], { retries: 1.5 }]]), /task "a" has retries 1.5/],
    ["a priority that is not a number", () => valid([["a", "f", [], { priority: "high" }]]), /task "a" has priority "high"/],
    ["an infinite priority", () => valid([["a", "f", [], { priority: Infinity }]]), /task "a" has priority Infinity: it must be an integer from -1000000 to 1000000/],
    ["a priority beyond the exact range", () => valid([["a", "f", [], { priority: 1e9 }]]), /task "a" has priority 1000000000: it must be an integer from -1000000 to 1000000/],
    ["a fractional priority", () => valid([["a", "f", [], { priority: 0.5 }]]), /task "a" has priority 0.5: it must be an integer/],
    ["a timeout of 0", () => valid([["a", "f", [], { timeoutMs: 0 }]]), /task "a" has timeoutMs 0, not a whole number from 1 to 2147483647/],
    ["a timeout a timer cannot wait", () => valid([["a", "f", [], { timeoutMs: 2 ** 31 }]]), /task "a" has timeoutMs 2147483648/],
    ["an unknown option", () => valid([["a", "f", [], { deps: ["x"] }]]), /task "a" has an unknown option "deps"/],
    ["a duplicate key", () => valid([["a", "f", []], ["a", "g", []]]), /duplicate task key "a"/],
    ["a Ref whose key is not a string", () => withRawBytes(graphEnvelope([["a", "f", ["MARK"]]]), "MARK", [0xd4, 0x52, 0x00, 0xc3]), /Ref holds a boolean/],
    ["an argument msgpackr decodes but weft never sends", () => withRawBytes(graphEnvelope([["a", "f", ["MARK"]]]), "MARK", [0xc1]), /task "a": args\[0\] is an instance of class/],
    ["a Call that is not [fn, args]", () => withRawBytes(graphEnvelope([["a", "f", ["MARK"]]]), "MARK", [0xd4, 0x43, 0x00, 0x91, 0xa1, 0x66]), /Call must hold/],
    ["a Map with an odd number of items", () => withRawBytes(graphEnvelope([["a", "f", ["MARK"]]]), "MARK", [0xd4, 0x4d, 0x00, 0x91, 0x01]), /Map must hold/],
    ["a typed array with an unknown class code", () => withRawBytes(graphEnvelope([["a", "f", ["MARK"]]]), "MARK", [0xc7, 9, 0x54, 99, 0, 0, 0, 0, 0, 0, 0, 0]), /unknown typed-array class code 99/],
  ])("throws invalid-graph for %s", (_name, bytes, message) => {
    const error = graphErrorOf(() => decodeGraph(bytes()));
    expect(error.code).toBe("invalid-graph");
    expect(error.message).toMatch(message);
  });

  it("names the task in keys when the fault lies in one task", () => {
    const error = graphErrorOf(() => decodeGraph(valid([["ok", "f", []], ["bad", "f", "not args"]])));
    expect(error.keys).toStrictEqual(["bad"]);
  });
});

describe("Arrow tables", () => {
  const table = () =>
    tableFromArrays({
      id: Int32Array.from([1, 2, 3]),
      score: Float64Array.from([0.5, Number.NaN, -2]),
      name: ["a", null, "c"],
    });

  it("round-trips a Table as a Table with the same schema and values", () => {
    const decoded = decodeValue(encodeValue(table())) as Table;
    expect(decoded).toBeInstanceOf(Table);
    expect(decoded.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual(["id:Int32", "score:Float64", "name:Dictionary<Int32, Utf8>"]);
    expect(decoded.toArray().map((row) => row.toJSON())).toEqual(table().toArray().map((row) => row.toJSON()));
  });

  it.each([0, 1, 2, 3, 4, 5, 6, 7])("decodes a Table nested in arrays and objects after a %i-character prefix", (prefix) => {
    const [, { parts }] = decodeValue(encodeValue(["x".repeat(prefix), { parts: [table(), table().slice(1)] }])) as [string, { parts: Table[] }];
    expect(parts.map((t) => t.numRows)).toEqual([3, 2]);
    expect([...parts[1].getChild("id")!.toArray()]).toEqual([2, 3]);
  });

  it("round-trips an empty Table with its schema", () => {
    const decoded = decodeValue(encodeValue(table().slice(0, 0))) as Table;
    expect(decoded.numRows).toBe(0);
    expect(decoded.schema.names).toEqual(["id", "score", "name"]);
  });

  it("accepts a Table in checkSerializable", () => {
    expect(checkSerializable({ t: table() }, "args")).toBeUndefined();
  });
});
