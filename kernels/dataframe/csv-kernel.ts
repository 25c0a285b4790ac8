import { closeSync, openSync, readSync, statSync } from "node:fs";
import type { Table } from "apache-arrow";
import { READ_CSV_BLOCK } from "../../protocol/builtin-task-names.js";
import { confineWorkerPath } from "../../protocol/data-roots.js";
import { registerTask } from "../../protocol/task-registry.js";
import { allocateColumn, toTable, type Column, type ColumnKind } from "./column.js";
import { ByteDictionary, parseDecimal } from "./csv-fields.js";

/**
 * The CSV block reader: parses the lines that start inside one byte range of a file straight from
 * its bytes into typed-array columns. Only the requested columns are decoded; the others are skipped
 * as bytes. Quoted fields (with `""` escapes, newlines and CRLF inside) are understood.
 *
 * Blocks are cut at newlines without reading quotes: knowing whether a byte lies inside a quoted field
 * takes reading the file from its start, which would cost every block (or the graph's builder) a pass
 * over the bytes before it, and most files have no quoted newlines. So a quoted field holding a
 * newline must not straddle a block boundary, as with Dask's `read_csv` by blocks. That is checked,
 * never assumed: the block whose rows would end inside a quoted field throws an error naming the file,
 * the field's byte offset and the fix (one block per file). Blocks are read from the file's start on,
 * so the block before a wrong boundary is always read too (every verb reads all of a file's blocks, or
 * its first ones), and no wrong row is ever returned.
 */

/** What a block task needs to know, checked when the graph was built. */
export interface CsvBlock {
  readonly path: string;
  readonly start: number;
  readonly end: number;
  /** True for the block that holds the header line (the first block of a file with a header). */
  readonly skipHeader: boolean;
  readonly delimiter: string;
  /** Positions (in the file's columns) of the columns to read, in output order. */
  readonly positions: readonly number[];
  readonly names: readonly string[];
  readonly kinds: readonly ColumnKind[];
}

export { READ_CSV_BLOCK };

const NEWLINE = 10;
const CR = 13;
const QUOTE = 34;
const READ_AHEAD = 1 << 16;

/** The bytes of the lines starting in [start, end): from the first line start at or after `start`, through the newline ending the last. */
export function readBlockBytes(path: string, start: number, end: number): Uint8Array {
  return readBlock(path, start, end).bytes;
}

/** {@link readBlockBytes}, with the file offset of the first byte returned. */
function readBlock(path: string, start: number, end: number): { bytes: Uint8Array; offset: number } {
  confineWorkerPath(path, "read");
  const fd = openSync(path, "r");
  try {
    // Read from the byte before `start`: if it is a newline, a line starts exactly at `start`.
    const from = start === 0 ? 0 : start - 1;
    let buffer = Buffer.allocUnsafe(end - from + READ_AHEAD);
    let length = readSync(fd, buffer, 0, buffer.length, from);
    // Search only the bytes read: the rest of an unsafe allocation is old memory, newlines included.
    let read = buffer.subarray(0, length);
    let first = 0;
    if (start > 0) {
      first = read.indexOf(NEWLINE);
      // The first line starting at or after `start` must start before `end` to be this block's.
      if (first < 0 || first + 1 >= end - from) return { bytes: new Uint8Array(0), offset: start };
      first += 1;
    }
    const limit = end - from;
    let last = length > limit ? read.indexOf(NEWLINE, limit - 1) : -1;
    while (last < 0 && length === buffer.length) {
      const grown = Buffer.allocUnsafe(buffer.length * 2);
      buffer.copy(grown, 0, 0, length);
      length += readSync(fd, grown, length, grown.length - length, from + length);
      buffer = grown;
      read = buffer.subarray(0, length);
      last = read.indexOf(NEWLINE, limit - 1);
    }
    const stop = last < 0 ? length : last + 1;
    return { bytes: read.subarray(first, Math.max(first, stop)), offset: from + first };
  } finally {
    closeSync(fd);
  }
}

/**
 * Parses one block (see {@link CsvBlock}) into a table of the requested columns.
 *
 * @throws Error when the block's last row would end inside a quoted field that holds a newline and
 *   runs on into the next block, naming the file, the field's byte offset and what to do.
 */
export function readCsvBlock(block: CsvBlock): Table {
  const { bytes, offset } = readBlock(block.path, block.start, block.end);
  const parsed = parseRows(bytes, block);
  // An unclosed quote at the end of the file is the file's own (malformed) last field, read as it is;
  // before the end, it is a field this block's cut split.
  if (parsed.openQuote >= 0 && offset + bytes.length < statSync(block.path).size) {
    const at = offset + parsed.openQuote;
    throw new Error(
      `readCsv(): ${block.path}: the quoted field opened at byte ${at} holds a newline and runs past byte ` +
        `${offset + bytes.length}, where the rows of the block of bytes ${block.start}-${block.end} end. ` +
        `Blocks are cut at newlines without reading quotes, so this would split a row. ` +
        `Read the file in one block with readCsv(path, { blocksize: Infinity }), or remove the newlines from its quoted fields.`,
    );
  }
  return toTable(block.names, parsed.columns);
}

/** What {@link parseCsv} needs of a block: its format and the columns wanted, not where its bytes are. */
export type CsvFormat = Omit<CsvBlock, "path" | "start" | "end"> & { path?: string };

/** Parses CSV bytes (whole lines) into the requested columns. */
export function parseCsv(bytes: Uint8Array, block: CsvFormat): Table {
  return toTable(block.names, parseCsvColumns(bytes, block));
}

/** Parses CSV bytes (whole lines) into the requested columns, as columns (no Arrow table: type inference reads them directly). */
export function parseCsvColumns(bytes: Uint8Array, block: CsvFormat): Column[] {
  return parseRows(bytes, block).columns;
}

/**
 * {@link parseCsvColumns}, and where in `bytes` a quoted field opens that the bytes end inside of
 * (-1 when none does): the sign that the bytes were cut inside a quoted field.
 */
function parseRows(bytes: Uint8Array, block: CsvFormat): { columns: Column[]; openQuote: number } {
  let openQuote = -1;
  let lines = 0;
  for (let i = bytes.indexOf(NEWLINE); i >= 0; i = bytes.indexOf(NEWLINE, i + 1)) lines++;
  if (bytes.length > 0 && bytes[bytes.length - 1] !== NEWLINE) lines++;
  const wanted = new Int32Array(Math.max(0, ...block.positions, -1) + 1).fill(-1);
  block.positions.forEach((position, out) => (wanted[position] = out));
  const builders = block.kinds.map((kind) => ColumnBuilder.of(kind, lines));
  const delimiter = block.delimiter.charCodeAt(0);
  let at = 0;
  let row = 0;
  let line = 0;
  if (block.skipHeader) {
    // The header's end is its first newline outside quotes: a quoted column name may hold one.
    let quoted = false;
    while (at < bytes.length && (quoted || bytes[at] !== NEWLINE)) {
      if (bytes[at] === QUOTE) quoted = !quoted;
      at++;
    }
    at++;
    line++;
  }
  while (at < bytes.length) {
    // An empty line (or a lone \r) is no row.
    if (bytes[at] === NEWLINE || (bytes[at] === CR && bytes[at + 1] === NEWLINE)) {
      at += bytes[at] === CR ? 2 : 1;
      line++;
      continue;
    }
    let field = 0;
    for (;;) {
      let start = at;
      let end: number;
      let quoted = false;
      if (bytes[at] === QUOTE) {
        quoted = true;
        start = ++at;
        while (at < bytes.length && !(bytes[at] === QUOTE && bytes[at + 1] !== QUOTE)) at += bytes[at] === QUOTE ? 2 : 1;
        if (at >= bytes.length) openQuote = start - 1;
        end = at;
        at++; // closing quote
        while (at < bytes.length && bytes[at] !== delimiter && bytes[at] !== NEWLINE) at++;
      } else {
        while (at < bytes.length && bytes[at] !== delimiter && bytes[at] !== NEWLINE) at++;
        end = at;
        if (end > start && bytes[end - 1] === CR && (at >= bytes.length || bytes[at] === NEWLINE)) end--;
      }
      const out = field < wanted.length ? wanted[field] : -1;
      if (out >= 0) {
        try {
          builders[out].push(bytes, start, end, quoted);
        } catch (error) {
          const where = block.path === undefined ? "" : ` of ${block.path}`;
          throw new TypeError(`line ${line + 1}${where}, column "${block.names[out]}": ${(error as Error).message}`);
        }
      }
      field++;
      if (at >= bytes.length || bytes[at] === NEWLINE) {
        at++;
        break;
      }
      at++; // delimiter
    }
    // Columns missing from a short line are null.
    for (const builder of builders) if (builder.length === row) builder.pushNull();
    row++;
    line++;
  }
  return { columns: builders.map((b) => b.finish()), openQuote };
}

/** Appends parsed fields to a typed-array column; one class per kind, so each push is a short, monomorphic loop body. */
abstract class ColumnBuilder {
  length = 0;
  protected readonly column: Column;
  protected readonly valid: Uint8Array;
  private anyNull = false;

  constructor(
    readonly kind: ColumnKind,
    capacity: number,
  ) {
    this.column = allocateColumn(kind, capacity, true);
    this.valid = this.column.valid!;
  }

  static of(kind: ColumnKind, capacity: number): ColumnBuilder {
    switch (kind) {
      case "int":
        return new IntBuilder(kind, capacity);
      case "float":
        return new FloatBuilder(kind, capacity);
      case "bool":
        return new BoolBuilder(kind, capacity);
      case "timestamp":
        return new TimestampBuilder(kind, capacity);
      case "string":
        return new StringBuilder(kind, capacity);
    }
  }

  pushNull(): void {
    this.anyNull = true;
    this.length++;
  }

  /** Appends the field `bytes[start, end)`, or a null for an empty one (an empty quoted string is a string). */
  push(bytes: Uint8Array, start: number, end: number, quoted: boolean): void {
    if (start === end && !(quoted && this.kind === "string")) {
      this.pushNull();
      return;
    }
    const i = this.length;
    this.set(i, bytes, start, end, quoted);
    this.valid[i] = 1;
    this.length = i + 1;
  }

  /** Parses a non-empty field into row `i`; throws a TypeError saying what the field is not. */
  protected abstract set(i: number, bytes: Uint8Array, start: number, end: number, quoted: boolean): void;

  finish(): Column {
    const n = this.length;
    return { kind: this.kind, values: this.column.values.subarray(0, n), valid: this.anyNull ? this.valid.subarray(0, n) : null, ...this.extra() };
  }

  protected extra(): Partial<Column> {
    return {};
  }
}

class IntBuilder extends ColumnBuilder {
  protected set(i: number, bytes: Uint8Array, start: number, end: number): void {
    this.column.values[i] = parseInt32(bytes, start, end);
  }
}

class FloatBuilder extends ColumnBuilder {
  protected set(i: number, bytes: Uint8Array, start: number, end: number): void {
    let value = parseDecimal(bytes, start, end);
    if (value === undefined) {
      const text = latin1(bytes, start, end);
      value = Number(text);
      if (Number.isNaN(value) && text.trim() !== "NaN") throw new TypeError(`"${text}" is not a number (pass a schema to read it as a string)`);
    }
    this.column.values[i] = value;
  }
}

class BoolBuilder extends ColumnBuilder {
  protected set(i: number, bytes: Uint8Array, start: number, end: number): void {
    const text = latin1(bytes, start, end).toLowerCase();
    if (text !== "true" && text !== "false") throw new TypeError(`"${text}" is not true or false`);
    this.column.values[i] = text === "true" ? 1 : 0;
  }
}

class TimestampBuilder extends ColumnBuilder {
  protected set(i: number, bytes: Uint8Array, start: number, end: number): void {
    const text = latin1(bytes, start, end);
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) throw new TypeError(`"${text}" is not a date`);
    this.column.values[i] = ms;
  }
}

class StringBuilder extends ColumnBuilder {
  private readonly dictionary = new ByteDictionary();

  protected set(i: number, bytes: Uint8Array, start: number, end: number, quoted: boolean): void {
    this.column.values[i] = this.dictionary.code(bytes, start, end, quoted);
  }

  protected override extra(): Partial<Column> {
    return { dictionary: this.dictionary.entries };
  }
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  let text = "";
  for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i]);
  return text;
}

function parseInt32(bytes: Uint8Array, start: number, end: number): number {
  let i = start;
  let negative = false;
  if (bytes[i] === 45 /* - */ || bytes[i] === 43 /* + */) negative = bytes[i++] === 45;
  if (i === end) throw new TypeError(`"${latin1(bytes, start, end)}" is not an integer`);
  let value = 0;
  for (; i < end; i++) {
    const digit = bytes[i] - 48;
    if (digit < 0 || digit > 9) {
      throw new TypeError(`"${latin1(bytes, start, end)}" is not an integer (the column was inferred as int from the first rows; pass a schema)`);
    }
    value = value * 10 + digit;
  }
  value = negative ? -value : value;
  if (value > 0x7fffffff || value < -0x80000000) throw new TypeError(`${value} does not fit a 32-bit int (pass a schema with "float")`);
  return value;
}

registerTask(READ_CSV_BLOCK, readCsvBlock, import.meta.url);
