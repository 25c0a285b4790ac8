import type { Table } from "apache-arrow";
import { allocateColumn, readColumn, type Column, type ColumnKind } from "./column.js";
import type { ExpressionNode } from "./expression-node.js";

/**
 * The kernel behind `filter` and `assign`: evaluates an (already checked) expression over a partition,
 * one typed-array loop per operator. Literals stand for a whole column without being materialized.
 */

/** A literal operand, broadcast over every row. */
interface Scalar {
  readonly scalar: true;
  readonly kind: ColumnKind | null;
  readonly value: number | string | boolean | null;
}

type Value = Column | Scalar;

/** The column `node` computes over `table` (a literal gives a column repeating it). */
export function evaluateExpression(node: ExpressionNode, table: Table): Column {
  const cache = new Map<string, Column>();
  const value = evaluate(node, table, cache);
  return isScalar(value) ? broadcast(value, table.numRows) : value;
}

function isScalar(value: Value): value is Scalar {
  return (value as Scalar).scalar === true;
}

function evaluate(node: ExpressionNode, table: Table, cache: Map<string, Column>): Value {
  switch (node.op) {
    case "col": {
      let column = cache.get(node.name);
      if (column === undefined) {
        column = readColumn(table, node.name);
        cache.set(node.name, column);
      }
      return column;
    }
    case "lit":
      return { scalar: true, kind: node.kind, value: node.value };
    case "isNull":
    case "notNull":
      return nullTest(evaluate(node.args[0], table, cache), table.numRows, node.op === "isNull");
    case "not":
      return logic("not", evaluate(node.args[0], table, cache), undefined, table.numRows);
    case "and":
    case "or":
      return logic(node.op, evaluate(node.args[0], table, cache), evaluate(node.args[1], table, cache), table.numRows);
    case "add":
    case "sub":
    case "mul":
    case "div":
      return arithmetic(node.op, evaluate(node.args[0], table, cache), evaluate(node.args[1], table, cache), table.numRows);
    default:
      return compare(node.op, evaluate(node.args[0], table, cache), evaluate(node.args[1], table, cache), table.numRows);
  }
}

function broadcast(scalar: Scalar, n: number): Column {
  const kind = scalar.kind ?? "bool";
  if (scalar.value === null) return allocateColumn(kind, n, true, kind === "string" ? [] : undefined);
  if (kind === "string") return { kind, values: new Int32Array(n), dictionary: [scalar.value as string], valid: null };
  const column = allocateColumn(kind, n, false);
  column.values.fill(typeof scalar.value === "boolean" ? (scalar.value ? 1 : 0) : (scalar.value as number));
  return column;
}

/** Validity of the result of combining `a` and `b`: null where either is null. */
function combinedValidity(a: Value, b: Value | undefined, n: number): Uint8Array | null {
  const va = isScalar(a) ? (a.value === null ? new Uint8Array(n) : null) : a.valid;
  const vb = b === undefined ? null : isScalar(b) ? (b.value === null ? new Uint8Array(n) : null) : b.valid;
  if (va === null) return vb === null ? null : vb.slice();
  if (vb === null) return va.slice();
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = va[i] & vb[i];
  return out;
}

function nullTest(value: Value, n: number, wantNull: boolean): Column {
  const out = new Uint8Array(n);
  if (isScalar(value)) out.fill(value.value === null === wantNull ? 1 : 0);
  else if (value.valid === null) out.fill(wantNull ? 0 : 1);
  else for (let i = 0; i < n; i++) out[i] = wantNull ? 1 - value.valid[i] : value.valid[i];
  return { kind: "bool", values: out, valid: null };
}

/** Numbers of an operand (bools as 0/1), or a function of the row for a scalar. */
function numbersOf(value: Value): ArrayLike<number> | number {
  if (isScalar(value)) return typeof value.value === "boolean" ? (value.value ? 1 : 0) : ((value.value as number | null) ?? 0);
  return value.values;
}

function arithmetic(op: "add" | "sub" | "mul" | "div", a: Value, b: Value, n: number): Column {
  const valid = combinedValidity(a, b, n);
  const out = new Float64Array(n);
  const x = numbersOf(a);
  const y = numbersOf(b);
  const xs = typeof x === "number" ? null : x;
  const ys = typeof y === "number" ? null : y;
  const xc = typeof x === "number" ? x : 0;
  const yc = typeof y === "number" ? y : 0;
  for (let i = 0; i < n; i++) {
    const l = xs === null ? xc : xs[i];
    const r = ys === null ? yc : ys[i];
    out[i] = op === "add" ? l + r : op === "sub" ? l - r : op === "mul" ? l * r : l / r;
  }
  if (valid !== null) for (let i = 0; i < n; i++) if (valid[i] === 0) out[i] = 0;
  const timestamp = (!isScalar(a) && a.kind === "timestamp") || (isScalar(a) && a.kind === "timestamp");
  const bothTimes = timestamp && ((!isScalar(b) && b.kind === "timestamp") || (isScalar(b) && b.kind === "timestamp"));
  return { kind: timestamp && !bothTimes ? "timestamp" : "float", values: out, valid };
}

function compare(op: "eq" | "ne" | "lt" | "le" | "gt" | "ge", a: Value, b: Value, n: number): Column {
  const valid = combinedValidity(a, b, n);
  const out = new Uint8Array(n);
  const stringKind = (isScalar(a) ? a.kind : a.kind) === "string" || (isScalar(b) ? b.kind : b.kind) === "string";
  if (stringKind) compareStrings(op, a, b, n, out);
  else compareNumbers(op, numbersOf(a), numbersOf(b), n, out);
  if (valid !== null) for (let i = 0; i < n; i++) out[i] &= valid[i];
  return { kind: "bool", values: out, valid };
}

function test(op: string, order: number): number {
  switch (op) {
    case "eq":
      return order === 0 ? 1 : 0;
    case "ne":
      return order !== 0 ? 1 : 0;
    case "lt":
      return order < 0 ? 1 : 0;
    case "le":
      return order <= 0 ? 1 : 0;
    case "gt":
      return order > 0 ? 1 : 0;
    default:
      return order >= 0 ? 1 : 0;
  }
}

function compareNumbers(op: string, x: ArrayLike<number> | number, y: ArrayLike<number> | number, n: number, out: Uint8Array): void {
  const xs = typeof x === "number" ? null : x;
  const ys = typeof y === "number" ? null : y;
  const xc = typeof x === "number" ? x : 0;
  const yc = typeof y === "number" ? y : 0;
  // One loop per operator, so the comparison is not a call per row.
  switch (op) {
    case "eq":
      for (let i = 0; i < n; i++) out[i] = (xs === null ? xc : xs[i]) === (ys === null ? yc : ys[i]) ? 1 : 0;
      break;
    case "ne":
      for (let i = 0; i < n; i++) out[i] = (xs === null ? xc : xs[i]) !== (ys === null ? yc : ys[i]) ? 1 : 0;
      break;
    case "lt":
      for (let i = 0; i < n; i++) out[i] = (xs === null ? xc : xs[i]) < (ys === null ? yc : ys[i]) ? 1 : 0;
      break;
    case "le":
      for (let i = 0; i < n; i++) out[i] = (xs === null ? xc : xs[i]) <= (ys === null ? yc : ys[i]) ? 1 : 0;
      break;
    case "gt":
      for (let i = 0; i < n; i++) out[i] = (xs === null ? xc : xs[i]) > (ys === null ? yc : ys[i]) ? 1 : 0;
      break;
    default:
      for (let i = 0; i < n; i++) out[i] = (xs === null ? xc : xs[i]) >= (ys === null ? yc : ys[i]) ? 1 : 0;
  }
}

function order(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareStrings(op: string, a: Value, b: Value, n: number, out: Uint8Array): void {
  if (isScalar(a) && isScalar(b)) {
    if (a.value !== null && b.value !== null) out.fill(test(op, order(a.value as string, b.value as string)));
    return;
  }
  if (isScalar(b) || isScalar(a)) {
    // Column against a literal: decide once per dictionary entry, then look up each row's code.
    const column = (isScalar(a) ? b : a) as Column;
    const literal = ((isScalar(a) ? a : b) as Scalar).value as string | null;
    if (literal === null) return;
    const flip = isScalar(a);
    const perCode = Uint8Array.from(column.dictionary!, (text) => test(op, flip ? order(literal, text) : order(text, literal)));
    const codes = column.values as Int32Array;
    for (let i = 0; i < n; i++) out[i] = perCode[codes[i]];
    return;
  }
  const da = a.dictionary!;
  const db = b.dictionary!;
  const ca = a.values as Int32Array;
  const cb = b.values as Int32Array;
  for (let i = 0; i < n; i++) out[i] = test(op, order(da[ca[i]] ?? "", db[cb[i]] ?? ""));
}

function truthOf(value: Value, n: number): { values: Uint8Array; valid: Uint8Array | null } {
  if (!isScalar(value)) return { values: value.values as Uint8Array, valid: value.valid };
  const values = new Uint8Array(n).fill(value.value === true ? 1 : 0);
  return { values, valid: value.value === null ? new Uint8Array(n) : null };
}

/** SQL's three-valued `and`, `or` and `not`. */
function logic(op: "and" | "or" | "not", a: Value, b: Value | undefined, n: number): Column {
  const x = truthOf(a, n);
  const values = new Uint8Array(n);
  if (op === "not") {
    for (let i = 0; i < n; i++) values[i] = 1 - x.values[i];
    return { kind: "bool", values, valid: x.valid === null ? null : x.valid.slice() };
  }
  const y = truthOf(b!, n);
  if (x.valid === null && y.valid === null) {
    if (op === "and") for (let i = 0; i < n; i++) values[i] = x.values[i] & y.values[i];
    else for (let i = 0; i < n; i++) values[i] = x.values[i] | y.values[i];
    return { kind: "bool", values, valid: null };
  }
  const valid = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const xv = x.valid === null ? 1 : x.valid[i];
    const yv = y.valid === null ? 1 : y.valid[i];
    const xt = xv & x.values[i];
    const yt = yv & y.values[i];
    if (op === "and") {
      const xFalse = xv & (1 - x.values[i]);
      const yFalse = yv & (1 - y.values[i]);
      values[i] = xt & yt;
      valid[i] = xFalse | yFalse | (xv & yv);
    } else {
      values[i] = xt | yt;
      valid[i] = xt | yt | (xv & yv);
    }
  }
  return { kind: "bool", values, valid };
}
