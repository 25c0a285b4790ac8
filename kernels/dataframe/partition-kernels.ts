import { DataType, Table } from "apache-arrow";
import { registerTask } from "../../protocol/task-registry.js";
import { concatColumns, readColumn, schemaOfTable, takeColumn, toTable, toVector } from "./column.js";
import { evaluateExpression } from "./evaluate-expression.js";
import type { ExpressionNode } from "./expression-node.js";

/**
 * Kernels that work on one partition at a time (or a few, for `head` and `concat`): registered task
 * functions under `weft.df.*`, so they run on threads and worker processes. Their arguments were
 * checked when the graph was built.
 */
const here = import.meta.url;

/** The columns `names` of a partition, in that order. */
export const SELECT = "weft.df.select";
/** The rows of a partition where a predicate is true. */
export const FILTER = "weft.df.filter";
/** A partition with columns added or replaced by expressions. */
export const ASSIGN = "weft.df.assign";
/** The first rows of the first partitions. */
export const HEAD = "weft.df.head";
/** Rows of a partition. */
export const NUM_ROWS = "weft.df.numRows";
/** The sum of numbers (partition lengths). */
export const SUM_COUNTS = "weft.df.sumCounts";
/** Partitions one after another, as one table. */
export const CONCAT = "weft.df.concat";

export function selectColumns(table: Table, names: readonly string[]): Table {
  return table.select(names as string[]);
}

/** Row numbers where `mask` is 1 and valid. */
export function maskToIndices(mask: Uint8Array, valid: Uint8Array | null): Int32Array {
  let count = 0;
  for (let i = 0; i < mask.length; i++) count += mask[i] & (valid === null ? 1 : valid[i]);
  const indices = new Int32Array(count);
  let at = 0;
  for (let i = 0; i < mask.length; i++) if ((mask[i] & (valid === null ? 1 : valid[i])) === 1) indices[at++] = i;
  return indices;
}

/** The rows of `table` at `indices`, every column gathered. */
export function takeRows(table: Table, indices: Int32Array): Table {
  const names = table.schema.names as string[];
  return toTable(
    names,
    names.map((name) => takeColumn(readColumn(table, name), indices)),
  );
}

/** `table` split into `parts` tables: row `i` goes to part `target[i]`; row order is kept within each. */
export function splitRows(table: Table, target: Int32Array, parts: number): Table[] {
  const sizes = new Int32Array(parts);
  for (let i = 0; i < target.length; i++) sizes[target[i]]++;
  const indices = Array.from(sizes, (size) => new Int32Array(size));
  const filled = new Int32Array(parts);
  for (let i = 0; i < target.length; i++) {
    const part = target[i];
    indices[part][filled[part]++] = i;
  }
  return indices.map((rows) => takeRows(table, rows));
}

export function filterRows(table: Table, predicate: ExpressionNode): Table {
  const mask = evaluateExpression(predicate, table);
  const indices = maskToIndices(mask.values as Uint8Array, mask.valid);
  if (indices.length === table.numRows) return table;
  return takeRows(table, indices);
}

export function assignColumns(table: Table, names: readonly string[], expressions: readonly ExpressionNode[]): Table {
  const vectors: Record<string, ReturnType<typeof toVector>> = {};
  const added = new Map(names.map((name, i) => [name, toVector(evaluateExpression(expressions[i], table))]));
  for (const name of table.schema.names as string[]) vectors[name] = added.get(name) ?? table.getChild(name)!;
  for (const [name, vector] of added) vectors[name] = vector;
  return new Table(vectors);
}

/** Tables with the same columns as one table; string dictionaries are merged into one. */
export function concatTables(tables: readonly Table[]): Table {
  const nonEmpty = tables.filter((t) => t.numRows > 0);
  if (nonEmpty.length === 0) return tables[0];
  if (nonEmpty.length === 1) return nonEmpty[0];
  const first = nonEmpty[0];
  const names = first.schema.names as string[];
  const schema = schemaOfTable(first);
  // Without dictionaries to merge, the record batches can simply be gathered (no copy) when every
  // table has the same Arrow types.
  const sameTypes = nonEmpty.every((t) => t.schema.fields.every((f, i) => String(f.type) === String(first.schema.fields[i].type) && f.name === names[i]));
  if (sameTypes && !first.schema.fields.some((f) => DataType.isDictionary(f.type))) {
    return new Table(first.schema, nonEmpty.flatMap((t) => t.batches));
  }
  return toTable(
    names,
    schema.map(({ name, kind }) => concatColumns(nonEmpty.map((t) => readColumn(t, name)), kind)),
  );
}

export function headRows(tables: readonly Table[], n: number): Table {
  const taken: Table[] = [];
  let rows = 0;
  for (const table of tables) {
    if (rows >= n) break;
    taken.push(table.slice(0, n - rows));
    rows += Math.min(table.numRows, n - rows);
  }
  return concatTables(taken.length === 0 ? [tables[0].slice(0, 0)] : taken);
}

registerTask(SELECT, selectColumns, here);
registerTask(FILTER, filterRows, here);
registerTask(ASSIGN, assignColumns, here);
registerTask(HEAD, headRows, here);
registerTask(NUM_ROWS, (table: Table) => table.numRows, here);
registerTask(SUM_COUNTS, (counts: readonly number[]) => counts.reduce((a, b) => a + b, 0), here);
registerTask(CONCAT, concatTables, here);
