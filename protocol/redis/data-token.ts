/**
 * The cluster's data token, shared through Redis: the scheduler and every worker of a prefix agree on
 * it without a flag, an environment variable or argv. The first process to need one writes a random
 * token with `SET NX`; the others read it. Each process checks again every few seconds and adopts
 * what Redis holds, so after Redis lost its data (restarted empty) the cluster settles on one token
 * again: the first process to notice writes its own back, and the rest adopt it.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { DataKeys } from "../data-auth.js";
import { redisKeys } from "./redis-keys.js";

/** How often {@link SharedDataToken} checks Redis for the cluster's token, in ms: 5,000. */
export const DATA_TOKEN_REFRESH_MS = 5_000;

/**
 * A new random data token: 32 bytes, base64url.
 *
 * @example
 * ```ts
 * const token = newDataToken(); // "q3J…" (43 characters)
 * ```
 */
export function newDataToken(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * The token under the prefix's key, writing `proposed` there first if there is none (one round trip:
 * `SET key proposed NX GET`, Redis 7 or later).
 */
async function settle(redis: Redis, key: string, proposed: string): Promise<string> {
  const previous = (await redis.call("SET", key, proposed, "NX", "GET")) as string | null;
  return previous ?? proposed;
}

/**
 * The data token of the cluster on `redis` under `prefix`, kept current: `keys` holds it (see
 * {@link DataKeys}) for a `DataServer` and a `DataClient`. Call {@link stop} when done.
 *
 * @example
 * ```ts
 * const token = await SharedDataToken.start(redis, "weft", (e) => logger.warn("data token", { error: e }));
 * const server = await DataServer.start({ store, token: token.keys });
 * ```
 */
export class SharedDataToken {
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    /** The tokens this process signs with and accepts. */
    readonly keys: DataKeys,
  ) {}

  /**
   * Reads (or writes) the token, then checks it every {@link DATA_TOKEN_REFRESH_MS}. Errors of the
   * later checks go to `onError`; the process keeps its token meanwhile.
   */
  static async start(redis: Redis, prefix: string | undefined, onError?: (error: Error) => void): Promise<SharedDataToken> {
    const key = redisKeys(prefix).dataToken;
    const shared = new SharedDataToken(new DataKeys(await settle(redis, key, newDataToken())));
    shared.timer = setInterval(() => {
      settle(redis, key, shared.keys.current()).then(
        (token) => shared.keys.set(token),
        (error: Error) => onError?.(error),
      );
    }, DATA_TOKEN_REFRESH_MS);
    shared.timer.unref();
    return shared;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
