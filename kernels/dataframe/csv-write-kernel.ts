import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import type { Table } from "apache-arrow";
import { WRITE_CSV } from "../../protocol/builtin-task-names.js";
import { confineWorkerPath } from "../../protocol/data-roots.js";
import { registerTask } from "../../protocol/task-registry.js";
import { readColumn, type Column } from "./column.js";

/** The CSV writer kernel: a partition written as one file, values formatted straight from its column buffers. */

/**
 * Options of `df.toCsv`, as the writer kernel receives them.
 *
 * @example
 * ```ts
 * df.toCsv("out/part-*.csv", { delimiter: ";", header: false });
 * ```
 */
export interface ToCsvOptions {
  /** Field separator, one character. Default `","`. */
  readonly delimiter?: string;
  /** Whether to write a header line. Default true. */
  readonly header?: boolean;
}

export { WRITE_CSV };
const ROWS_PER_WRITE = 8192;

function formatter(column: Column, delimiter: string): (i: number) => string {
  const { valid, values } = column;
  const needsQuotes = new RegExp(`[${delimiter === "]" ? "\\]" : delimiter}"\\n\\r]`);
  const quote = (text: string) => (text === "" || needsQuotes.test(text) ? `"${text.replaceAll('"', '""')}"` : text);
  const texts = column.kind === "string" ? column.dictionary!.map(quote) : undefined;
  return (i) => {
    if (valid !== null && valid[i] === 0) return "";
    switch (column.kind) {
      case "string":
        return texts![values[i]];
      case "bool":
        return values[i] === 1 ? "true" : "false";
      case "timestamp":
        return new Date(values[i]).toISOString();
      default:
        return String(values[i]);
    }
  };
}

/** Writes `table` as CSV to `path` (directories are made); returns the path. Nulls are empty fields, empty strings `""`. */
export function writeCsvFile(table: Table, path: string, options: ToCsvOptions): string {
  const delimiter = options.delimiter ?? ",";
  const names = table.schema.names as string[];
  const formats = names.map((name) => formatter(readColumn(table, name), delimiter));
  confineWorkerPath(path, "write");
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, "w");
  try {
    if (options.header ?? true) writeSync(fd, names.join(delimiter) + "\n");
    for (let from = 0; from < table.numRows; from += ROWS_PER_WRITE) {
      const lines: string[] = [];
      const to = Math.min(table.numRows, from + ROWS_PER_WRITE);
      for (let i = from; i < to; i++) lines.push(formats.map((format) => format(i)).join(delimiter));
      writeSync(fd, lines.join("\n") + "\n");
    }
  } finally {
    closeSync(fd);
  }
  return path;
}

registerTask(WRITE_CSV, writeCsvFile, import.meta.url);

