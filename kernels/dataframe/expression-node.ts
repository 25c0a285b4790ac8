import type { ColumnKind } from "./column.js";

// The plain-data form of column expressions. The verbs that build it (`col`, `lit`, `Expression`)
// live with the dataframe client; kernels see only this shape.

/** Binary operators on numbers (and timestamps ± numbers). Results are `float` (timestamps stay timestamps). */
export type ArithmeticOp = "add" | "sub" | "mul" | "div";
/** Comparisons, on two values of one kind (int and float compare with each other). */
export type CompareOp = "eq" | "ne" | "lt" | "le" | "gt" | "ge";

/** A literal value: numbers, strings, booleans, dates (timestamps) and null. */
export type Literal = number | string | boolean | Date | null;

/**
 * The plain-data form of an expression, as it travels in a graph and as the kernels evaluate it.
 *
 * @example
 * ```ts
 * const priceOver10: ExpressionNode = { op: "gt", args: [{ op: "col", name: "price" }, { op: "lit", value: 10, kind: "float" }] };
 * ```
 */
export type ExpressionNode =
  | { readonly op: "col"; readonly name: string }
  | { readonly op: "lit"; readonly value: number | string | boolean | null; readonly kind: ColumnKind | null }
  | { readonly op: ArithmeticOp | CompareOp | "and" | "or"; readonly args: readonly [ExpressionNode, ExpressionNode] }
  | { readonly op: "not" | "isNull" | "notNull"; readonly args: readonly [ExpressionNode] };

