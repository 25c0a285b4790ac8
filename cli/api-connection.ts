import { parseArgs } from "node:util";
import { defaultStateDir, readSavedToken, tokenFile } from "../scheduler/http/api-token.js";
import { DEFAULT_HTTP_PORT } from "../scheduler/http/http-api.js";

/** Where the `weft submit/status/result/workers` commands send their requests. */
export interface ApiConnection {
  readonly url: string;
  readonly token: string;
}

/** The options every API command takes, for `parseArgs`. */
const CONNECTION_OPTIONS = {
  url: { type: "string" },
  token: { type: "string" },
} as const;

/** Help text of {@link CONNECTION_OPTIONS}. */
export const CONNECTION_USAGE = `  --url        the scheduler's HTTP API (default: WEFT_URL, else http://127.0.0.1:${DEFAULT_HTTP_PORT})
  --token      the API token (default: WEFT_TOKEN, else the token the scheduler saved on this machine)`;

/**
 * The API's URL and token from the flags, the environment, or the token file a scheduler on this
 * machine saved; `null` after printing what is missing.
 */
export async function resolveConnection(command: string, flags: { url?: string; token?: string }): Promise<ApiConnection | null> {
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
  return { url: url.replace(/\/$/, ""), token };
}

/**
 * One request to the API. Error replies are printed as `weft <command>: <message>` and give
 * `null`, as do unreachable schedulers.
 */
export async function apiRequest(command: string, connection: ApiConnection, path: string, init: RequestInit = {}): Promise<Response | null> {
  let reply: Response;
  try {
    reply = await fetch(`${connection.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${connection.token}`, ...(init.headers as Record<string, string> | undefined) },
    });
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
    console.error(`weft ${command}: cannot reach the scheduler at ${connection.url}: ${cause}`);
    return null;
  }
  if (reply.status < 400) return reply;
  const text = await reply.text();
  try {
    const body = JSON.parse(text) as { error: string; message: string; details?: { key?: string; task?: { stack?: string } } };
    console.error(`weft ${command}: ${body.message} (HTTP ${reply.status} ${body.error})`);
    const stack = body.details?.task?.stack;
    if (stack !== undefined) console.error(stack);
  } catch {
    console.error(`weft ${command}: HTTP ${reply.status}: ${text.slice(0, 200)}`);
  }
  return null;
}

/** An API command's parsed flags (its own and the connection's), its one positional argument if it takes one, and where to send requests. */
export interface ApiCommandStart {
  readonly flags: Readonly<Record<string, string | boolean | undefined>>;
  readonly subject: string | undefined;
  readonly connection: ApiConnection;
}

/**
 * The common start of `weft submit/status/result/workers`: parses `args` with the connection flags
 * and the command's own boolean `switches`, prints the usage for `--help`, checks that exactly one
 * positional argument is given when the command takes one (`subject`, named in the error, such as
 * "job"), and resolves the connection. Returns the exit code when the command should stop there.
 */
export async function startApiCommand(
  command: string,
  args: string[],
  switches: readonly string[],
  usage: () => string,
  subject?: string,
): Promise<ApiCommandStart | number> {
  let parsed;
  try {
    const own = Object.fromEntries(switches.map((name) => [name, { type: "boolean", default: false } as const]));
    parsed = parseArgs({
      args,
      allowPositionals: subject !== undefined,
      options: { ...CONNECTION_OPTIONS, ...own, help: { type: "boolean", short: "h", default: false } },
    });
  } catch (error) {
    console.error(`weft ${command}: ${(error as Error).message}\n\n${usage()}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    console.log(usage());
    return 0;
  }
  if (subject !== undefined && positionals.length !== 1) {
    console.error(`weft ${command}: name one ${subject}\n\n${usage()}`);
    return 2;
  }
  const connection = await resolveConnection(command, values as { url?: string; token?: string });
  if (connection === null) return 2;
  return { flags: values, subject: positionals[0], connection };
}
