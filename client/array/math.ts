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

/** `a + b`. */
export const add: Binary = binary("add");
/** `a - b`. */
export const subtract: Binary = binary("subtract");
/** `a * b` (int32 wraps like NumPy's). */
export const multiply: Binary = binary("multiply");
/** `a / b`, true division (integers give floats). */
export const divide: Binary = binary("divide");
/** `floor(a / b)`; integer division by zero gives 0. */
export const floorDivide: Binary = binary("floorDivide");
/** Remainder with the sign of `b` (Python's `%`). */
export const mod: Binary = binary("mod");
/** `a ** b`. */
export const power: Binary = binary("power");
/** The larger of `a` and `b`; NaN if either is. */
export const maximum: Binary = binary("maximum");
/** The smaller of `a` and `b`; NaN if either is. */
export const minimum: Binary = binary("minimum");
/** `atan2(a, b)`. */
export const arctan2: Binary = binary("arctan2");
/** `sqrt(a² + b²)` without overflow. */
export const hypot: Binary = binary("hypot");
/** `a == b` (bool). */
export const equal: Binary = binary("equal");
/** `a != b` (bool). */
export const notEqual: Binary = binary("notEqual");
/** `a < b` (bool). */
export const less: Binary = binary("less");
/** `a <= b` (bool). */
export const lessEqual: Binary = binary("lessEqual");
/** `a > b` (bool). */
export const greater: Binary = binary("greater");
/** `a >= b` (bool). */
export const greaterEqual: Binary = binary("greaterEqual");
/** Both nonzero (bool). */
export const logicalAnd: Binary = binary("logicalAnd");
/** Either nonzero (bool). */
export const logicalOr: Binary = binary("logicalOr");
/** Exactly one nonzero (bool). */
export const logicalXor: Binary = binary("logicalXor");
/** Zero (bool). */
export const logicalNot: Unary = unary("logicalNot");
/** `-x` (not for bool). */
export const negative: Unary = unary("negative");
/** `|x|`, same dtype. */
export const abs: Unary = unary("abs");
/** -1, 0 or 1 (NaN stays NaN), same dtype. */
export const sign: Unary = unary("sign");
/** `x * x`, same dtype. */
export const square: Unary = unary("square");
/** `1 / x` (float). */
export const reciprocal: Unary = unary("reciprocal");
/** Square root. */
export const sqrt: Unary = unary("sqrt");
/** Cube root. */
export const cbrt: Unary = unary("cbrt");
/** `e^x`. */
export const exp: Unary = unary("exp");
/** `e^x - 1`, exact near 0. */
export const expm1: Unary = unary("expm1");
/** Natural logarithm. */
export const log: Unary = unary("log");
/** `log(1 + x)`, exact near 0. */
export const log1p: Unary = unary("log1p");
/** Base-2 logarithm. */
export const log2: Unary = unary("log2");
/** Base-10 logarithm. */
export const log10: Unary = unary("log10");
/** Sine (radians). */
export const sin: Unary = unary("sin");
/** Cosine (radians). */
export const cos: Unary = unary("cos");
/** Tangent (radians). */
export const tan: Unary = unary("tan");
/** Inverse sine. */
export const arcsin: Unary = unary("arcsin");
/** Inverse cosine. */
export const arccos: Unary = unary("arccos");
/** Inverse tangent. */
export const arctan: Unary = unary("arctan");
/** Hyperbolic sine. */
export const sinh: Unary = unary("sinh");
/** Hyperbolic cosine. */
export const cosh: Unary = unary("cosh");
/** Hyperbolic tangent. */
export const tanh: Unary = unary("tanh");
/** Round down (float result). */
export const floor: Unary = unary("floor");
/** Round up (float result). */
export const ceil: Unary = unary("ceil");
/** Round toward zero (float result). */
export const trunc: Unary = unary("trunc");
/** True where NaN (bool). */
export const isnan: Unary = unary("isnan");
/** True where neither NaN nor infinite (bool). */
export const isfinite: Unary = unary("isfinite");

/** `condition ? a : b` elementwise (condition: nonzero is true); dtype promoted from `a` and `b`. */
export function where(condition: Operand, a: Operand, b: Operand): ChunkedArray {
  return elementwise("where", [condition, a, b]);
}

/** `x` clipped to `[low, high]` elementwise. */
export function clip(x: Operand, low: Operand, high: Operand): ChunkedArray {
  return elementwise("clip", [x, low, high]);
}
