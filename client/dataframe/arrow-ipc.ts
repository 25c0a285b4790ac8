import { statSync } from "node:fs";
import { Table } from "apache-arrow";
import type { Graph } from "../../graph/task-spec.js";
import { schemaOfTable, type ColumnSchema } from "../../kernels/dataframe/column.js";
import { DataFrame } from "./dataframe.js";
import { addTask, layerName, partitionKey } from "./frame-graph.js";
import { expandPaths } from "./glob-paths.js";
import type { Scalar } from "./scalar.js";
import { writePartitions } from "./write-partitions.js";
import { openReader, READ_IPC, WRITE_IPC } from "../../kernels/dataframe/ipc-kernel.js";

/**
 * Arrow IPC files (the Feather v2 format): a partition per record batch (see `ipc-kernel.ts`).
 */

/** Options of {@link readIpc}. */
export interface ReadIpcOptions {
  /** Columns to keep, in this order. Default all. */
  readonly columns?: readonly string[];
}


/**
 * A dataframe over Arrow IPC files (a path, a glob or a list): one partition per record batch. Reads
 * each file's footer now, so it is async.
 *
 * @example
 * ```ts
 * const df = await readIpc("data/*.arrow");
 * ```
 */
export async function readIpc(paths: string | readonly string[], options: ReadIpcOptions = {}): Promise<DataFrame> {
  const files = expandPaths(paths);
  const pieces: { path: string; batch: number }[] = [];
  let fileSchema: ColumnSchema[] | undefined;
  for (const path of files) {
    const { reader, close } = await openReader(path);
    try {
      const schema = schemaOfTable(new Table(reader.schema));
      fileSchema ??= schema;
      if (schema.map((c) => c.name).join(",") !== fileSchema.map((c) => c.name).join(",")) {
        throw new TypeError(`readIpc(): ${path} has columns ${schema.map((c) => c.name).join(", ")}, ${files[0]} has ${fileSchema.map((c) => c.name).join(", ")}`);
      }
      for (let b = 0; b < reader.numRecordBatches; b++) pieces.push({ path, batch: b });
    } finally {
      await close();
    }
  }
  return ipcFrame(files, pieces, fileSchema!, options.columns);
}

function ipcFrame(files: readonly string[], pieces: readonly { path: string; batch: number }[], fileSchema: ColumnSchema[], wanted: readonly string[] | undefined): DataFrame {
  const names = fileSchema.map((c) => c.name);
  const columns = wanted ?? names;
  for (const name of columns) if (!names.includes(name)) throw new RangeError(`readIpc(): no column "${name}"; columns: ${names.join(", ")}`);
  const schema = columns.map((name) => fileSchema[names.indexOf(name)]);
  const name = layerName(
    "read-ipc",
    pieces,
    columns,
    files.map((f) => statSync(f).mtimeMs),
  );
  const graph: Graph = new Map();
  pieces.forEach((piece, i) => addTask(graph, partitionKey(name, i), READ_IPC, [piece.path, piece.batch, columns]));
  return new DataFrame(name, pieces.length, schema, graph, (cols) => ipcFrame(files, pieces, fileSchema, cols));
}

/** `df.toIpc("out/part-*.arrow")`: one Arrow IPC file per partition; computing gives the paths. */
export function writeIpc(frame: DataFrame, pattern: string): Scalar<string[]> {
  return writePartitions(frame, "to-ipc", WRITE_IPC, pattern, []);
}
