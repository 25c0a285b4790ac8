import type { Logger } from "../logger.js";
import { waitForRedis } from "./wait-for-redis.js";

/**
 * Node's and ioredis's codes for a connection that could not be made or broke: what a reconnecting
 * connection reports at every attempt while Redis is down or cut off.
 */
const CONNECTION_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * True for an error saying the connection to Redis could not be made or broke (refused, reset, timed
 * out, host unknown), as opposed to an error Redis replied with.
 *
 * @example
 * ```ts
 * isConnectionError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6379"), { code: "ECONNREFUSED" })); // true
 * isConnectionError(new Error("WRONGPASS invalid username-password pair")); // false
 * ```
 */
export function isConnectionError(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return (typeof code === "string" && CONNECTION_ERROR_CODES.has(code)) || /^Connection is closed\.?$/.test(error.message);
}

/**
 * A Redis URL as messages and logs may show it: its password replaced by `***`, as the `weft`
 * commands show it.
 *
 * @example
 * ```ts
 * shownRedisUrl("redis://admin:s3cret@10.0.0.5:6379/0"); // "redis://admin:***@10.0.0.5:6379/0"
 * ```
 */
export function shownRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.href;
  } catch {
    return "(an unparsable Redis URL)";
  }
}

/** Since when Redis has not answered, and the connection error that said so first. */
export interface RedisOutage {
  /** Unix ms of the first connection error of this outage. */
  readonly since: number;
  readonly error: Error;
}

/** Options of a {@link RedisReachability}. */
export interface RedisReachabilityOptions {
  /**
   * Called once per outage, when a connection error is confirmed (a fresh connection's PING fails
   * too), with that first error. Default: none.
   */
  readonly onUnreachable?: (error: Error) => void;
  /** Called once per outage, when Redis answers again, with how long it did not, in ms. Default: none. */
  readonly onReachable?: (downMs: number) => void;
  /** How often Redis is tried while it does not answer, in ms. Default 250. */
  readonly probeMs?: number;
}

/**
 * The hooks of a {@link RedisReachability} that log an outage as weft's processes do: one warning
 * when Redis stops answering (with the error), one line when it answers again (with how long it did
 * not), whatever the number of connections and retries in between.
 *
 * @example
 * ```ts
 * const reachability = new RedisReachability(url, redisOutageLog(logger, url));
 * // {"level":"warn","msg":"Redis at redis://10.0.0.5:6379 is unreachable; waiting for it to answer again", "error": "connect ECONNREFUSED 10.0.0.5:6379", ...}
 * // {"level":"info","msg":"Redis at redis://10.0.0.5:6379 is reachable again, after 4.2 s", "downMs": 4210, ...}
 * ```
 */
export function redisOutageLog(logger: Logger, url: string): Pick<RedisReachabilityOptions, "onUnreachable" | "onReachable"> {
  const redis = shownRedisUrl(url);
  return {
    onUnreachable: (error) => logger.warn(`Redis at ${redis} is unreachable; waiting for it to answer again`, { redis, error: error.message }),
    onReachable: (downMs) => logger.info(`Redis at ${redis} is reachable again, after ${(downMs / 1000).toFixed(1)} s`, { redis, downMs }),
  };
}

/**
 * Redis does not answer, so a request that needs it was refused before anything was written (or,
 * `timedOut`, Redis did not answer a call in time: the write may still be applied once it does). The
 * HTTP API replies 503 `redis-unreachable` with this message.
 *
 * @example
 * ```ts
 * try { reachability.check("the job was not submitted"); }
 * catch (error) { if (error instanceof RedisUnavailableError) reply.code(503).send({ error: "redis-unreachable", message: error.message }); }
 * ```
 */
export class RedisUnavailableError extends Error {
  override readonly name = "RedisUnavailableError";

  constructor(
    /** The Redis URL, without its password. */
    readonly redis: string,
    /** The connection error, or what timed out. */
    readonly reason: string,
    /** How long Redis has not answered, in ms, when known. */
    readonly downMs: number | undefined,
    /** True when a call was sent and not answered in time (rather than refused before it was sent). */
    readonly timedOut: boolean,
    /** What this means for the request, for people: `the job was not submitted`, say. */
    outcome: string,
  ) {
    const how = timedOut ? `did not answer in time (${reason})` : `is unreachable (${reason}${downMs === undefined ? "" : `, for ${(downMs / 1000).toFixed(1)} s`})`;
    super(`Redis at ${redis} ${how}: ${outcome}; retry once Redis is back`);
  }
}

/**
 * Whether a process's Redis answers, said once per outage: ioredis connections that ride out a Redis
 * restart (`connectRedis`) report a connection error at every reconnection attempt, a line per retry
 * and connection in a log. Their `onError` goes through {@link filter}, which takes connection errors
 * for itself; the first one is checked with a fresh connection's PING, and if that fails too the
 * outage begins: `onUnreachable` once, then Redis is tried every `probeMs` until it answers:
 * `onReachable` once, with how long it was down. Meanwhile {@link outage} says so, for requests that
 * would wait on Redis to be refused at once instead.
 *
 * @example
 * ```ts
 * const reachability = new RedisReachability(url, {
 *   onUnreachable: (error) => logger.warn("Redis is unreachable", { error }),
 *   onReachable: (downMs) => logger.info("Redis is reachable again", { downMs }),
 * });
 * const redis = connectRedis(url, reachability.filter((error) => logger.warn("recovered from an error", { error })));
 * ```
 */
export class RedisReachability {
  /** The Redis URL as messages show it, without its password. */
  readonly shown: string;
  private current: RedisOutage | undefined;
  /** A connection error not yet confirmed by a probe: the outage would begin at its time. */
  private suspected: RedisOutage | undefined;
  private probing = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly probeMs: number;

  constructor(
    private readonly url: string,
    private readonly options: RedisReachabilityOptions = {},
  ) {
    this.shown = shownRedisUrl(url);
    this.probeMs = options.probeMs ?? 250;
  }

  /** The outage under way, or undefined while Redis answers (as far as this process knows). */
  get outage(): RedisOutage | undefined {
    return this.current;
  }

  /**
   * An `onError` for Redis connections and the code using them: connection errors are noted here
   * (see the class), every other error goes on to `onError`.
   */
  filter(onError?: (error: Error) => void): (error: Error) => void {
    return (error) => {
      if (isConnectionError(error)) this.failed(error);
      else onError?.(error);
    };
  }

  /** Notes a connection error: the start of an outage, once a fresh connection confirms it. */
  failed(error: Error): void {
    if (this.stopped || this.current !== undefined || this.suspected !== undefined) return;
    this.suspected = { since: Date.now(), error };
    this.probe();
  }

  /**
   * Throws a {@link RedisUnavailableError} saying `outcome` while an outage is under way; for
   * requests that would otherwise wait for Redis to come back.
   */
  check(outcome: string): void {
    const outage = this.current;
    if (outage !== undefined) throw new RedisUnavailableError(this.shown, outage.error.message, Date.now() - outage.since, false, outcome);
  }

  /**
   * `call`'s result, or a {@link RedisUnavailableError} (`timedOut`) saying `outcome` when it has
   * not settled within `timeoutMs`. The call itself is not stopped: ioredis keeps it until Redis
   * answers.
   */
  async within<T>(call: Promise<T>, timeoutMs: number, outcome: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RedisUnavailableError(this.shown, `no reply within ${timeoutMs} ms`, undefined, true, outcome)), timeoutMs);
    });
    try {
      return await Promise.race([call, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops trying Redis; no more hooks are called. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** One PING on a fresh connection: confirms a suspected outage, or ends one. */
  private probe(): void {
    if (this.probing || this.stopped) return;
    this.probing = true;
    void waitForRedis(this.url, { timeoutMs: 0 }).then(
      () => this.answered(),
      () => this.unanswered(),
    );
  }

  private answered(): void {
    this.probing = false;
    if (this.stopped) return;
    // A connection error that a fresh connection does not confirm (one socket reset) is no outage.
    this.suspected = undefined;
    const outage = this.current;
    if (outage === undefined) return;
    this.current = undefined;
    this.options.onReachable?.(Date.now() - outage.since);
  }

  private unanswered(): void {
    this.probing = false;
    if (this.stopped) return;
    if (this.current === undefined && this.suspected !== undefined) {
      this.current = this.suspected;
      this.suspected = undefined;
      this.options.onUnreachable?.(this.current.error);
    }
    this.timer = setTimeout(() => this.probe(), this.probeMs);
    this.timer.unref();
  }
}
