/**
 * Elementwise functions as free functions, NumPy style: `sqrt(x)`, `where(c, a, b)`, `add(1, x)`.
 * Each builds no task; chains fuse into one task per block. Float functions of integer and bool
 * arrays give float64 (int32) or float32 (uint8, bool: NumPy's float16 does not exist here).
 */
import type { ChunkedArray } from "./chunked-array.js";
import { elementwise, type Operand } from "./elementwise.js";

type Unary = (x: Operand) => ChunkedArray;
type Binary = (a: Operand, b: Operand) => ChunkedArray;

const unary = (op: string): Unary => (x) => elementwise(op, [x]);
const binary = (op: string): Binary => (a, b) => elementwise(op, [a, b]);

export const add: Binary = binary("add");
export const subtract: Binary = binary("subtract");
export const multiply: Binary = binary("multiply");
export const divide: Binary = binary("divide");
export const floorDivide: Binary = binary("floorDivide");
export const mod: Binary = binary("mod");
export const power: Binary = binary("power");
export const maximum: Binary = binary("maximum");
export const minimum: Binary = binary("minimum");
export const arctan2: Binary = binary("arctan2");
export const hypot: Binary = binary("hypot");
export const equal: Binary = binary("equal");
export const notEqual: Binary = binary("notEqual");
export const less: Binary = binary("less");
export const lessEqual: Binary = binary("lessEqual");
export const greater: Binary = binary("greater");
export const greaterEqual: Binary = binary("greaterEqual");
export const logicalAnd: Binary = binary("logicalAnd");
export const logicalOr: Binary = binary("logicalOr");
export const logicalXor: Binary = binary("logicalXor");
export const logicalNot: Unary = unary("logicalNot");
export const negative: Unary = unary("negative");
export const abs: Unary = unary("abs");
export const sign: Unary = unary("sign");
export const square: Unary = unary("square");
export const reciprocal: Unary = unary("reciprocal");
export const sqrt: Unary = unary("sqrt");
export const cbrt: Unary = unary("cbrt");
export const exp: Unary = unary("exp");
export const expm1: Unary = unary("expm1");
export const log: Unary = unary("log");
export const log1p: Unary = unary("log1p");
export const log2: Unary = unary("log2");
export const log10: Unary = unary("log10");
export const sin: Unary = unary("sin");
export const cos: Unary = unary("cos");
export const tan: Unary = unary("tan");
export const arcsin: Unary = unary("arcsin");
export const arccos: Unary = unary("arccos");
export const arctan: Unary = unary("arctan");
export const sinh: Unary = unary("sinh");
export const cosh: Unary = unary("cosh");
export const tanh: Unary = unary("tanh");
export const floor: Unary = unary("floor");
export const ceil: Unary = unary("ceil");
export const trunc: Unary = unary("trunc");
export const isnan: Unary = unary("isnan");
export const isfinite: Unary = unary("isfinite");

/** `condition ? a : b` elementwise (condition: nonzero is true); dtype promoted from `a` and `b`. */
export function where(condition: Operand, a: Operand, b: Operand): ChunkedArray {
  return elementwise("where", [condition, a, b]);
}

/** `x` clipped to `[low, high]` elementwise. */
export function clip(x: Operand, low: Operand, high: Operand): ChunkedArray {
  return elementwise("clip", [x, low, high]);
}
