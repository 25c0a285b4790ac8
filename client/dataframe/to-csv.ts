import type { DataFrame } from "./dataframe.js";
import type { Scalar } from "./scalar.js";
import { WRITE_CSV } from "./csv-write-kernel.js";
import { writePartitions } from "./write-partitions.js";

/** Options of `df.toCsv`. */
export interface ToCsvOptions {
  /** Field separator, one character. Default `","`. */
  readonly delimiter?: string;
  /** Whether to write a header line. Default true. */
  readonly header?: boolean;
}

/** `df.toCsv("out/part-*.csv")`: one CSV file per partition; computing gives the paths. */
export function writeCsv(frame: DataFrame, pattern: string, options: ToCsvOptions): Scalar<string[]> {
  const delimiter = options.delimiter ?? ",";
  if (typeof delimiter !== "string" || delimiter.length !== 1) throw new RangeError(`toCsv(): delimiter must be one character, got ${JSON.stringify(delimiter)}`);
  return writePartitions(frame, "to-csv", WRITE_CSV, pattern, [{ delimiter, header: options.header ?? true }]);
}
