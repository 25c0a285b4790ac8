/**
 * The Redis a `weft scheduler` or `weft worker` starts against: which URL (the flag, the
 * environment, or the local default), and a bounded wait for it at start-up that ends in a message
 * saying what to do, instead of an endless stream of connection warnings.
 */
import { readFileSync } from "node:fs";
import type { Logger } from "../protocol/logger.js";
import { RedisUnreachableError, waitForRedis } from "../protocol/redis/wait-for-redis.js";
import { parseRedisUrl, redactPassword } from "./command-arguments.js";

/** The Redis used when neither `--redis` nor {@link REDIS_URL_ENV} names one: a Redis on this machine's default port. */
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

/** Environment variable naming the deployment's Redis, read when `--redis` is not given. */
export const REDIS_URL_ENV = "WEFT_REDIS";

/**
 * Environment variable holding the Redis password, read when `--redis-password-file` is not given:
 * unlike a password in the URL, it shows in no process's arguments. It is removed from the
 * environment once read, so processes started later (worker processes, their task code) never see it.
 */
export const REDIS_PASSWORD_ENV = "WEFT_REDIS_PASSWORD";

/** How long `weft scheduler` and `weft worker` wait for Redis at start-up, in seconds, unless `--redis-timeout` says otherwise. */
export const DEFAULT_REDIS_TIMEOUT_SECONDS = 30;

/** A Redis URL and where it came from. */
export interface ChosenRedis {
  readonly url: string;
  readonly source: "flag" | "environment" | "default";
  /** Where the password came from when not from the URL itself: `--redis-password-file` or {@link REDIS_PASSWORD_ENV}. */
  readonly passwordSource?: "file" | "environment";
}

/**
 * The Redis URL of a command: `--redis`, else {@link REDIS_URL_ENV}, else {@link DEFAULT_REDIS_URL}.
 * Null, after printing what is wrong, when the URL given is not a `redis://` or `rediss://` URL.
 *
 * @example
 * ```ts
 * const redis = chooseRedis("scheduler", values.redis); // { url: "redis://127.0.0.1:6379", source: "default" }
 * ```
 */
export function chooseRedis(command: string, flag: string | undefined, env: NodeJS.ProcessEnv = process.env): ChosenRedis | null {
  const fromEnv = env[REDIS_URL_ENV];
  const chosen: ChosenRedis =
    flag !== undefined
      ? { url: flag, source: "flag" }
      : fromEnv !== undefined && fromEnv !== ""
        ? { url: fromEnv, source: "environment" }
        : { url: DEFAULT_REDIS_URL, source: "default" };
  const url = parseRedisUrl(command, chosen.url);
  return url === null ? null : chosen;
}

/**
 * The chosen Redis with its password from `--redis-password-file` (the file's first line), else from
 * {@link REDIS_PASSWORD_ENV}, else as the URL has it; either of the first two replaces a password in
 * the URL. The password travels on inside the URL, which weft passes to the processes it starts in
 * their environment, never their arguments. Removes {@link REDIS_PASSWORD_ENV} from `env`. Null, after
 * printing what is wrong, when the file cannot be read or is empty.
 *
 * @example
 * ```ts
 * // WEFT_REDIS_PASSWORD=s3cret weft scheduler --redis redis://10.0.0.5:6379
 * const redis = withRedisPassword("scheduler", chooseRedis("scheduler", values.redis)!, values["redis-password-file"]);
 * ```
 */
export function withRedisPassword(command: string, redis: ChosenRedis, passwordFile: string | undefined, env: NodeJS.ProcessEnv = process.env): ChosenRedis | null {
  const fromEnv = env[REDIS_PASSWORD_ENV];
  delete env[REDIS_PASSWORD_ENV];
  let password: string;
  let passwordSource: "file" | "environment";
  if (passwordFile !== undefined) {
    try {
      password = readFileSync(passwordFile, "utf8").split(/\r?\n/)[0];
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      console.error(`weft ${command}: --redis-password-file ${passwordFile}: ${code === "ENOENT" ? "no such file" : (error as Error).message}`);
      return null;
    }
    if (password === "") {
      console.error(`weft ${command}: --redis-password-file ${passwordFile}: the file's first line is empty; write the password there`);
      return null;
    }
    passwordSource = "file";
  } else if (fromEnv !== undefined && fromEnv !== "") {
    password = fromEnv;
    passwordSource = "environment";
  } else {
    return redis;
  }
  const url = new URL(redis.url);
  url.password = encodeURIComponent(password);
  return { ...redis, url: url.href, passwordSource };
}

/**
 * Waits up to `timeoutSeconds` for the chosen Redis to answer, logging one warning when the first
 * attempt fails. True once it answers; false after logging, as an error, why it could not be reached
 * and what to do (the URL shown without its password): the command then exits 1.
 *
 * @example
 * ```ts
 * if (!(await reachRedis("scheduler", redis, 30, logger))) return 1;
 * ```
 */
export async function reachRedis(command: string, redis: ChosenRedis, timeoutSeconds: number, logger: Logger): Promise<boolean> {
  const shown = redactPassword(redis.url);
  try {
    await waitForRedis(redis.url, {
      timeoutMs: timeoutSeconds * 1000,
      onFirstFailure: (error) =>
        logger.warn(`Redis at ${shown} does not answer yet; trying again for up to ${timeoutSeconds} s (--redis-timeout)`, { redis: shown, error: error.message }),
    });
    return true;
  } catch (error) {
    if (!(error instanceof RedisUnreachableError)) throw error;
    logger.error(explain(command, redis, shown, error), { redis: shown, error: error.reason.message });
    return false;
  }
}

function explain(command: string, redis: ChosenRedis, shown: string, error: RedisUnreachableError): string {
  if (error.refusedCredentials) {
    const where =
      redis.passwordSource === "file"
        ? `the password in --redis-password-file and the user name in the URL (${origin(redis)})`
        : redis.passwordSource === "environment"
          ? `the password in ${REDIS_PASSWORD_ENV} and the user name in the URL (${origin(redis)})`
          : `the URL (${origin(redis)}), or the password in ${REDIS_PASSWORD_ENV} or --redis-password-file`;
    return `weft ${command}: Redis at ${shown} refused the user name or password (${error.reason.message}); exiting. Give the right ones: ${where}.`;
  }
  if (error.untrustedCertificate) {
    return (
      `weft ${command}: Redis at ${shown} presented a TLS certificate this machine does not trust (${error.reason.message}); exiting. ` +
      `If the server's certificate is signed by a CA of your own, give that CA's certificate to Node with NODE_EXTRA_CA_CERTS=/path/to/ca.pem; ` +
      `else check that the URL's host is the name the certificate was issued for.`
    );
  }
  const failed = `weft ${command}: could not reach Redis at ${shown} within ${(error.waitedMs / 1000).toFixed(1)} s (${error.reason.message}); exiting.`;
  if (redis.source === "default") {
    return (
      `${failed} No --redis was given, so this is the local default. Start a Redis here with "redis-server" ` +
      `(package redis-server on Debian/Ubuntu, "brew install redis" on macOS), pass --redis URL (or set ${REDIS_URL_ENV}) ` +
      `for one elsewhere, or run "weft up" for a whole cluster on this machine with a Redis of its own.`
    );
  }
  return `${failed} Check the URL (${origin(redis)}), and that Redis runs there and accepts connections from this machine; --redis-timeout sets how long to wait.`;
}

/** Where the URL came from, or can be given. */
function origin(redis: ChosenRedis): string {
  return redis.source === "flag" ? "--redis" : redis.source === "environment" ? REDIS_URL_ENV : `--redis or ${REDIS_URL_ENV}`;
}
