import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";

/** Where an API token came from. */
export type TokenSource = "flag" | "environment" | "state-file" | "generated";

/** Options of {@link resolveApiToken}. */
export interface ApiTokenOptions {
  /** A token given on the command line (`--token`); wins over everything else. */
  readonly flag?: string;
  /** The environment to read `WEFT_TOKEN` from. Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Directory of the saved token. Default {@link defaultStateDir}. */
  readonly stateDir?: string;
}

/** Tokens shorter than this are refused: a bearer token is the API's only lock. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * The state directory: `$WEFT_STATE_DIR`, else `$XDG_STATE_HOME/weft`, else `~/.local/state/weft`.
 * The generated API token is saved there as `api-token`.
 */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WEFT_STATE_DIR) return env.WEFT_STATE_DIR;
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, "weft");
  return join(homedir(), ".local", "state", "weft");
}

/** The file the generated token is saved in. */
export function tokenFile(stateDir: string): string {
  return join(stateDir, "api-token");
}

/**
 * The HTTP API's bearer token: `--token`, else `WEFT_TOKEN`, else the token saved in the state
 * directory, else a new random one (`weft_` and 32 random bytes, base64url), saved there with mode 0600 so that only
 * this user can read it. `source` says which: the caller prints a generated token once.
 *
 * @example
 * ```ts
 * const { token, source, file } = await resolveApiToken({ flag: values.token });
 * if (source === "generated") console.error(`API token (saved to ${file}): ${token}`);
 * ```
 */
export async function resolveApiToken(options: ApiTokenOptions = {}): Promise<{ token: string; source: TokenSource; file: string }> {
  const env = options.env ?? process.env;
  const file = tokenFile(options.stateDir ?? defaultStateDir(env));
  if (options.flag !== undefined) return { token: checkToken(options.flag, "--token"), source: "flag", file };
  if (env.WEFT_TOKEN !== undefined && env.WEFT_TOKEN !== "") return { token: checkToken(env.WEFT_TOKEN, "WEFT_TOKEN"), source: "environment", file };
  const saved = await readSavedToken(file);
  if (saved !== undefined) return { token: checkToken(saved, file), source: "state-file", file };
  const token = generateApiToken();
  await mkdir(join(file, ".."), { recursive: true, mode: 0o700 });
  // `wx`: two schedulers starting at once must not overwrite each other's token.
  try {
    await writeFile(file, `${token}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return { token: checkToken((await readSavedToken(file))!, file), source: "state-file", file };
  }
  return { token, source: "generated", file };
}

/**
 * A new random API token: `weft_` and 32 random bytes, base64url. The prefix makes the token
 * recognizable (in a leaked log, say) and keeps it from starting with "-", which command lines
 * would read as an option.
 *
 * @example
 * ```ts
 * const api = await startHttpApi({ jobs, token: generateApiToken(), pingRedis });
 * ```
 */
export function generateApiToken(): string {
  return `weft_${randomBytes(32).toString("base64url")}`;
}

/** The token saved in `file`, if the file exists. */
export async function readSavedToken(file: string): Promise<string | undefined> {
  try {
    return (await readFile(file, "utf8")).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

function checkToken(token: string, where: string): string {
  if (token.length < MIN_TOKEN_LENGTH) throw new RangeError(`the API token from ${where} is too short: use at least ${MIN_TOKEN_LENGTH} characters`);
  return token;
}

/**
 * A check of presented tokens against `expected`, in constant time: both sides are SHA-256 digests
 * of equal length, so the comparison takes the same time whatever the presented token's length or
 * content. The expected token's digest is computed once.
 */
export function tokenChecker(expected: string): (presented: string) => boolean {
  const digest = createHash("sha256").update(expected).digest();
  return (presented) => timingSafeEqual(createHash("sha256").update(presented).digest(), digest);
}

/** {@link tokenChecker} for one comparison. */
export function tokenMatches(presented: string, expected: string): boolean {
  return tokenChecker(expected)(presented);
}
