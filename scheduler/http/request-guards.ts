import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance } from "fastify";
import { createHash } from "node:crypto";
import { ApiError } from "./api-error.js";
import { installBearerAuth } from "./bearer-auth.js";

/** Default {@link RequestGuardOptions.rateLimitPerMinute}. */
export const DEFAULT_RATE_LIMIT = 60_000;

/** Options of {@link installRequestGuards}. */
export interface RequestGuardOptions {
  /** The bearer token every request but the public routes must present. Required. */
  readonly token: string;
  /**
   * Requests one client may make per minute; a client is its token and address. Default
   * {@link DEFAULT_RATE_LIMIT} (60,000, about 1,000 per second: a flood is stopped, a busy client is not).
   */
  readonly rateLimitPerMinute?: number;
  /** Path prefixes open without a token besides the routes marked public (the docs page). Default: none. */
  readonly publicPrefixes?: readonly string[];
}

/**
 * What every request meets first, on the full API and on a standby's alike: a per-client rate limit
 * (429 `rate-limited`), then the bearer token (401), so that guessing tokens is rate-limited too.
 *
 * @example
 * ```ts
 * await installRequestGuards(app, { token, rateLimitPerMinute: 600 });
 * ```
 */
export async function installRequestGuards(app: FastifyInstance, options: RequestGuardOptions): Promise<void> {
  await app.register(rateLimit, {
    max: options.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT,
    timeWindow: 60_000,
    // The token (hashed, never kept in clear) and the address: clients sharing a NAT stay apart by token.
    keyGenerator: (request) => {
      const auth = request.headers.authorization ?? "";
      return `${request.ip}|${createHash("sha256").update(auth).digest("base64url").slice(0, 16)}`;
    },
    errorResponseBuilder: (_request, context) =>
      new ApiError(429, "rate-limited", `more than ${context.max} requests in ${context.after}; retry later`, {
        max: context.max,
        retryAfter: context.after,
      }),
  });
  // After the rate limit, so that guessing tokens is rate-limited too.
  installBearerAuth(app, options.token, options.publicPrefixes ?? []);
}
