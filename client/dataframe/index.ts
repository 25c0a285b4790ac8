/**
 * weft/dataframe: partitioned dataframes on Apache Arrow, like `dask.dataframe`. Every verb builds a
 * task graph; `client.compute(df)` runs it and returns one Arrow `Table`.
 *
 * @example
 * ```ts
 * import { Client } from "weft";
 * import { col, readCsv } from "weft/dataframe";
 * const client = await Client.local({ executor: "threads" });
 * const df = readCsv("trips-*.csv");
 * const [table] = await client.compute(df.filter(col("fare").gt(0)).groupBy("vendor").agg({ fare: ["mean", "max"] }));
 * ```
 */
export { DataFrame, type Projector } from "./dataframe.js";
export { GroupBy, type AggName, type AggOptions, type AggRequest } from "./group-by.js";
export { Scalar } from "./scalar.js";
export { col, lit, Expression, type ExpressionNode, type Literal, type Operand, type ArithmeticOp, type CompareOp } from "./expression.js";
export { fromDelayed } from "./from-delayed.js";
export { fromArrow, fromRecords, type FromMemoryOptions, type FromRecordsOptions } from "./from-arrow.js";
export { readCsv, type ReadCsvOptions } from "./read-csv.js";
export { readParquet, type ReadParquetOptions } from "./parquet.js";
export { readIpc, type ReadIpcOptions } from "./arrow-ipc.js";
export type { ToCsvOptions } from "./to-csv.js";
export type { MergeOptions, JoinHow } from "./merge.js";
export type { SortOptions } from "./sort-values.js";
export type { DropDuplicatesOptions } from "./drop-duplicates.js";
export type { HeadOptions } from "./head.js";
export type { MapPartitionsOptions } from "./map-partitions.js";
export type { ColumnKind, ColumnSchema } from "../../kernels/dataframe/column.js";
