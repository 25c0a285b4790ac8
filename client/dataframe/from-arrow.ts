import { randomUUID } from "node:crypto";
import { Table } from "apache-arrow";
import { allocateColumn, COLUMN_KINDS, schemaOfTable, toTable, type Column, type ColumnKind } from "../../kernels/dataframe/column.js";
import { inMemoryData } from "../in-memory-data.js";
import { DataFrame } from "./dataframe.js";
import { partitionKey } from "./frame-graph.js";
import type { Graph } from "../../graph/task-spec.js";

/** Options of {@link fromArrow} and {@link fromRecords}. */
export interface FromMemoryOptions {
  /** Partitions to split the rows into, of nearly equal size. Default 1. */
  readonly npartitions?: number;
}

function checkPartitions(npartitions: number | undefined): number {
  const n = npartitions ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`npartitions must be a whole number >= 1, got ${String(npartitions)}`);
  return n;
}

/**
 * A dataframe over Arrow tables in memory. One table is split into `npartitions` slices (no copy);
 * an array of tables gives one partition per table (they must have the same columns). Locally the
 * tables are read where they lie; on a cluster the client scatters each partition to a worker before
 * the first computation that needs it, and later computations read it there while the frame (or a
 * frame made from it) is referenced.
 *
 * @example
 * ```ts
 * const df = fromArrow(tableFromArrays({ k: Int32Array.from([1, 2]), v: [0.5, 1.5] }), { npartitions: 2 });
 * ```
 */
export function fromArrow(tables: Table | readonly Table[], options: FromMemoryOptions = {}): DataFrame {
  let parts: Table[];
  if (tables instanceof Table) {
    const n = checkPartitions(options.npartitions);
    const rows = tables.numRows;
    parts = Array.from({ length: n }, (_, i) => tables.slice(Math.floor((i * rows) / n), Math.floor(((i + 1) * rows) / n)));
  } else {
    if (!Array.isArray(tables) || tables.length === 0 || !tables.every((t) => t instanceof Table)) {
      throw new TypeError("fromArrow() needs an Arrow Table or a non-empty array of Tables");
    }
    if (options.npartitions !== undefined && options.npartitions !== tables.length) {
      throw new RangeError(`fromArrow(): ${tables.length} tables make ${tables.length} partitions, not npartitions ${options.npartitions}`);
    }
    parts = [...tables];
  }
  const schema = schemaOfTable(parts[0]);
  parts.forEach((part, i) => {
    const names = part.schema.names.join(",");
    if (names !== schema.map((c) => c.name).join(",")) {
      throw new TypeError(`fromArrow(): table ${i} has columns ${names}, table 0 has ${schema.map((c) => c.name).join(",")}`);
    }
  });
  // In-memory data has no cheap content token; each frame made from it is its own.
  const name = `from-arrow-${randomUUID()}`;
  const graph: Graph = new Map();
  parts.forEach((part, i) => {
    const key = partitionKey(name, i);
    graph.set(key, inMemoryData(key, part));
  });
  return new DataFrame(name, parts.length, schema, graph);
}

/** Options of {@link fromRecords}. */
export interface FromRecordsOptions extends FromMemoryOptions {
  /**
   * Column kinds, as `{ name: kind }` in column order. Default: inferred from the values (integers
   * that fit 32 bits are `int`, other numbers `float`, `Date`s `timestamp`); a column whose values
   * are all null is `string`.
   */
  readonly schema?: Readonly<Record<string, ColumnKind>>;
}

/**
 * A dataframe from an array of plain objects, one per row. Missing properties, `null` and `undefined`
 * are nulls.
 *
 * @example
 * ```ts
 * const df = fromRecords([{ k: 1, v: 0.5 }, { k: 2, v: null }], { npartitions: 2 });
 * ```
 */
export function fromRecords(records: readonly Readonly<Record<string, unknown>>[], options: FromRecordsOptions = {}): DataFrame {
  if (!Array.isArray(records)) throw new TypeError("fromRecords() needs an array of objects");
  const kinds = options.schema !== undefined ? checkedSchema(options.schema) : inferKinds(records);
  const names = Object.keys(kinds);
  const columns = names.map((name) => buildColumn(records, name, kinds[name]));
  return fromArrow(toTable(names, columns), options);
}

function checkedSchema(schema: Readonly<Record<string, ColumnKind>>): Record<string, ColumnKind> {
  for (const [name, kind] of Object.entries(schema)) {
    if (!COLUMN_KINDS.includes(kind)) throw new TypeError(`schema column "${name}" has unknown kind "${String(kind)}"; use ${COLUMN_KINDS.join(", ")}`);
  }
  return { ...schema };
}

function inferKinds(records: readonly Readonly<Record<string, unknown>>[]): Record<string, ColumnKind> {
  const kinds: Record<string, ColumnKind | null> = {};
  records.forEach((record, row) => {
    if (record === null || typeof record !== "object") throw new TypeError(`fromRecords(): row ${row} is not an object`);
    for (const name of Object.keys(record)) {
      const value = record[name];
      const seen = kinds[name] ?? null;
      if (value === null || value === undefined) {
        if (!(name in kinds)) kinds[name] = null;
        continue;
      }
      const kind: ColumnKind =
        typeof value === "number"
          ? Number.isInteger(value) && Math.abs(value) <= 0x7fffffff ? "int" : "float"
          : typeof value === "string"
            ? "string"
            : typeof value === "boolean"
              ? "bool"
              : value instanceof Date
                ? "timestamp"
                : invalid(name, row, value);
      if (seen === null || seen === kind) kinds[name] = kind;
      else if ((seen === "int" && kind === "float") || (seen === "float" && kind === "int")) kinds[name] = "float";
      else throw new TypeError(`fromRecords(): column "${name}" mixes ${seen} and ${kind} values (row ${row})`);
    }
  });
  const out: Record<string, ColumnKind> = {};
  for (const [name, kind] of Object.entries(kinds)) out[name] = kind ?? "string";
  return out;
}

function invalid(name: string, row: number, value: unknown): never {
  throw new TypeError(`fromRecords(): column "${name}" row ${row} holds ${typeof value === "object" ? "an object" : typeof value}, not a number, string, boolean or Date`);
}

function buildColumn(records: readonly Readonly<Record<string, unknown>>[], name: string, kind: ColumnKind): Column {
  const n = records.length;
  const column = allocateColumn(kind, n, true);
  const valid = column.valid!;
  const values = column.values;
  const dictionary: string[] = [];
  const codes = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const value = records[i][name];
    if (value === null || value === undefined) continue;
    valid[i] = 1;
    switch (kind) {
      case "string": {
        const text = String(value);
        let code = codes.get(text);
        if (code === undefined) codes.set(text, (code = dictionary.push(text) - 1));
        values[i] = code;
        break;
      }
      case "bool":
        values[i] = value ? 1 : 0;
        break;
      case "timestamp":
        values[i] = value instanceof Date ? value.getTime() : Number(value);
        break;
      default:
        if (typeof value !== "number") throw new TypeError(`fromRecords(): column "${name}" row ${i} holds ${typeof value}, not a number`);
        values[i] = value;
    }
  }
  const allValid = valid.every((v) => v === 1);
  return { kind, values, valid: allValid ? null : valid, ...(kind === "string" && { dictionary }) };
}
