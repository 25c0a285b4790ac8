import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../../../client/client.js";
import * as wa from "../../../client/array/index.js";
import { type DType, DTYPES, promote, promoteScalar } from "../../../kernels/array/dtype.js";
import { ELEMENTWISE_OPS } from "../../../kernels/array/elementwise-ops.js";
import { evaluateProgram } from "../../../kernels/array/compile-kernel.js";
import { broadcastMap, expectClose, randomDense, chunked } from "./dense-reference.js";
import { seededRandom } from "../../support/seeded-random.js";

let client: Client;
beforeAll(async () => {
  client = await Client.local({ executor: "sync" });
});
afterAll(() => client.close());

const isFloatType = (d: DType) => d === "float64" || d === "float32";
const floatOf = (d: DType): DType => (d === "float64" || d === "int32" ? "float64" : "float32");
const int32Multiply = (a: number, b: number) => Number(BigInt.asIntN(32, BigInt(a) * BigInt(b)));
const pyMod = (a: number, b: number) => a - Math.floor(a / b) * b;

/** Each operation written directly, independent of the kernel templates: (values, result dtype) -> value. */
const REFERENCE: Record<string, { result: (dtypes: DType[]) => DType; f: (dtype: DType, ...v: number[]) => number }> = {
  add: { result: (d) => d.reduce(promote), f: (_, a, b) => a + b },
  subtract: { result: (d) => d.reduce(promote), f: (_, a, b) => a - b },
  multiply: { result: (d) => d.reduce(promote), f: (t, a, b) => (t === "int32" ? int32Multiply(a, b) : a * b) },
  divide: { result: (d) => floatOf(d.reduce(promote)), f: (_, a, b) => a / b },
  floorDivide: { result: (d) => d.reduce(promote), f: (t, a, b) => (!isFloatType(t) && b === 0 ? 0 : Math.floor(a / b)) },
  mod: { result: (d) => d.reduce(promote), f: (t, a, b) => (!isFloatType(t) && b === 0 ? 0 : pyMod(a, b)) },
  power: { result: (d) => d.reduce(promote), f: (_, a, b) => a ** b },
  maximum: { result: (d) => d.reduce(promote), f: (_, a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)) },
  minimum: { result: (d) => d.reduce(promote), f: (_, a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)) },
  arctan2: { result: (d) => floatOf(d.reduce(promote)), f: (_, a, b) => Math.atan2(a, b) },
  hypot: { result: (d) => floatOf(d.reduce(promote)), f: (_, a, b) => Math.sqrt(a * a + b * b) },
  equal: { result: () => "bool", f: (_, a, b) => Number(a === b) },
  notEqual: { result: () => "bool", f: (_, a, b) => Number(a !== b) },
  less: { result: () => "bool", f: (_, a, b) => Number(a < b) },
  lessEqual: { result: () => "bool", f: (_, a, b) => Number(a <= b) },
  greater: { result: () => "bool", f: (_, a, b) => Number(a > b) },
  greaterEqual: { result: () => "bool", f: (_, a, b) => Number(a >= b) },
  logicalAnd: { result: () => "bool", f: (_, a, b) => Number(Boolean(a) && Boolean(b)) },
  logicalOr: { result: () => "bool", f: (_, a, b) => Number(Boolean(a) || Boolean(b)) },
  logicalXor: { result: () => "bool", f: (_, a, b) => Number(Boolean(a) !== Boolean(b)) },
  logicalNot: { result: () => "bool", f: (_, a) => Number(!a) },
  negative: { result: ([d]) => d, f: (_, a) => -a },
  abs: { result: ([d]) => d, f: (_, a) => (a < 0 ? -a : a) },
  sign: { result: ([d]) => d, f: (_, a) => (Number.isNaN(a) ? NaN : a > 0 ? 1 : a < 0 ? -1 : 0) },
  square: { result: ([d]) => d, f: (t, a) => (t === "int32" ? int32Multiply(a, a) : a * a) },
  reciprocal: { result: ([d]) => floatOf(d), f: (_, a) => 1 / a },
  sqrt: { result: ([d]) => floatOf(d), f: (_, a) => Math.sqrt(a) },
  cbrt: { result: ([d]) => floatOf(d), f: (_, a) => Math.cbrt(a) },
  exp: { result: ([d]) => floatOf(d), f: (_, a) => Math.exp(a) },
  expm1: { result: ([d]) => floatOf(d), f: (_, a) => Math.expm1(a) },
  log: { result: ([d]) => floatOf(d), f: (_, a) => Math.log(a) },
  log1p: { result: ([d]) => floatOf(d), f: (_, a) => Math.log1p(a) },
  log2: { result: ([d]) => floatOf(d), f: (_, a) => Math.log2(a) },
  log10: { result: ([d]) => floatOf(d), f: (_, a) => Math.log10(a) },
  sin: { result: ([d]) => floatOf(d), f: (_, a) => Math.sin(a) },
  cos: { result: ([d]) => floatOf(d), f: (_, a) => Math.cos(a) },
  tan: { result: ([d]) => floatOf(d), f: (_, a) => Math.tan(a) },
  arcsin: { result: ([d]) => floatOf(d), f: (_, a) => Math.asin(a) },
  arccos: { result: ([d]) => floatOf(d), f: (_, a) => Math.acos(a) },
  arctan: { result: ([d]) => floatOf(d), f: (_, a) => Math.atan(a) },
  sinh: { result: ([d]) => floatOf(d), f: (_, a) => Math.sinh(a) },
  cosh: { result: ([d]) => floatOf(d), f: (_, a) => Math.cosh(a) },
  tanh: { result: ([d]) => floatOf(d), f: (_, a) => Math.tanh(a) },
  floor: { result: ([d]) => floatOf(d), f: (_, a) => Math.floor(a) },
  ceil: { result: ([d]) => floatOf(d), f: (_, a) => Math.ceil(a) },
  trunc: { result: ([d]) => floatOf(d), f: (_, a) => Math.trunc(a) },
  isnan: { result: () => "bool", f: (_, a) => Number(Number.isNaN(a)) },
  isfinite: { result: () => "bool", f: (_, a) => Number(Number.isFinite(a)) },
  where: { result: ([, a, b]) => promote(a, b), f: (_, c, a, b) => (c !== 0 ? a : b) },
  clip: { result: (d) => d.reduce(promote), f: (_, a, low, high) => (Number.isNaN(a) ? NaN : Math.min(Math.max(a, low), high)) },
};

/** Operations NumPy refuses for some dtypes: not part of the random draw for those. */
function refused(op: string, dtypes: DType[]): boolean {
  return (op === "subtract" && dtypes.every((d) => d === "bool")) || (op === "negative" && dtypes[0] === "bool");
}

/** A shape that broadcasts against `shape`: some axes set to 1, maybe leading axes dropped. */
function broadcastable(shape: readonly number[], random: () => number): number[] {
  const dropped = Math.floor(random() * (shape.length + 1) * 0.5);
  return shape.slice(dropped).map((n) => (random() < 0.3 ? 1 : n));
}

describe("elementwise operations against a dense reference", () => {
  it("covers every operation of the kernel table", () => {
    expect(Object.keys(REFERENCE).sort()).toEqual(Object.keys(ELEMENTWISE_OPS).sort());
  });

  it.each(Object.keys(REFERENCE))("%s: random shapes, uneven chunks, broadcasting, mixed dtypes", async (op) => {
    const random = seededRandom(op.length * 7919 + op.charCodeAt(0));
    const { result, f } = REFERENCE[op];
    const arity = ELEMENTWISE_OPS[op].arity;
    for (let trial = 0; trial < 8; trial++) {
      const ndim = 1 + Math.floor(random() * 3);
      const shape = Array.from({ length: ndim }, () => 1 + Math.floor(random() * 6));
      let dtypes: DType[];
      do dtypes = Array.from({ length: arity }, () => DTYPES[Math.floor(random() * DTYPES.length)]);
      while (refused(op, dtypes));
      // Operand 0 has the full shape; the others broadcast against it.
      const denses = dtypes.map((dtype, k) => randomDense(k === 0 ? shape : broadcastable(shape, random), dtype, random));
      const arrays = denses.map((dense) => chunked(dense, random));
      // Operands in a random order, as long as the first keeps the full shape somewhere.
      const order = arity === 2 && random() < 0.5 ? [1, 0] : Array.from({ length: arity }, (_, k) => k);
      const outDtype = result(order.map((k) => dtypes[k]));
      const expected = broadcastMap(order.map((k) => denses[k]), outDtype, (...values) => f(outDtype, ...values));
      const [actual] = await client.compute(wa.elementwise(op, order.map((k) => arrays[k])));
      expectClose(actual, expected);
    }
  });

  it.each(["add", "multiply", "divide", "power", "less", "maximum", "where", "clip"])("%s: with plain numbers as operands", async (op) => {
    const random = seededRandom(op.length * 31 + 5);
    const { result, f } = REFERENCE[op];
    const arity = ELEMENTWISE_OPS[op].arity;
    for (let trial = 0; trial < 8; trial++) {
      const dtype = DTYPES[Math.floor(random() * DTYPES.length)];
      const dense = randomDense([3 + Math.floor(random() * 4), 2 + Math.floor(random() * 3)], dtype, random);
      const array = chunked(dense, random);
      const scalars = Array.from({ length: arity - 1 }, () => (random() < 0.5 ? Math.floor(random() * 5) : Math.round((random() * 10 - 5) * 1000) / 1000));
      const condition = op === "where";
      const operands = condition ? [array, ...scalars] : [array, ...scalars];
      // Scalars take the array's dtype when they fit its kind (NumPy 2's weak scalars).
      const base = condition ? undefined : dtype;
      const scalarTypes = scalars.map((s) => (base === undefined ? (Number.isInteger(s) ? "int32" : "float64") : promoteScalar(base, s)));
      const outDtype = result([dtype, ...scalarTypes] as DType[]);
      const expected = broadcastMap([dense, ...scalars], outDtype, (...values) => f(outDtype, ...values));
      const [actual] = await client.compute(wa.elementwise(op, operands));
      expectClose(actual, expected);
    }
  });

  it("evaluates a long chain of operations in float64 like the dense reference, step by step", async () => {
    const random = seededRandom(11);
    const x = randomDense([7, 5], "float64", random);
    const y = randomDense([5], "float64", random);
    const chain = wa.tanh(wa.sqrt(wa.abs(chunked(x, random).add(1).mul(chunked(y, random)).sub(0.5))).div(3)).pow(2);
    const expected = broadcastMap([x, y], "float64", (a, b) => Math.tanh(Math.sqrt(Math.abs((a + 1) * b - 0.5)) / 3) ** 2);
    expectClose((await client.compute(chain))[0], expected);
  });

  it("rounds float32 results at every step, as float32 arithmetic does", async () => {
    const x = wa.fromArray(Float32Array.of(0.1, 0.2, 0.3), { chunks: 2 });
    const [sum] = await client.compute(x.add(x).mul(0.1));
    const f = Math.fround;
    expect(Array.from(sum.data)).toEqual([0.1, 0.2, 0.3].map((v) => f(f(f(v) + f(v)) * f(0.1))));
    expect(sum.dtype).toBe("float32");
  });

  it("wraps int32 and uint8 results as NumPy does", async () => {
    const big = wa.fromArray(Int32Array.of(2_000_000_000, -7), { chunks: 1 });
    const bytes = wa.fromArray(Uint8Array.of(250, 3), { chunks: 1 });
    const [sum, product, byteSum] = await client.compute(big.add(big), big.mul(3), bytes.add(10));
    expect(Array.from(sum.data)).toEqual([(4_000_000_000 | 0), -14]);
    expect(Array.from(product.data)).toEqual([int32Multiply(2_000_000_000, 3), -21]);
    expect(Array.from(byteSum.data)).toEqual([4, 13]);
  });

  it("computes 0-d arrays", async () => {
    const scalar = wa.fromArray(Float64Array.of(4), { shape: [] });
    const [root] = await client.compute(wa.sqrt(scalar).add(1));
    expect(root.shape).toEqual([]);
    expect(Array.from(root.data)).toEqual([3]);
  });

  it("refuses shapes that do not broadcast, naming both", () => {
    const a = wa.zeros([3, 4]);
    const b = wa.zeros([3]);
    expect(() => a.add(b)).toThrow(/\[3, 4\] and \[3\] do not broadcast/);
  });

  it("refuses subtracting or negating booleans, as NumPy does", () => {
    const flags = wa.fromArray([true, false]);
    expect(() => flags.sub(flags)).toThrow(TypeError);
    expect(() => flags.neg()).toThrow(/logicalNot/);
  });

  it("refuses an integer scalar out of the array's integer range instead of wrapping it", () => {
    expect(() => wa.fromArray(Uint8Array.of(1)).add(300)).toThrow(RangeError);
  });

  it("refuses kernel programs naming unknown operations, dtypes or inputs, so graph data never becomes code", () => {
    const block = { data: Float64Array.of(1, 2), shape: [2], dtype: "float64" as const };
    const input = { dtype: "float64" as const, axes: [0] };
    const run = (root: unknown, inputs: unknown[] = [input]) =>
      evaluateProgram({ root, inputs, constants: [], dtype: "float64" } as never, [2], [block]);
    expect(() => run({ op: 'add"); globalThis.hacked = 1; ("', args: [{ input: 0 }, { input: 0 }], dtype: "float64" })).toThrow(/unknown elementwise operation/);
    expect(() => run({ op: "toString", args: [{ input: 0 }], dtype: "float64" })).toThrow(/unknown elementwise operation "toString"/);
    expect(() => run({ op: "abs", args: [{ input: 0 }], dtype: "float64; globalThis.hacked = 1" })).toThrow(/unknown dtype/);
    expect(() => run({ input: "0]; globalThis.hacked = 1; [" })).toThrow(/unknown input/);
    expect((globalThis as { hacked?: unknown }).hacked).toBeUndefined();
  });

  it("refuses an unknown operation by name", () => {
    expect(() => wa.elementwise("frobnicate", [wa.zeros([1])])).toThrow(/unknown elementwise operation "frobnicate"/);
  });
});
