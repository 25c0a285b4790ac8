import { Redis } from "ioredis";

/** Options of {@link waitForRedis}. */
export interface WaitForRedisOptions {
  /** How long to keep trying, in ms; 0 tries once. Default 30,000. */
  readonly timeoutMs?: number;
  /** Called once, at the first failed attempt, when more attempts follow: the place for one log line. Default: none. */
  readonly onFirstFailure?: (error: Error) => void;
}

/** Redis did not answer within the time given, or refused the credentials. */
export class RedisUnreachableError extends Error {
  override readonly name = "RedisUnreachableError";

  constructor(
    /** What the last attempt failed with. */
    readonly reason: Error,
    /** True when Redis answered and refused the user name or password: trying again would not help. */
    readonly refusedCredentials: boolean,
    /** How long it was tried, in ms. */
    readonly waitedMs: number,
    /** True when the TLS certificate Redis presented (`rediss://`) is not trusted here: trying again would not help. */
    readonly untrustedCertificate = false,
  ) {
    super(`Redis ${refusedCredentials ? "refused the credentials" : untrustedCertificate ? "presented an untrusted TLS certificate" : "did not answer"}: ${reason.message}`);
  }
}

/** Node's codes for a TLS certificate that does not verify (unknown CA, self-signed, expired, another host's). */
const UNTRUSTED_CERTIFICATE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;

function isUntrustedCertificate(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return typeof code === "string" && UNTRUSTED_CERTIFICATE.test(code);
}

/** Replies meaning the URL's user name or password is wrong. */
const REFUSED_CREDENTIALS = /^(WRONGPASS|NOAUTH|NOPERM)\b/;

/** Time between attempts, in ms: short at first, for a Redis starting alongside, longer later. */
const RETRY_DELAYS_MS = [100, 250, 500, 1_000];

/**
 * Resolves once the Redis at `url` answers PING, trying again until `timeoutMs` has passed. For
 * start-up: a scheduler or worker refuses to start against a Redis it cannot reach, rather than
 * waiting forever (the connections they then make do ride out later restarts of Redis). Never logs;
 * `onFirstFailure` is called once when the first attempt fails.
 *
 * @throws RedisUnreachableError when the time is up, or at once when Redis refuses the credentials
 * or presents a TLS certificate that does not verify.
 * @example
 * ```ts
 * await waitForRedis("redis://127.0.0.1:6379", { timeoutMs: 30_000, onFirstFailure: (e) => logger.warn("waiting for Redis", { error: e }) });
 * ```
 */
export async function waitForRedis(url: string, options: WaitForRedisOptions = {}): Promise<void> {
  const started = Date.now();
  const deadline = started + (options.timeoutMs ?? 30_000);
  for (let attempt = 0; ; attempt++) {
    // An attempt gets what is left, within reason: long enough to connect at all, short enough to try again.
    const failure = await ping(url, Math.min(Math.max(deadline - Date.now(), 500), 5_000));
    if (failure === undefined) return;
    const refused = REFUSED_CREDENTIALS.test(failure.message);
    const untrusted = isUntrustedCertificate(failure);
    const remaining = deadline - Date.now();
    if (refused || untrusted || remaining <= 0) throw new RedisUnreachableError(failure, refused, Date.now() - started, untrusted);
    if (attempt === 0) options.onFirstFailure?.(failure);
    await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)], remaining)));
  }
}

/**
 * One attempt: connects without retrying, PINGs, disconnects; the error, or undefined on a PONG. The
 * attempt's time limit is a timer of ours. A connection that already ended is not disconnected:
 * ioredis would wait its `disconnectTimeout` for a close that never comes, keeping a failing command
 * alive for seconds after its message.
 */
async function ping(url: string, timeoutMs: number): Promise<Error | undefined> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 0,
    disconnectTimeout: 100,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  // ioredis reports the cause (ECONNREFUSED, WRONGPASS) as an event; the promises only say the connection closed.
  let cause: Error | undefined;
  redis.on("error", (error: Error) => (cause ??= error));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([redis.connect().then(() => redis.ping()), timedOut]);
    return undefined;
  } catch (error) {
    return cause ?? (error as Error);
  } finally {
    clearTimeout(timer);
    if (redis.status !== "end") redis.disconnect();
  }
}
