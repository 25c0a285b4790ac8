/**
 * How requests to the scheduler's HTTP API ride out a scheduler restart: connection failures (and
 * the 503 of a scheduler that cannot serve yet) are tried again with backoff, for a bounded time,
 * then end in a {@link SchedulerUnreachableError} saying how long the scheduler was tried.
 */

/** Default `reconnectTimeoutMs` of the HTTP transport and of `Client.connect`: 30 s, about a scheduler's restart and takeover. */
export const DEFAULT_RECONNECT_TIMEOUT_MS = 30_000;

/** First pause between tries, in ms; it doubles at each failure, up to {@link MAX_BACKOFF_MS}. */
const FIRST_BACKOFF_MS = 100;
/** Longest pause between tries, in ms. */
const MAX_BACKOFF_MS = 2_000;

/** Connect timeouts, as Node's sockets and undici (behind `fetch`) name them. */
const TIMEOUT_CODES = new Set(["ETIMEDOUT", "UND_ERR_CONNECT_TIMEOUT"]);

/**
 * The code of the network error behind a failed `fetch` ("fetch failed" says nothing): undici puts
 * the socket's error in `cause`, an `AggregateError` when several addresses were tried.
 *
 * @example
 * ```ts
 * await fetch("http://127.0.0.1:9/").catch(networkReason); // "ECONNREFUSED"
 * ```
 */
export function networkReason(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause ?? error;
  const first = cause instanceof AggregateError ? (cause.errors[0] as unknown) : undefined;
  const code = (cause as { code?: unknown }).code ?? (first as { code?: unknown } | undefined)?.code;
  if (typeof code === "string" && code !== "") return TIMEOUT_CODES.has(code) ? "timeout" : code;
  return (cause as Error).message ?? String(cause);
}

/**
 * The scheduler's HTTP API could not be reached: nothing listens there, the host name does not
 * resolve, the connection timed out or broke. The message names the URL and the network error's
 * code, and, when the request was tried again for a while (`reconnectTimeoutMs`), for how long:
 * `cannot reach the weft scheduler at http://127.0.0.1:8786: ECONNREFUSED; tried for 30.0 s (reconnectTimeoutMs)`.
 *
 * @example
 * ```ts
 * await Client.connect("http://127.0.0.1:9", { token }).catch((e) => e instanceof SchedulerUnreachableError && e.reason); // "ECONNREFUSED"
 * ```
 */
export class SchedulerUnreachableError extends Error {
  override readonly name = "SchedulerUnreachableError";
  /**
   * Why: the network error's code (`ECONNREFUSED`, `ENOTFOUND`, `ECONNRESET`, …), `timeout` when
   * connecting timed out, or the error's message when it has no code.
   */
  readonly reason: string;

  constructor(
    /** The API's base URL. */
    readonly url: string,
    cause: unknown,
    /** How long the request was tried again, in ms; undefined when it was not. */
    readonly triedMs?: number,
  ) {
    const reason = networkReason(cause);
    const tried = triedMs === undefined ? "" : `; tried for ${(triedMs / 1000).toFixed(1)} s (reconnectTimeoutMs)`;
    super(`cannot reach the weft scheduler at ${url}: ${reason}${tried}`, { cause });
    this.reason = reason;
  }
}

/**
 * True for the failure of a `fetch` (or of reading its body) that the network caused: refused,
 * reset, closed mid-reply, timed out, unresolved. Not for an abort by the caller's signal.
 *
 * @example
 * ```ts
 * await fetch("http://127.0.0.1:9/").catch(isConnectionFailure); // true
 * ```
 */
export function isConnectionFailure(error: unknown): boolean {
  if (!(error instanceof Error) || error.name === "AbortError") return false;
  // undici: "fetch failed" before the reply, "terminated" when the body breaks off; both TypeErrors with a cause.
  return error instanceof TypeError && (error.message === "fetch failed" || error.message === "terminated");
}

/**
 * True when nothing reached the scheduler: the connection was refused, so a request may be sent
 * again whatever it does.
 *
 * @example
 * ```ts
 * await fetch("http://127.0.0.1:9/", { method: "POST" }).catch(wasRefused); // true: nothing was sent
 * ```
 */
export function wasRefused(error: unknown): boolean {
  return networkReason(error) === "ECONNREFUSED";
}

/**
 * The time one logical request (a submission, a wait for a result, an event stream) may spend trying
 * to reach the scheduler again: it starts at the first failure, restarts with every answer, and ends
 * after `timeoutMs` of failures in a row. Pauses between tries double from 100 ms to 2 s, with jitter.
 *
 * @example
 * ```ts
 * const reconnection = new Reconnection(base, 30_000, signal);
 * for (;;) {
 *   try { return await fetch(url); } catch (error) { await reconnection.pause(error); } // throws once the time is up
 * }
 * ```
 */
export class Reconnection {
  private since: number | undefined;
  private failures = 0;

  constructor(
    private readonly url: string,
    /** 0: no second try (the first failure is thrown). */
    private readonly timeoutMs: number,
    private readonly signal?: AbortSignal,
  ) {}

  /** The scheduler answered: the next failure starts a new period. */
  answered(): void {
    this.since = undefined;
    this.failures = 0;
  }

  /**
   * Waits before the next try, after the failure `cause`. Once `timeoutMs` has passed since the
   * first failure in a row, throws instead: `cause` itself when it is an error reply of the API (a
   * 503 that lasted), else a {@link SchedulerUnreachableError} saying for how long it was tried.
   * Rejects with the signal's reason when it aborts.
   */
  async pause(cause: unknown): Promise<void> {
    const now = Date.now();
    this.since ??= now;
    const tried = now - this.since;
    if (tried >= this.timeoutMs) throw this.giveUp(cause, tried);
    const backoff = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** this.failures++);
    const delay = Math.min(backoff * (0.5 + Math.random() / 2), this.timeoutMs - tried);
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.signal?.removeEventListener("abort", aborted);
        resolve();
      };
      const aborted = () => {
        clearTimeout(timer);
        reject(this.signal!.reason);
      };
      const timer = setTimeout(done, delay);
      if (this.signal?.aborted === true) aborted();
      else this.signal?.addEventListener("abort", aborted, { once: true });
    });
  }

  /**
   * The error to throw when no more tries are allowed: `cause` itself for an error reply, else a
   * {@link SchedulerUnreachableError}, saying for how long it was tried (`triedMs`) when it was.
   */
  giveUp(cause: unknown, triedMs?: number): Error {
    if (cause instanceof Error && cause.name === "HttpApiError") return cause;
    return new SchedulerUnreachableError(this.url, cause, this.timeoutMs > 0 ? triedMs : undefined);
  }
}
