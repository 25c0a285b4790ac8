/**
 * Structured logs for weft's long-running processes (scheduler, worker supervisor, worker): one JSON
 * object per line, so a log shipper or `jq` can read them without a format of our own.
 */

/** Severity of a log line, from most to least verbose. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Every level, from most to least verbose: a logger writes its own level and those after it. */
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** Extra facts of a log line: they become top-level properties of the JSON object. */
export type LogFields = Readonly<Record<string, unknown>>;

/**
 * Where weft's processes report what they do. Implementations must never throw: a log call must not
 * be able to break the code that logs.
 */
export interface Logger {
  /** Details useful while investigating a problem. */
  debug(message: string, fields?: LogFields): void;
  /** Normal life-cycle events: started, stopped, restarted. */
  info(message: string, fields?: LogFields): void;
  /** Something went wrong and was handled: a retried call, a replaced process. */
  warn(message: string, fields?: LogFields): void;
  /** Something went wrong and was not recovered: a failed start, a supervisor giving up. */
  error(message: string, fields?: LogFields): void;
}

/** Options of {@link jsonLogger}. */
export interface JsonLoggerOptions {
  /** Least severe level written. Default `"info"`. */
  readonly level?: LogLevel;
  /** Where lines go. Default `process.stderr`, leaving stdout to a command's actual output. */
  readonly stream?: { write(text: string): unknown };
  /** Properties added to every line, such as `{ worker: id }`. Fields of a call take precedence. */
  readonly fields?: LogFields;
}

/**
 * A {@link Logger} writing one JSON object per line: `{"time", "level", "msg", ...fields}`, with
 * `time` an ISO 8601 timestamp. `Error` values in fields are written as `{name, message, stack}`
 * (`JSON.stringify` would write `{}`), bigints as strings.
 *
 * @example
 * ```ts
 * const logger = jsonLogger({ level: "debug", fields: { component: "nanny" } });
 * logger.info("worker started", { id: "host-1", pid: 4242 });
 * // {"time":"2025-01-01T12:00:00.000Z","level":"info","msg":"worker started","component":"nanny","id":"host-1","pid":4242}
 * ```
 */
export function jsonLogger(options: JsonLoggerOptions = {}): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level ?? "info");
  if (threshold < 0) throw new RangeError(`unknown log level "${options.level}"; use ${LOG_LEVELS.join(", ")}`);
  const stream = options.stream ?? process.stderr;
  const base = options.fields ?? {};
  const write = (level: LogLevel, message: string, fields: LogFields | undefined) => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    const time = new Date().toISOString();
    const entry: Record<string, unknown> = { time, level, msg: message, ...base, ...fields };
    // A field named like one of the three fixed ones must not replace it; reassigning keeps their place first.
    entry.time = time;
    entry.level = level;
    entry.msg = message;
    let line: string;
    try {
      line = JSON.stringify(entry, replacer);
    } catch (error) {
      // A circular structure in the fields: keep the line, lose the fields.
      line = JSON.stringify({ time, level, msg: message, logError: `fields not serializable: ${(error as Error).message}` });
    }
    try {
      stream.write(`${line}\n`);
    } catch {
      // A closed stream (stderr of a detached process, say) must not turn logging into a crash.
    }
  };
  return {
    debug: (message, fields) => write("debug", message, fields),
    info: (message, fields) => write("info", message, fields),
    warn: (message, fields) => write("warn", message, fields),
    error: (message, fields) => write("error", message, fields),
  };
}

/** Whether `text` names a {@link LogLevel}; for parsing flags and environment variables. */
export function isLogLevel(text: string): text is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(text);
}

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  if (typeof value === "bigint") return value.toString();
  return value;
}
