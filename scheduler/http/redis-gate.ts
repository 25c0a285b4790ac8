import type { FastifyInstance } from "fastify";

/**
 * What the HTTP API asks of Redis's reachability (a `RedisReachability` is one, with a check of the
 * connections added by the scheduler process).
 */
export interface RedisGuard {
  /** Throws the error to reply with (a `RedisUnavailableError`, 503) saying `outcome` while Redis does not answer. */
  check(outcome: string): void;
  /** `call`'s result, or a `RedisUnavailableError` (503) saying `outcome` when it has not settled within `timeoutMs`. */
  within<T>(call: Promise<T>, timeoutMs: number, outcome: string): Promise<T>;
}

/** A {@link RedisGuard} that never refuses and waits as long as a call takes: for an API built without one. */
export const UNGUARDED: RedisGuard = { check: () => undefined, within: (call) => call };

/** What a route needs of Redis, in its `config` (see {@link needsRedis}). */
export interface RedisNeed {
  /** What a refusal means for the request, for people: `the job was not submitted`, say. */
  readonly outcome: string;
  /** True when the route needs Redis only for jobs this scheduler does not know in memory (`:id`). */
  readonly unlessJobKnown: boolean;
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** The route reads or writes Redis; see {@link needsRedis}. */
    redis?: RedisNeed;
  }
}

/**
 * A route's `config` saying it needs Redis to answer: while Redis is known not to, the request is
 * refused at once with 503 `redis-unreachable` saying `outcome`, instead of waiting for Redis to
 * come back. With `unlessJobKnown`, a request about a job this scheduler runs or recently ended
 * (its `:id` known in memory) is served anyway: its status and result are here.
 *
 * @example
 * ```ts
 * app.post("/v1/jobs", { config: needsRedis("the job was not submitted"), schema }, handler);
 * ```
 */
export function needsRedis(outcome: string, unlessJobKnown = false): { readonly redis: RedisNeed } {
  return { redis: { outcome, unlessJobKnown } };
}

/**
 * Refuses requests to routes that {@link needsRedis} while Redis does not answer (the guard's `check`
 * throws the error to reply with, a `RedisUnavailableError`: 503). Runs as an `onRequest` hook after
 * the bearer token's (a request without a valid token learns nothing), before the body is read.
 *
 * @example
 * ```ts
 * installRedisGate(app, reachability, (id) => jobs.knows(id));
 * ```
 */
export function installRedisGate(app: FastifyInstance, guard: RedisGuard, knowsJob: (id: string) => boolean): void {
  app.addHook("onRequest", async (request) => {
    const need = request.routeOptions.config?.redis;
    if (need === undefined) return;
    if (need.unlessJobKnown) {
      const id = (request.params as { id?: unknown } | undefined)?.id;
      if (typeof id === "string" && knowsJob(id)) return;
    }
    guard.check(need.outcome);
  });
}
