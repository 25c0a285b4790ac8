import { mkdirSync, openAsBlob, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { type Table, tableFromIPC, tableToIPC } from "apache-arrow";
import type * as ParquetWasm from "parquet-wasm";
import type { Graph } from "../../graph/task-spec.js";
import { registerTask } from "../../worker/task-registry.js";
import { schemaOfTable } from "./column.js";
import { DataFrame } from "./dataframe.js";
import { addTask, layerName, partitionKey } from "./frame-graph.js";
import { expandPaths } from "./glob-paths.js";
import type { Scalar } from "./scalar.js";
import { statSync } from "node:fs";
import { writePartitions } from "./write-partitions.js";

/**
 * Parquet files through parquet-wasm (Rust's `parquet` crate compiled to WebAssembly): a partition per
 * row group; projected columns are the only ones decoded, and a reader reads only the byte ranges of
 * its row group's column chunks (the file is opened as a lazily read Blob).
 */

export const READ_PARQUET = "weft.df.readParquet";
export const WRITE_PARQUET = "weft.df.writeParquet";

/** Options of {@link readParquet}. */
export interface ReadParquetOptions {
  /** Columns to read, in this order. Default all. */
  readonly columns?: readonly string[];
}

/** parquet-wasm, loaded on first use: its WebAssembly instance costs every thread ~18 MB, so only threads that read or write Parquet pay it. */
let loaded: Promise<typeof ParquetWasm> | undefined;
function parquetWasm(): Promise<typeof ParquetWasm> {
  return (loaded ??= import("parquet-wasm"));
}

async function openParquet(path: string): Promise<ParquetWasm.ParquetFile> {
  const parquet = await parquetWasm();
  return parquet.ParquetFile.fromFile(await openAsBlob(path));
}

/** Reads row group `rowGroup` of `path`, only `columns`. */
export async function readParquetRowGroup(path: string, rowGroup: number, columns: readonly string[]): Promise<Table> {
  const file = await openParquet(path);
  try {
    const table = await file.read({ rowGroups: [rowGroup], columns: [...columns] });
    // intoIPCStream hands the WebAssembly table's memory over (it frees the table).
    const read = tableFromIPC(table.intoIPCStream());
    // parquet-wasm returns columns in file order; keep the requested order.
    return read.select([...columns]);
  } finally {
    file.free();
  }
}

/** Writes `table` to `path` as Parquet; returns the path. */
export async function writeParquetFile(table: Table, path: string): Promise<string> {
  const parquet = await parquetWasm();
  mkdirSync(dirname(path), { recursive: true });
  const wasmTable = parquet.Table.fromIPCStream(tableToIPC(table, "stream"));
  writeFileSync(path, parquet.writeParquet(wasmTable));
  return path;
}

registerTask(READ_PARQUET, readParquetRowGroup, import.meta.url);
registerTask(WRITE_PARQUET, writeParquetFile, import.meta.url);

/**
 * A dataframe over Parquet files (a path, a glob or a list): one partition per row group. Reads each
 * file's footer now, for its schema and row groups, so it is async.
 *
 * @example
 * ```ts
 * const df = await readParquet("data/*.parquet", { columns: ["k", "v"] });
 * ```
 */
export async function readParquet(paths: string | readonly string[], options: ReadParquetOptions = {}): Promise<DataFrame> {
  const files = expandPaths(paths);
  const pieces: { path: string; rowGroup: number }[] = [];
  let fileSchema: ReturnType<typeof schemaOfTable> | undefined;
  for (const path of files) {
    const file = await openParquet(path);
    try {
      const schema = schemaOfTable(tableFromIPC(file.schema().intoIPCStream()));
      fileSchema ??= schema;
      if (schema.map((c) => c.name).join(",") !== fileSchema.map((c) => c.name).join(",")) {
        throw new TypeError(`readParquet(): ${path} has columns ${schema.map((c) => c.name).join(", ")}, ${files[0]} has ${fileSchema.map((c) => c.name).join(", ")}`);
      }
      const groups = file.metadata().numRowGroups();
      for (let g = 0; g < groups; g++) pieces.push({ path, rowGroup: g });
    } finally {
      file.free();
    }
  }
  return parquetFrame(files, pieces, fileSchema!, options.columns);
}

function parquetFrame(
  files: readonly string[],
  pieces: readonly { path: string; rowGroup: number }[],
  fileSchema: ReturnType<typeof schemaOfTable>,
  wanted: readonly string[] | undefined,
): DataFrame {
  const names = fileSchema.map((c) => c.name);
  const columns = wanted ?? names;
  for (const name of columns) if (!names.includes(name)) throw new RangeError(`readParquet(): no column "${name}"; columns: ${names.join(", ")}`);
  const schema = columns.map((name) => fileSchema[names.indexOf(name)]);
  const name = layerName(
    "read-parquet",
    pieces,
    columns,
    files.map((f) => statSync(f).mtimeMs),
  );
  const graph: Graph = new Map();
  pieces.forEach((piece, i) => addTask(graph, partitionKey(name, i), READ_PARQUET, [piece.path, piece.rowGroup, columns]));
  return new DataFrame(name, Math.max(pieces.length, 0), schema, graph, (cols) => parquetFrame(files, pieces, fileSchema, cols));
}

/** `df.toParquet("out/part-*.parquet")`: one Parquet file per partition; computing gives the paths. */
export function writeParquet(frame: DataFrame, pattern: string): Scalar<string[]> {
  return writePartitions(frame, "to-parquet", WRITE_PARQUET, pattern, []);
}
