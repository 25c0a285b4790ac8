/**
 * Names of the functions every executor knows without imports, under the `weft.` prefix (registered
 * by `executor/builtin-tasks.ts`). Graph builders refer to them by these names; only processes that
 * run tasks load their implementations.
 *
 * @example
 * ```ts
 * const graph = new Map([["x", taskSpec("x", IDENTITY, [41])]]);
 * ```
 */

/** Returns its argument: a value placed in the graph, or a collection of results gathered into one. */
export const IDENTITY = "weft.identity";
/** `getattr(value, name)`: a property of a result. */
export const GETATTR = "weft.getattr";
/** `getitem(value, index)`: an element of a result; negative indexes count from the end. */
export const GETITEM = "weft.getitem";

/** Reads the lines of one byte range of a CSV file: `readCsvBlock(block)`, the path in `block.path`. */
export const READ_CSV_BLOCK = "weft.df.readCsvBlock";
/** Writes a table to a CSV file: `writeCsv(table, path, options)`. */
export const WRITE_CSV = "weft.df.writeCsv";
/** Reads one record batch of an Arrow IPC file: `readIpc(path, index, columns)`. */
export const READ_IPC = "weft.df.readIpc";
/** Writes a table to an Arrow IPC file: `writeIpc(table, path)`. */
export const WRITE_IPC = "weft.df.writeIpc";
/** Reads one row group of a Parquet file: `readParquet(path, rowGroup, columns)`. */
export const READ_PARQUET = "weft.df.readParquet";
/** Writes a table to a Parquet file: `writeParquet(table, path)`. */
export const WRITE_PARQUET = "weft.df.writeParquet";
