/**
 * The built-in tasks that read or write files, and where each finds its path among its arguments:
 * what the scheduler confines to its data roots in graphs submitted over HTTP
 * (`scheduler/http/file-access.ts`). A new file-touching kernel must be listed here, and must call
 * `confineWorkerPath` before it opens its file (`test/protocol/file-tasks.test.ts` checks both).
 */
import { READ_CSV_BLOCK, READ_IPC, READ_PARQUET, WRITE_CSV, WRITE_IPC, WRITE_PARQUET } from "./builtin-task-names.js";
import type { FileAccess } from "./data-roots.js";

/** How a file task touches its file. */
export interface FileTask {
  readonly access: FileAccess;
  /**
   * The argument holding the path: its index, and for a task taking an object (a CSV block), the
   * field of that object.
   */
  readonly argument: number;
  readonly field?: string;
}

/**
 * Every built-in file task, by name.
 *
 * @example
 * ```ts
 * FILE_TASKS.get("weft.df.writeCsv"); // { access: "write", argument: 1 }
 * ```
 */
export const FILE_TASKS: ReadonlyMap<string, FileTask> = new Map<string, FileTask>([
  [READ_CSV_BLOCK, { access: "read", argument: 0, field: "path" }],
  [WRITE_CSV, { access: "write", argument: 1 }],
  [READ_IPC, { access: "read", argument: 0 }],
  [WRITE_IPC, { access: "write", argument: 1 }],
  [READ_PARQUET, { access: "read", argument: 0 }],
  [WRITE_PARQUET, { access: "write", argument: 1 }],
]);
