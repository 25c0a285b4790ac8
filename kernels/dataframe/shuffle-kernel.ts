import type { Table } from "apache-arrow";
import { registerTask } from "../../protocol/task-registry.js";
import { readColumn } from "./column.js";
import { hashRows } from "./hash-keys.js";
import { splitRows } from "./partition-kernels.js";

/** The shuffle's split kernel: a partition cut into one piece per output partition by a hash of its keys. */

export const HASH_SPLIT = "weft.df.hashSplit";

/** `table` split into `parts` tables by a hash of `keys`; row order is kept within each. */
export function hashSplit(table: Table, keys: readonly string[], parts: number): Table[] {
  const hashes = hashRows(
    keys.map((key) => readColumn(table, key)),
    table.numRows,
  );
  return splitRows(table, Int32Array.from(hashes, (h) => (h >>> 0) % parts), parts);
}

registerTask(HASH_SPLIT, hashSplit, import.meta.url);

