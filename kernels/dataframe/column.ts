import {
  Bool,
  type Data,
  DataType,
  Dictionary,
  Float64,
  Int32,
  makeData,
  makeVector,
  Table,
  TimestampMillisecond,
  TimeUnit,
  Type,
  Utf8,
  vectorFromArray,
  type Vector,
} from "apache-arrow";

/**
 * The column model every dataframe kernel works on: one flat typed array of values per column, plus a
 * byte per row saying whether it is valid (or `null` when no row is null). Arrow's own layouts vary
 * (bit-packed booleans and validity, 64-bit timestamps in several units, dictionaries or plain UTF-8),
 * so a kernel reads a column through {@link readColumn} once and then runs tight loops over typed
 * arrays; numeric columns of one chunk are read without copying.
 */

/** The logical column types of a weft dataframe. */
export type ColumnKind = "int" | "float" | "bool" | "string" | "timestamp";

/** All column kinds, in a fixed order. */
export const COLUMN_KINDS: readonly ColumnKind[] = ["int", "float", "bool", "string", "timestamp"];

/** A column as kernels see it. Values at null rows are unspecified (usually 0). */
export interface Column {
  readonly kind: ColumnKind;
  /**
   * `int`: Int32Array. `float`: Float64Array. `timestamp`: Float64Array of milliseconds since the epoch.
   * `bool`: Uint8Array of 0 and 1. `string`: Int32Array of codes into {@link dictionary}.
   */
  readonly values: Int32Array | Float64Array | Uint8Array;
  /** The distinct strings a `string` column's codes point into. */
  readonly dictionary?: readonly string[];
  /** 1 for a valid row, 0 for null; `null` when every row is valid. */
  readonly valid: Uint8Array | null;
}

/** The name and kind of a column: what a dataframe knows of its columns before computing anything. */
export interface ColumnSchema {
  readonly name: string;
  readonly kind: ColumnKind;
}

/** The kind of an Arrow type, or a TypeError naming the column. */
export function kindOfType(type: DataType, column: string): ColumnKind {
  switch (type.typeId) {
    case Type.Int:
      return (type as unknown as { bitWidth: number }).bitWidth <= 16 ||
        ((type as unknown as { bitWidth: number }).bitWidth === 32 && (type as unknown as { isSigned: boolean }).isSigned)
        ? "int"
        : "float";
    case Type.Float:
      return "float";
    case Type.Bool:
      return "bool";
    case Type.Utf8:
    case Type.LargeUtf8:
      return "string";
    case Type.Dictionary: {
      const valueType = (type as Dictionary).dictionary;
      if (valueType.typeId === Type.Utf8 || valueType.typeId === Type.LargeUtf8) return "string";
      break;
    }
    case Type.Timestamp:
    case Type.Date:
      return "timestamp";
  }
  throw new TypeError(`column "${column}" has Arrow type ${String(type)}, which weft dataframes do not support (int, float, bool, string, timestamp)`);
}

/** The schema of an Arrow table, in weft's kinds. */
export function schemaOfTable(table: Table): ColumnSchema[] {
  return table.schema.fields.map((field) => ({ name: field.name, kind: kindOfType(field.type, field.name) }));
}

/** The column `name` of `table`, read into the kernel model (chunks are concatenated). */
export function readColumn(table: Table, name: string): Column {
  const vector = table.getChild(name);
  if (vector === null) throw new RangeError(`no column "${name}"; columns: ${table.schema.names.join(", ")}`);
  const kind = kindOfType(vector.type, name);
  const chunks = vector.data.map((data) => readChunk(data, kind));
  return chunks.length === 1 ? chunks[0] : concatColumns(chunks, kind);
}

/** An empty column of `kind`. */
export function emptyColumn(kind: ColumnKind): Column {
  return allocateColumn(kind, 0, false, kind === "string" ? [] : undefined);
}

/** A column of `length` zeros (all valid, or all null when `withNulls`). */
export function allocateColumn(kind: ColumnKind, length: number, withNulls: boolean, dictionary?: readonly string[]): Column {
  const values =
    kind === "int" || kind === "string" ? new Int32Array(length) : kind === "bool" ? new Uint8Array(length) : new Float64Array(length);
  return { kind, values, valid: withNulls ? new Uint8Array(length) : null, ...(kind === "string" && { dictionary: dictionary ?? [] }) };
}

function readChunk(data: Data, kind: ColumnKind): Column {
  const { length, offset } = data;
  const valid = data.nullCount > 0 && data.nullBitmap !== undefined && data.nullBitmap.length > 0 ? unpackBits(data.nullBitmap, offset, length) : null;
  switch (kind) {
    case "int": {
      const raw = data.values as ArrayLike<number>;
      return { kind, values: raw instanceof Int32Array ? raw.subarray(0, length) : Int32Array.from(raw as ArrayLike<number>).subarray(0, length), valid };
    }
    case "float": {
      const raw = data.values as ArrayLike<number | bigint>;
      if (raw instanceof Float64Array) return { kind, values: raw.subarray(0, length), valid };
      const values = new Float64Array(length);
      for (let i = 0; i < length; i++) values[i] = Number(raw[i]);
      return { kind, values, valid };
    }
    case "bool":
      return { kind, values: unpackBits(data.values as Uint8Array, offset, length), valid };
    case "timestamp":
      return { kind, values: readTimes(data), valid };
    case "string":
      return readStrings(data, valid);
  }
}

function readTimes(data: Data): Float64Array {
  const type = data.type as DataType;
  const { length } = data;
  const values = new Float64Array(length);
  if (type.typeId === Type.Date) {
    const raw = data.values as ArrayLike<number | bigint>;
    const days = (type as unknown as { unit: number }).unit === 0;
    for (let i = 0; i < length; i++) values[i] = days ? Number(raw[i]) * 86_400_000 : Number(raw[i]);
    return values;
  }
  const unit = (type as unknown as { unit: TimeUnit }).unit;
  const scale = unit === TimeUnit.SECOND ? 1000 : unit === TimeUnit.MILLISECOND ? 1 : unit === TimeUnit.MICROSECOND ? 1e-3 : 1e-6;
  const raw = data.values as unknown as ArrayLike<bigint> | Int32Array;
  if (raw instanceof Int32Array) {
    // Some writers hand 64-bit values as pairs of 32-bit words (low, high).
    for (let i = 0; i < length; i++) values[i] = (raw[2 * i + 1] * 4294967296 + (raw[2 * i] >>> 0)) * scale;
  } else {
    for (let i = 0; i < length; i++) values[i] = Number((raw as ArrayLike<bigint>)[i]) * scale;
  }
  return values;
}

const utf8 = new TextDecoder();

function readStrings(data: Data, valid: Uint8Array | null): Column {
  const { length } = data;
  if ((data.type as DataType).typeId === Type.Dictionary) {
    const dictionary = (data.dictionary as Vector).toArray() as string[];
    const raw = data.values as ArrayLike<number>;
    const codes = raw instanceof Int32Array ? raw.subarray(0, length) : Int32Array.from({ length }, (_, i) => Number(raw[i]));
    return { kind: "string", values: codes, dictionary, valid };
  }
  // Plain UTF-8: each distinct string is decoded once and numbered.
  const offsets = data.valueOffsets as Int32Array;
  const bytes = data.values as Uint8Array;
  const codes = new Int32Array(length);
  const dictionary: string[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < length; i++) {
    if (valid !== null && valid[i] === 0) continue;
    const text = utf8.decode(bytes.subarray(Number(offsets[i]), Number(offsets[i + 1])));
    let code = seen.get(text);
    if (code === undefined) {
      code = dictionary.push(text) - 1;
      seen.set(text, code);
    }
    codes[i] = code;
  }
  return { kind: "string", values: codes, dictionary, valid };
}

/** One byte per bit of `bits`, from bit `offset` on. */
export function unpackBits(bits: Uint8Array, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const bit = offset + i;
    out[i] = (bits[bit >> 3] >> (bit & 7)) & 1;
  }
  return out;
}

/** Arrow's bit-packed form of a byte-per-row mask. */
export function packBits(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array((bytes.length + 7) >> 3);
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) out[i >> 3] |= 1 << (i & 7);
  return out;
}

/** Rows that are null in `column`. */
export function nullCountOf(column: Column): number {
  if (column.valid === null) return 0;
  let nulls = 0;
  for (let i = 0; i < column.valid.length; i++) nulls += 1 - column.valid[i];
  return nulls;
}

/** Number of rows of a column. */
export function lengthOf(column: Column): number {
  return column.values.length;
}

/** The Arrow vector of a kernel column. */
export function toVector(column: Column): Vector {
  const length = lengthOf(column);
  const nullCount = nullCountOf(column);
  const nullBitmap = nullCount > 0 ? packBits(column.valid!) : undefined;
  switch (column.kind) {
    case "int":
      return makeVector(makeData({ type: new Int32(), length, nullCount, nullBitmap, data: column.values as Int32Array }));
    case "float":
      return makeVector(makeData({ type: new Float64(), length, nullCount, nullBitmap, data: column.values as Float64Array }));
    case "bool":
      return makeVector(makeData({ type: new Bool(), length, nullCount, nullBitmap, data: packBits(column.values as Uint8Array) }));
    case "timestamp": {
      const ms = column.values as Float64Array;
      const data = new BigInt64Array(length);
      for (let i = 0; i < length; i++) data[i] = BigInt(Math.round(ms[i]));
      return makeVector(makeData({ type: new TimestampMillisecond(), length, nullCount, nullBitmap, data: data as never }));
    }
    case "string": {
      const { codes, entries } = compactDictionary(column, length);
      const dictionary = vectorFromArray(entries as string[], new Utf8());
      const type = new Dictionary(new Utf8(), new Int32());
      return makeVector(makeData({ type, length, nullCount, nullBitmap, data: codes, dictionary }));
    }
  }
}

/**
 * The codes and dictionary a string column is written with: as they are, unless the dictionary has
 * more entries than the column has rows (after a filter, say), when only the entries in use are kept,
 * so tables do not carry (and ship) strings none of their rows hold.
 */
function compactDictionary(column: Column, length: number): { codes: Int32Array; entries: readonly string[] } {
  const codes = column.values as Int32Array;
  const dictionary = column.dictionary!;
  if (dictionary.length <= length) return { codes, entries: dictionary };
  const renumbered = new Int32Array(dictionary.length).fill(-1);
  const entries: string[] = [];
  const out = new Int32Array(length);
  for (let i = 0; i < length; i++) {
    if (column.valid !== null && column.valid[i] === 0) continue;
    const code = codes[i];
    if (renumbered[code] === -1) renumbered[code] = entries.push(dictionary[code]) - 1;
    out[i] = renumbered[code];
  }
  return { codes: out, entries };
}

/** A table of the given columns, in order. */
export function toTable(names: readonly string[], columns: readonly Column[]): Table {
  const vectors: Record<string, Vector> = {};
  names.forEach((name, i) => {
    vectors[name] = toVector(columns[i]);
  });
  return new Table(vectors);
}

/** The rows of `column` at `indices`; an index of -1 gives a null row. */
export function takeColumn(column: Column, indices: Int32Array): Column {
  const n = indices.length;
  const source = column.values;
  const values = new (source.constructor as new (n: number) => typeof source)(n);
  let valid: Uint8Array | null = null;
  const sourceValid = column.valid;
  for (let i = 0; i < n; i++) {
    const at = indices[i];
    if (at < 0 || (sourceValid !== null && sourceValid[at] === 0)) {
      valid ??= new Uint8Array(n).fill(1, 0, n);
      valid[i] = 0;
    } else {
      values[i] = source[at];
    }
  }
  return { kind: column.kind, values, valid, ...(column.dictionary && { dictionary: column.dictionary }) };
}

/** The columns one after another; string dictionaries are merged and codes renumbered. */
export function concatColumns(columns: readonly Column[], kind: ColumnKind): Column {
  let length = 0;
  let anyNull = false;
  for (const column of columns) {
    if (column.kind !== kind) throw new TypeError(`cannot concatenate a ${column.kind} column to ${kind} columns`);
    length += lengthOf(column);
    anyNull ||= column.valid !== null;
  }
  const out = allocateColumn(kind, length, anyNull);
  const values = out.values;
  const valid = out.valid;
  let dictionary: string[] | undefined;
  let codeOf: Map<string, number> | undefined;
  if (kind === "string") {
    dictionary = [];
    codeOf = new Map();
  }
  let at = 0;
  for (const column of columns) {
    const n = lengthOf(column);
    if (kind === "string") {
      const remap = column.dictionary!.map((text) => {
        let code = codeOf!.get(text);
        if (code === undefined) {
          code = dictionary!.push(text) - 1;
          codeOf!.set(text, code);
        }
        return code;
      });
      const codes = column.values as Int32Array;
      for (let i = 0; i < n; i++) values[at + i] = column.valid !== null && column.valid[i] === 0 ? 0 : remap[codes[i]];
    } else {
      values.set(column.values as never, at);
    }
    if (valid !== null) {
      if (column.valid === null) valid.fill(1, at, at + n);
      else valid.set(column.valid, at);
    }
    at += n;
  }
  return dictionary === undefined ? out : { ...out, dictionary };
}

/** The value of row `i` as JavaScript sees it (`null` for null; a Date's milliseconds for timestamps). */
export function valueAt(column: Column, i: number): number | string | boolean | null {
  if (column.valid !== null && column.valid[i] === 0) return null;
  switch (column.kind) {
    case "string":
      return column.dictionary![(column.values as Int32Array)[i]];
    case "bool":
      return column.values[i] === 1;
    default:
      return column.values[i];
  }
}
