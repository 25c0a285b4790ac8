import type { DataFrame } from "./dataframe.js";
import type { Scalar } from "./scalar.js";
import { WRITE_CSV, type ToCsvOptions } from "../../kernels/dataframe/csv-write-kernel.js";
import { writePartitions } from "./write-partitions.js";

export type { ToCsvOptions };

/** `df.toCsv("out/part-*.csv")`: one CSV file per partition; computing gives the paths. */
export function writeCsv(frame: DataFrame, pattern: string, options: ToCsvOptions): Scalar<string[]> {
  const delimiter = options.delimiter ?? ",";
  if (typeof delimiter !== "string" || delimiter.length !== 1) throw new RangeError(`toCsv(): delimiter must be one character, got ${JSON.stringify(delimiter)}`);
  return writePartitions(frame, "to-csv", WRITE_CSV, pattern, [{ delimiter, header: options.header ?? true }]);
}
