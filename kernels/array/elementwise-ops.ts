/**
 * The elementwise operations arrays support: for each, how many operands it takes, the dtype of its
 * result, and the JavaScript expression that computes one element. Fused kernels are generated from
 * these templates only (see `compile-kernel.ts`), so a graph naming an operation can never inject
 * code: an unknown name is refused, and numbers from the graph are passed as values, never as text.
 */
import { type DType, floatOf, promote } from "./dtype.js";

/** One elementwise operation. */
export interface ElementwiseOp {
  readonly arity: number;
  /** The result dtype for operands of these dtypes (already promoted for scalars by the caller). */
  resultDType(operands: readonly DType[]): DType;
  /**
   * The JavaScript expression of one result element, from the operands' expressions (each already a
   * number in its dtype's range). Its value is then cast to the result dtype.
   */
  expression(operands: readonly string[], result: DType): string;
  /** Refuses operand dtypes the operation has no meaning for (NumPy raises for these too). */
  check?(operands: readonly DType[]): string | undefined;
}

const sameAsPromoted = (operands: readonly DType[]): DType => operands.reduce(promote);
const toFloat = (operands: readonly DType[]): DType => floatOf(operands.reduce(promote));
const toBool = (): DType => "bool";

function unaryMath(fn: string): ElementwiseOp {
  return { arity: 1, resultDType: toFloat, expression: ([a]) => `${fn}(${a})` };
}

function compare(operator: string): ElementwiseOp {
  return { arity: 2, resultDType: toBool, expression: ([a, b]) => `(${a} ${operator} ${b} ? 1 : 0)` };
}

const noBoolSubtract = (operands: readonly DType[]): string | undefined =>
  operands.every((d) => d === "bool") ? "subtracting booleans is not supported; use logicalXor" : undefined;

/** Every elementwise operation by name. */
export const ELEMENTWISE_OPS: Readonly<Record<string, ElementwiseOp>> = {
  add: { arity: 2, resultDType: sameAsPromoted, expression: ([a, b]) => `(${a} + ${b})` },
  subtract: { arity: 2, resultDType: sameAsPromoted, expression: ([a, b]) => `(${a} - ${b})`, check: noBoolSubtract },
  multiply: {
    arity: 2,
    resultDType: sameAsPromoted,
    // int32 products overflow a double's 53 bits; Math.imul wraps exactly as NumPy's int32 does.
    expression: ([a, b], result) => (result === "int32" ? `Math.imul(${a}, ${b})` : `(${a} * ${b})`),
  },
  divide: { arity: 2, resultDType: toFloat, expression: ([a, b]) => `(${a} / ${b})` },
  floorDivide: {
    arity: 2,
    resultDType: sameAsPromoted,
    // NumPy gives 0 for an integer division by zero.
    expression: ([a, b], result) =>
      result === "float64" || result === "float32" ? `Math.floor(${a} / ${b})` : `(${b} === 0 ? 0 : Math.floor(${a} / ${b}))`,
  },
  mod: {
    arity: 2,
    resultDType: sameAsPromoted,
    // Python/NumPy remainder: the sign of the divisor.
    expression: ([a, b], result) =>
      result === "float64" || result === "float32"
        ? `(${a} - Math.floor(${a} / ${b}) * ${b})`
        : `(${b} === 0 ? 0 : ${a} - Math.floor(${a} / ${b}) * ${b})`,
  },
  power: { arity: 2, resultDType: sameAsPromoted, expression: ([a, b]) => `Math.pow(${a}, ${b})` },
  maximum: { arity: 2, resultDType: sameAsPromoted, expression: ([a, b]) => `Math.max(${a}, ${b})` },
  minimum: { arity: 2, resultDType: sameAsPromoted, expression: ([a, b]) => `Math.min(${a}, ${b})` },
  arctan2: { arity: 2, resultDType: toFloat, expression: ([a, b]) => `Math.atan2(${a}, ${b})` },
  hypot: { arity: 2, resultDType: toFloat, expression: ([a, b]) => `Math.hypot(${a}, ${b})` },
  equal: compare("==="),
  notEqual: compare("!=="),
  less: compare("<"),
  lessEqual: compare("<="),
  greater: compare(">"),
  greaterEqual: compare(">="),
  logicalAnd: { arity: 2, resultDType: toBool, expression: ([a, b]) => `(${a} !== 0 && ${b} !== 0 ? 1 : 0)` },
  logicalOr: { arity: 2, resultDType: toBool, expression: ([a, b]) => `(${a} !== 0 || ${b} !== 0 ? 1 : 0)` },
  logicalXor: { arity: 2, resultDType: toBool, expression: ([a, b]) => `((${a} !== 0) !== (${b} !== 0) ? 1 : 0)` },
  logicalNot: { arity: 1, resultDType: toBool, expression: ([a]) => `(${a} === 0 ? 1 : 0)` },
  negative: {
    arity: 1,
    resultDType: sameAsPromoted,
    expression: ([a]) => `(-${a})`,
    check: ([a]) => (a === "bool" ? "negating booleans is not supported; use logicalNot" : undefined),
  },
  abs: { arity: 1, resultDType: sameAsPromoted, expression: ([a]) => `Math.abs(${a})` },
  sign: { arity: 1, resultDType: sameAsPromoted, expression: ([a]) => `(${a} > 0 ? 1 : ${a} < 0 ? -1 : ${a})` },
  square: {
    arity: 1,
    resultDType: sameAsPromoted,
    expression: ([a], result) => (result === "int32" ? `Math.imul(${a}, ${a})` : `(${a} * ${a})`),
  },
  reciprocal: { arity: 1, resultDType: toFloat, expression: ([a]) => `(1 / ${a})` },
  sqrt: unaryMath("Math.sqrt"),
  cbrt: unaryMath("Math.cbrt"),
  exp: unaryMath("Math.exp"),
  expm1: unaryMath("Math.expm1"),
  log: unaryMath("Math.log"),
  log1p: unaryMath("Math.log1p"),
  log2: unaryMath("Math.log2"),
  log10: unaryMath("Math.log10"),
  sin: unaryMath("Math.sin"),
  cos: unaryMath("Math.cos"),
  tan: unaryMath("Math.tan"),
  arcsin: unaryMath("Math.asin"),
  arccos: unaryMath("Math.acos"),
  arctan: unaryMath("Math.atan"),
  sinh: unaryMath("Math.sinh"),
  cosh: unaryMath("Math.cosh"),
  tanh: unaryMath("Math.tanh"),
  floor: unaryMath("Math.floor"),
  ceil: unaryMath("Math.ceil"),
  trunc: unaryMath("Math.trunc"),
  isnan: { arity: 1, resultDType: toBool, expression: ([a]) => `(${a} !== ${a} ? 1 : 0)` },
  isfinite: { arity: 1, resultDType: toBool, expression: ([a]) => `(Number.isFinite(${a}) ? 1 : 0)` },
  where: {
    arity: 3,
    resultDType: ([, a, b]) => promote(a, b),
    expression: ([condition, a, b]) => `(${condition} !== 0 ? ${a} : ${b})`,
  },
  clip: {
    arity: 3,
    resultDType: sameAsPromoted,
    expression: ([a, low, high]) => `Math.min(Math.max(${a}, ${low}), ${high})`,
  },
};

/** The names of the elementwise operations. */
export type ElementwiseOpName = keyof typeof ELEMENTWISE_OPS;

/** The operation named `name`, or a TypeError listing what exists. */
export function elementwiseOp(name: string): ElementwiseOp {
  const op = Object.hasOwn(ELEMENTWISE_OPS, name) ? ELEMENTWISE_OPS[name] : undefined;
  if (op === undefined) throw new TypeError(`unknown elementwise operation "${name}"`);
  return op;
}

/** The expression casting a number to `dtype`'s range, as storing it into that dtype's array would (bool: nonzero is 1). */
export function castExpression(expression: string, dtype: DType): string {
  switch (dtype) {
    case "float64":
      return expression;
    case "float32":
      return `Math.fround(${expression})`;
    case "int32":
      return `(${expression} | 0)`;
    case "uint8":
      return `(${expression} & 255)`;
    case "bool":
      return `(${expression} !== 0 ? 1 : 0)`;
  }
}

/** `castExpression` applied to a number now (constants are cast when the graph is built). */
export function castNumber(value: number, dtype: DType): number {
  switch (dtype) {
    case "float64":
      return value;
    case "float32":
      return Math.fround(value);
    case "int32":
      return value | 0;
    case "uint8":
      return value & 255;
    case "bool":
      return value !== 0 ? 1 : 0;
  }
}
