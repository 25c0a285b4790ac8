import type { ColumnKind, ColumnSchema } from "../../kernels/dataframe/column.js";
import type { ArithmeticOp, CompareOp, ExpressionNode, Literal } from "../../kernels/dataframe/expression-node.js";

export type { ArithmeticOp, CompareOp, ExpressionNode, Literal };

/**
 * Column expressions: what `filter` and `assign` compute, row by row but vectorized. An expression is
 * data (a small tree of plain objects), not a function, so it travels in a task graph to any worker
 * and is checked against the dataframe's columns when the graph is built.
 *
 * Nulls propagate: an arithmetic or comparison with a null operand is null; `and`/`or` follow SQL's
 * three-valued logic; `filter` keeps the rows where the predicate is true (not null).
 */

/** An expression operand: another expression, or a literal. */
export type Operand = Expression | Literal;

/**
 * A column expression, built with {@link col} and {@link lit} and combined with its methods.
 *
 * @example
 * ```ts
 * df.filter(col("price").gt(10).and(col("city").eq("Oslo")))
 *   .assign({ total: col("price").mul(col("qty")) });
 * ```
 */
export class Expression {
  /** @internal Use {@link col} and {@link lit}. */
  constructor(readonly node: ExpressionNode) {}

  add(other: Operand): Expression {
    return binary("add", this, other);
  }
  sub(other: Operand): Expression {
    return binary("sub", this, other);
  }
  mul(other: Operand): Expression {
    return binary("mul", this, other);
  }
  /** Division; always a float (division by zero gives ±Infinity or NaN, as in JavaScript). */
  div(other: Operand): Expression {
    return binary("div", this, other);
  }
  eq(other: Operand): Expression {
    return binary("eq", this, other);
  }
  ne(other: Operand): Expression {
    return binary("ne", this, other);
  }
  lt(other: Operand): Expression {
    return binary("lt", this, other);
  }
  le(other: Operand): Expression {
    return binary("le", this, other);
  }
  gt(other: Operand): Expression {
    return binary("gt", this, other);
  }
  ge(other: Operand): Expression {
    return binary("ge", this, other);
  }
  and(other: Operand): Expression {
    return binary("and", this, other);
  }
  or(other: Operand): Expression {
    return binary("or", this, other);
  }
  not(): Expression {
    return new Expression({ op: "not", args: [this.node] });
  }
  /** True where the value is null (never null itself). */
  isNull(): Expression {
    return new Expression({ op: "isNull", args: [this.node] });
  }
  /** True where the value is not null (never null itself). */
  notNull(): Expression {
    return new Expression({ op: "notNull", args: [this.node] });
  }
}

/** The column `name`. */
export function col(name: string): Expression {
  if (typeof name !== "string" || name === "") throw new TypeError(`col() needs a column name, got ${String(name)}`);
  return new Expression({ op: "col", name });
}

/** A literal value; a `Date` is a timestamp. */
export function lit(value: Literal): Expression {
  return new Expression(literalNode(value));
}

function literalNode(value: Literal): ExpressionNode {
  if (value === null) return { op: "lit", value: null, kind: null };
  if (value instanceof Date) return { op: "lit", value: value.getTime(), kind: "timestamp" };
  switch (typeof value) {
    case "number":
      return { op: "lit", value, kind: Number.isInteger(value) && Math.abs(value) <= 0x7fffffff ? "int" : "float" };
    case "string":
      return { op: "lit", value, kind: "string" };
    case "boolean":
      return { op: "lit", value, kind: "bool" };
  }
  throw new TypeError(`a literal must be a number, string, boolean, Date or null, got ${typeof value}`);
}

function binary(op: ArithmeticOp | CompareOp | "and" | "or", left: Expression, right: Operand): Expression {
  const rightNode = right instanceof Expression ? right.node : literalNode(right);
  return new Expression({ op, args: [left.node, rightNode] });
}

/** The columns an expression reads. */
export function columnsOf(node: ExpressionNode, into = new Set<string>()): Set<string> {
  if (node.op === "col") into.add(node.name);
  else if (node.op !== "lit") for (const arg of node.args) columnsOf(arg, into);
  return into;
}

const ARITHMETIC = new Set(["add", "sub", "mul", "div"]);
const NUMERIC = new Set<ColumnKind | null>(["int", "float", null]);

/**
 * The kind of value `node` computes over columns `schema`; a RangeError for an unknown column and a
 * TypeError for operands of the wrong kind, each naming the expression part.
 */
export function kindOf(node: ExpressionNode, schema: readonly ColumnSchema[]): ColumnKind | null {
  switch (node.op) {
    case "col": {
      const column = schema.find((c) => c.name === node.name);
      if (column === undefined) throw new RangeError(`no column "${node.name}"; columns: ${schema.map((c) => c.name).join(", ")}`);
      return column.kind;
    }
    case "lit":
      return node.kind;
    case "not":
      expectKind(node, kindOf(node.args[0], schema), ["bool", null]);
      return "bool";
    case "isNull":
    case "notNull":
      kindOf(node.args[0], schema);
      return "bool";
    case "and":
    case "or":
      for (const arg of node.args) expectKind(node, kindOf(arg, schema), ["bool", null]);
      return "bool";
  }
  const left = kindOf(node.args[0], schema);
  const right = kindOf(node.args[1], schema);
  if (ARITHMETIC.has(node.op)) {
    if (left === "timestamp" && (node.op === "add" || node.op === "sub") && NUMERIC.has(right)) return "timestamp";
    if (left === "timestamp" && right === "timestamp" && node.op === "sub") return "float";
    expectKind(node, left, ["int", "float", null]);
    expectKind(node, right, ["int", "float", null]);
    return "float";
  }
  const comparable = left === null || right === null || left === right || (NUMERIC.has(left) && NUMERIC.has(right));
  if (!comparable) throw new TypeError(`cannot compare a ${left} with a ${right} in ${describe(node)}`);
  return "bool";
}

function expectKind(node: ExpressionNode, kind: ColumnKind | null, allowed: readonly (ColumnKind | null)[]): void {
  if (!allowed.includes(kind)) {
    throw new TypeError(`${node.op} needs ${allowed.filter((k) => k !== null).join(" or ")} operands, got a ${kind} in ${describe(node)}`);
  }
}

/** A readable form of an expression, for error messages. */
export function describe(node: ExpressionNode): string {
  switch (node.op) {
    case "col":
      return `col(${JSON.stringify(node.name)})`;
    case "lit":
      return node.kind === "timestamp" ? `lit(${new Date(node.value as number).toISOString()})` : `lit(${JSON.stringify(node.value)})`;
    case "not":
    case "isNull":
    case "notNull":
      return `${describe(node.args[0])}.${node.op}()`;
    default:
      return `${describe(node.args[0])}.${node.op}(${describe(node.args[1])})`;
  }
}
