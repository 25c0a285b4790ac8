import { mkdirSync, openAsBlob, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { type Table, tableFromIPC, tableToIPC } from "apache-arrow";
import type * as ParquetWasm from "parquet-wasm";
import { READ_PARQUET, WRITE_PARQUET } from "../../protocol/builtin-task-names.js";
import { confineWorkerPath } from "../../protocol/data-roots.js";
import { registerTask } from "../../protocol/task-registry.js";

/**
 * The Parquet kernels, through parquet-wasm (Rust's `parquet` crate compiled to WebAssembly): a
 * partition per row group; projected columns are the only ones decoded, and a reader reads only the
 * byte ranges of its row group's column chunks (the file is opened as a lazily read Blob).
 */

export { READ_PARQUET, WRITE_PARQUET };

/** parquet-wasm, loaded on first use: its WebAssembly instance costs every thread ~18 MB, so only threads that read or write Parquet pay it. */
let loaded: Promise<typeof ParquetWasm> | undefined;
function parquetWasm(): Promise<typeof ParquetWasm> {
  return (loaded ??= import("parquet-wasm"));
}

/** A Parquet file opened for reading its footer and row groups. */
export async function openParquet(path: string): Promise<ParquetWasm.ParquetFile> {
  confineWorkerPath(path, "read");
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
  confineWorkerPath(path, "write");
  mkdirSync(dirname(path), { recursive: true });
  const wasmTable = parquet.Table.fromIPCStream(tableToIPC(table, "stream"));
  writeFileSync(path, parquet.writeParquet(wasmTable));
  return path;
}

registerTask(READ_PARQUET, readParquetRowGroup, import.meta.url);
registerTask(WRITE_PARQUET, writeParquetFile, import.meta.url);
