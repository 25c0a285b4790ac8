import { closeSync, openSync, readSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { COLUMN_KINDS, type Column, type ColumnKind, type ColumnSchema } from "../../kernels/dataframe/column.js";
import { parseCsvColumns, READ_CSV_BLOCK, type CsvBlock } from "../../kernels/dataframe/csv-kernel.js";
import { DataFrame } from "./dataframe.js";
import { addTask, layerName, partitionKey } from "./frame-graph.js";
import { expandPaths } from "./glob-paths.js";
import type { Graph } from "../../graph/task-spec.js";

/** Options of {@link readCsv}. */
export interface ReadCsvOptions {
  /**
   * Bytes of file per partition; a file is cut at line boundaries. `Infinity`: a partition per file.
   * Cuts are made at newlines without reading quotes (as Dask's `read_csv` does), so a file whose
   * quoted fields hold newlines needs `Infinity` unless no cut falls inside such a field; a read that
   * would split one fails with an error naming the file and the field's byte offset, never with wrong rows.
   * Default: the files' total size divided by this machine's CPU count, between 4 MiB and 64 MiB (as
   * Spark sizes file splits), so that a file of a few tens of MB still becomes one partition per core.
   */
  readonly blocksize?: number;
  /**
   * Column kinds by name. With a header, these override what inference would say for those columns;
   * without one, they name every column, in file order. Default: inferred from the first
   * {@link sampleBytes} of the first file (int, float, bool, timestamp for ISO dates, else string).
   */
  readonly schema?: Readonly<Record<string, ColumnKind>>;
  /** Columns to read, in this order. Default all. Others are skipped without decoding. */
  readonly columns?: readonly string[];
  /** Field separator, one character. Default `","`. */
  readonly delimiter?: string;
  /** Whether each file starts with a header line of column names. Default true. */
  readonly header?: boolean;
  /** Bytes read for type inference. Default 256 KiB. */
  readonly sampleBytes?: number;
}

/** Bounds of the default block size: a block is worth a task, and a task's block fits any worker. */
const MIN_DEFAULT_BLOCKSIZE = 4 * 1024 * 1024;
const MAX_DEFAULT_BLOCKSIZE = 64 * 1024 * 1024;
const INT = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|NaN|Infinity|-Infinity)$/;
const BOOL = /^(true|false)$/i;
const DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * A dataframe over CSV files: a path, a glob (`data/*.csv`, `logs/**\/part-?.csv`) or a list of
 * them. Each file is cut into byte ranges of about `blocksize`; a partition reads the lines that
 * start in its range. Column kinds are inferred from the start of the first file unless given.
 * Selecting columns later (directly, or through `groupBy`, `length`, ...) makes the readers decode
 * only those.
 *
 * @example
 * ```ts
 * const df = readCsv("data/trips-*.csv", { blocksize: 16 << 20, schema: { vendor: "string" } });
 * ```
 */
export function readCsv(paths: string | readonly string[], options: ReadCsvOptions = {}): DataFrame {
  const files = expandPaths(paths);
  const stats = files.map((file) => statSync(file));
  const sizes = stats.map((stat) => stat.size);
  const blocksize = options.blocksize ?? defaultBlocksize(sizes);
  if (!(blocksize > 0)) throw new RangeError(`readCsv(): blocksize must be > 0, got ${blocksize}`);
  const delimiter = options.delimiter ?? ",";
  if (typeof delimiter !== "string" || delimiter.length !== 1 || delimiter === '"' || delimiter === "\n") {
    throw new RangeError(`readCsv(): delimiter must be one character other than a quote or newline, got ${JSON.stringify(delimiter)}`);
  }
  const header = options.header ?? true;
  const fileSchema = inferSchema(files[0], delimiter, header, options.schema, options.sampleBytes ?? 256 * 1024);
  const names = fileSchema.map((c) => c.name);
  const columns = options.columns ?? names;
  if (!Array.isArray(columns)) throw new TypeError("readCsv(): columns must be an array of names");
  for (const name of columns) if (!names.includes(name)) throw new RangeError(`readCsv(): no column "${name}" in ${files[0]}; columns: ${names.join(", ")}`);
  const schema = columns.map((name) => fileSchema[names.indexOf(name)]);
  const positions = columns.map((name) => names.indexOf(name));
  const blocks: CsvBlock[] = [];
  files.forEach((path, f) => {
    const size = sizes[f];
    const step = Number.isFinite(blocksize) ? Math.max(1, Math.floor(blocksize)) : Math.max(size, 1);
    for (let start = 0; start < Math.max(size, 1); start += step) {
      blocks.push({
        path,
        start,
        end: Math.min(size, start + step),
        skipHeader: header && start === 0,
        delimiter,
        positions,
        names: columns,
        kinds: schema.map((c) => c.kind),
      });
    }
  });
  const name = layerName(
    "read-csv",
    blocks,
    stats.map((s) => [s.size, s.mtimeMs]),
  );
  const graph: Graph = new Map();
  blocks.forEach((block, i) => addTask(graph, partitionKey(name, i), READ_CSV_BLOCK, [block]));
  const reread = (wanted: readonly string[]) => readCsv(files, { ...options, schema: kindsOf(fileSchema), header, columns: wanted });
  return new DataFrame(name, blocks.length, schema, graph, reread);
}

function kindsOf(schema: readonly ColumnSchema[]): Record<string, ColumnKind> {
  return Object.fromEntries(schema.map((c) => [c.name, c.kind]));
}

/** The file's columns with their kinds: the header's names (or the schema's), kinds given or inferred. */
function inferSchema(
  path: string,
  delimiter: string,
  header: boolean,
  given: Readonly<Record<string, ColumnKind>> | undefined,
  sampleBytes: number,
): ColumnSchema[] {
  for (const [name, kind] of Object.entries(given ?? {})) {
    if (!COLUMN_KINDS.includes(kind)) throw new TypeError(`readCsv(): schema column "${name}" has unknown kind "${String(kind)}"; use ${COLUMN_KINDS.join(", ")}`);
  }
  const fd = openSync(path, "r");
  let bytes: Uint8Array;
  try {
    const buffer = Buffer.allocUnsafe(sampleBytes);
    const length = readSync(fd, buffer, 0, sampleBytes, 0);
    const whole = length < sampleBytes;
    const lastNewline = buffer.subarray(0, length).lastIndexOf(10);
    bytes = buffer.subarray(0, whole || lastNewline < 0 ? length : lastNewline + 1);
  } finally {
    closeSync(fd);
  }
  let width = 0;
  for (let i = 0, fields = 1; i < bytes.length && bytes[i] !== 10; i++) if (bytes[i] === delimiter.charCodeAt(0)) width = ++fields;
  width = Math.max(width, 1);
  const all = Array.from({ length: width }, (_, i) => i);
  const asText = parseCsvColumns(bytes, { skipHeader: false, delimiter, positions: all, names: all.map(String), kinds: all.map(() => "string" as const) });
  let names: string[];
  let firstRow = 0;
  if (header) {
    names = asText.map((column, i) => (column.values.length === 0 || (column.valid !== null && column.valid[0] === 0) ? `column${i}` : column.dictionary![column.values[0]]));
    firstRow = 1;
  } else {
    if (given === undefined) throw new TypeError("readCsv(): a file without a header needs a schema naming its columns");
    names = Object.keys(given);
    if (names.length !== width) throw new RangeError(`readCsv(): the schema names ${names.length} columns, ${path} has ${width}`);
  }
  const repeated = names.find((n, i) => names.indexOf(n) !== i);
  if (repeated !== undefined) throw new RangeError(`readCsv(): column "${repeated}" appears twice in the header of ${path}`);
  for (const name of Object.keys(given ?? {})) if (!names.includes(name)) throw new RangeError(`readCsv(): schema names column "${name}", which ${path} does not have; columns: ${names.join(", ")}`);
  return names.map((name, i) => ({ name, kind: given?.[name] ?? inferKind(asText[i], firstRow) }));
}

function inferKind(texts: Column, firstRow: number): ColumnKind {
  // Each distinct text once: the dictionary's codes of the sampled rows, skipping the header and nulls.
  const used = new Uint8Array(texts.dictionary!.length);
  for (let i = firstRow; i < texts.values.length; i++) if (texts.valid === null || texts.valid[i] !== 0) used[texts.values[i]] = 1;
  const seen = texts.dictionary!.filter((_, code) => used[code] === 1);
  if (seen.length === 0) return "string";
  const all = (pattern: RegExp) => seen.every((text) => pattern.test(text));
  if (all(INT) && seen.every((t) => Math.abs(Number(t)) <= 0x7fffffff)) return "int";
  if (all(FLOAT)) return "float";
  if (all(BOOL)) return "bool";
  if (all(DATE)) return "timestamp";
  return "string";
}

/** The block size when none is given: the total size over the CPU count, within the bounds above. */
function defaultBlocksize(sizes: readonly number[]): number {
  const total = sizes.reduce((a, b) => a + b, 0);
  return Math.min(MAX_DEFAULT_BLOCKSIZE, Math.max(MIN_DEFAULT_BLOCKSIZE, Math.ceil(total / availableParallelism())));
}
