import { statSync } from "node:fs";
import { tableFromIPC } from "apache-arrow";
import type { Graph } from "../../graph/task-spec.js";
import { schemaOfTable } from "../../kernels/dataframe/column.js";
import { DataFrame } from "./dataframe.js";
import { addTask, layerName, partitionKey } from "./frame-graph.js";
import { expandPaths } from "./glob-paths.js";
import type { Scalar } from "./scalar.js";
import { writePartitions } from "./write-partitions.js";
import { openParquet, READ_PARQUET, WRITE_PARQUET } from "../../kernels/dataframe/parquet-kernel.js";

/** Parquet files as dataframes: a partition per row group (see `parquet-kernel.ts`). */


/** Options of {@link readParquet}. */
export interface ReadParquetOptions {
  /** Columns to read, in this order. Default all. */
  readonly columns?: readonly string[];
}


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
