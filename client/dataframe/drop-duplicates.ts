import { blockwise, checkColumns } from "./blockwise.js";
import type { DataFrame } from "./dataframe.js";
import { DROP_DUPLICATES } from "../../kernels/dataframe/distinct-kernel.js";
import { shuffle } from "./shuffle.js";

/** Options of `df.dropDuplicates`. */
export interface DropDuplicatesOptions {
  /** Columns whose values make rows duplicates. Default: all columns. */
  readonly subset?: readonly string[];
  /** Output partitions. Default: as many as the input. */
  readonly npartitions?: number;
}

/**
 * `df.dropDuplicates()`: rows with distinct values in `subset`, keeping the first of each. Rows are
 * hash-shuffled on `subset` first (unless there is a single partition), so duplicates meet in one
 * partition; relative order is kept within each output partition.
 */
export function dropDuplicates(frame: DataFrame, options: DropDuplicatesOptions): DataFrame {
  const subset = checkColumns(frame, options.subset ?? frame.columns, "subset column");
  if (subset.length === 0) throw new RangeError("dropDuplicates(): subset lists no column");
  const nparts = options.npartitions ?? frame.npartitions;
  if (!Number.isInteger(nparts) || nparts < 1) throw new RangeError(`dropDuplicates(): npartitions must be a whole number >= 1, got ${nparts}`);
  const input = frame.npartitions === 1 && nparts === 1 ? frame : shuffle(frame, subset, nparts);
  return blockwise(input, "drop-duplicates", DROP_DUPLICATES, [subset], frame.schema);
}
