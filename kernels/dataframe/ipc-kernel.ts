import { mkdirSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { dirname } from "node:path";
import { RecordBatchFileReader, Table, tableToIPC } from "apache-arrow";
import { READ_IPC, WRITE_IPC } from "../../protocol/builtin-task-names.js";
import { confineWorkerPath } from "../../protocol/data-roots.js";
import { registerTask } from "../../protocol/task-registry.js";

/**
 * The Arrow IPC file kernels: a partition per record batch, read by random access through the
 * file's footer. A record batch is read whole; columns not asked for are dropped at once.
 */

export { READ_IPC, WRITE_IPC };

/** Opens an IPC file for random access to its record batches. */
export async function openReader(path: string): Promise<{ reader: RecordBatchFileReader; close: () => Promise<void> }> {
  confineWorkerPath(path, "read");
  const handle = await open(path, "r");
  const reader = await RecordBatchFileReader.from(handle);
  await reader.open();
  return { reader: reader as unknown as RecordBatchFileReader, close: () => handle.close() };
}

/** Record batch `index` of the IPC file at `path`, only `columns`. */
export async function readIpcBatch(path: string, index: number, columns: readonly string[]): Promise<Table> {
  const { reader, close } = await openReader(path);
  try {
    const batch = await reader.readRecordBatch(index);
    if (batch === null) throw new RangeError(`${path} has no record batch ${index}`);
    return new Table(batch).select([...columns]);
  } finally {
    await close();
  }
}

/** Writes `table` to `path` as an Arrow IPC file; returns the path. */
export function writeIpcFile(table: Table, path: string): string {
  confineWorkerPath(path, "write");
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, tableToIPC(table, "file"));
  return path;
}

registerTask(READ_IPC, readIpcBatch, import.meta.url);
registerTask(WRITE_IPC, writeIpcFile, import.meta.url);

