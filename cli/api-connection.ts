import { parseArgs, type ParseArgsConfig } from "node:util";
import { defaultStateDir, readSavedToken, tokenFile } from "../scheduler/http/api-token.js";
import { DEFAULT_HTTP_PORT } from "../protocol/job-api.js";
import { HttpApiError, HttpTransport, SchedulerUnreachableError } from "../client/http-transport.js";
import { TaskError } from "../protocol/task-error.js";

/** The options every API command takes, for `parseArgs`. */
const CONNECTION_OPTIONS = {
  url: { type: "string" },
  token: { type: "string" },
} as const;

/** Help text of {@link CONNECTION_OPTIONS}. */
export const CONNECTION_USAGE = `  --url        the scheduler's HTTP API (default: WEFT_URL, else http://127.0.0.1:${DEFAULT_HTTP_PORT})
  --token      the API token (default: WEFT_TOKEN, else the token the scheduler saved on this machine)`;

/**
 * The client's transport to the API, at the URL and with the token from the flags, the environment,
 * or the token file a scheduler on this machine saved; `null` after printing what is missing.
 */
export async function resolveConnection(command: string, flags: { url?: string; token?: string }): Promise<HttpTransport | null> {
  const url = flags.url ?? process.env.WEFT_URL ?? `http://127.0.0.1:${DEFAULT_HTTP_PORT}`;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error();
  } catch {
    console.error(`weft ${command}: --url must be an http:// or https:// URL, got "${url}"`);
    return null;
  }
  const file = tokenFile(defaultStateDir());
  const token = flags.token ?? (process.env.WEFT_TOKEN || undefined) ?? (await readSavedToken(file).catch(() => undefined));
  if (token === undefined || token === "") {
    console.error(`weft ${command}: no API token: pass --token, set WEFT_TOKEN, or run where the scheduler saved it (${file})`);
    return null;
  }
  // A command answers at once: it says the scheduler is unreachable rather than waiting for it.
  return new HttpTransport(url, token, { reconnectTimeoutMs: 0 });
}

/**
 * Prints what went wrong with an API call as `weft <command>: <message>`, with the HTTP status and
 * code when the API answered, and the remote stack of a failed task. Errors that are not the API's
 * are thrown on.
 */
export function printApiError(command: string, error: unknown): void {
  if (error instanceof SchedulerUnreachableError) {
    console.error(`weft ${command}: ${error.message}`);
    return;
  }
  const http = error instanceof HttpApiError ? error : (error as { cause?: unknown })?.cause;
  if (!(http instanceof HttpApiError)) throw error;
  console.error(`weft ${command}: ${http.message}`);
  if (error instanceof TaskError && error.remoteStack !== undefined) console.error(error.remoteStack);
}

/**
 * Runs an API command's calls, turning the API's errors into a printed line and exit code 1.
 */
export async function withApiErrors(command: string, calls: () => Promise<number>): Promise<number> {
  try {
    return await calls();
  } catch (error) {
    printApiError(command, error);
    return 1;
  }
}

/** An API command's parsed flags (its own and the connection's), its one positional argument if it takes one, and the API's transport. */
export interface ApiCommandStart {
  readonly flags: Readonly<Record<string, string | boolean | string[] | undefined>>;
  readonly subject: string | undefined;
  readonly transport: HttpTransport;
}

/** One option's configuration, as `parseArgs` takes it. */
type OptionConfig = NonNullable<ParseArgsConfig["options"]>[string];

/** A command's own options: names of boolean switches, or `parseArgs` option configurations by name. */
export type ApiCommandOptions = readonly string[] | Readonly<Record<string, OptionConfig>>;

/**
 * The common start of the API commands (`weft submit/status/result/jobs/cancel/workers`): parses
 * `args` with the connection flags and the command's own `options`, prints the usage for `--help`,
 * checks that exactly one positional argument is given when the command takes one (`subject`, named
 * in the error, such as "job"), and resolves the connection. Returns the exit code when the command
 * should stop there.
 */
export async function startApiCommand(
  command: string,
  args: string[],
  options: ApiCommandOptions,
  usage: () => string,
  subject?: string,
): Promise<ApiCommandStart | number> {
  let parsed;
  try {
    const own = Array.isArray(options)
      ? Object.fromEntries(options.map((name) => [name, { type: "boolean", default: false } as const]))
      : (options as Readonly<Record<string, OptionConfig>>);
    parsed = parseArgs({
      args,
      allowPositionals: subject !== undefined,
      options: { ...CONNECTION_OPTIONS, ...own, help: { type: "boolean", short: "h", default: false } },
    });
  } catch (error) {
    console.error(`weft ${command}: ${(error as Error).message}\n\n${usage()}`);
    return 2;
  }
  const values = parsed.values as ApiCommandStart["flags"];
  const { positionals } = parsed;
  if (values.help === true) {
    console.log(usage());
    return 0;
  }
  if (subject !== undefined && positionals.length !== 1) {
    console.error(`weft ${command}: name one ${subject}\n\n${usage()}`);
    return 2;
  }
  const transport = await resolveConnection(command, values as { url?: string; token?: string });
  if (transport === null) return 2;
  return { flags: values, subject: positionals[0], transport };
}
