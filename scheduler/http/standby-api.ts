import Fastify, { type FastifyInstance, type FastifyServerFactory } from "fastify";
import { describeHolder, type LeaseHolder } from "../../protocol/redis/scheduler-lease.js";
import { ApiError, errorBodySchema, installErrorReplies, type ErrorBody } from "./api-error.js";
import { PUBLIC_ROUTE } from "./bearer-auth.js";
import { clientErrorReply, frameworkErrorReply } from "./framework-errors.js";
import { MAX_PARAM_LENGTH } from "./http-api.js";
import { installRequestGuards } from "./request-guards.js";

/**
 * What a scheduler that does not hold the scheduler role yet is doing: `starting` (taking the role,
 * or setting up the job queue once it took it), or `standby` (another scheduler holds the role).
 */
export type StandbyState =
  | { readonly phase: "starting" }
  | {
      readonly phase: "standby";
      /** The scheduler holding the role, as last read from its lease; undefined if nobody holds it any more. */
      readonly holder: LeaseHolder | undefined;
      /** False when Redis did not answer the read of the lease (the holder is then the last one seen). */
      readonly redis: boolean;
    };

/** Options of {@link buildStandbyApi}. */
export interface StandbyApiOptions {
  /** The bearer token (the full API's): requests to other routes than health and readiness need it. */
  readonly token: string;
  /** Requests one client may make per minute, as the full API allows (`HttpApiOptions.rateLimitPerMinute`). */
  readonly rateLimitPerMinute?: number;
  /** Where the app is served: an `ApiListener` slot's factory. */
  readonly serverFactory: FastifyServerFactory;
  /** What the scheduler is doing now, asked at each readiness probe and refused request. */
  readonly state: () => Promise<StandbyState>;
  /** The lease's lifetime in ms: how long a standby may wait at most, once the holder is gone (`Retry-After`). */
  readonly leaseTtlMs: number;
  /** Called with errors that became 500 replies. Default: ignored. */
  readonly onError?: (error: Error) => void;
}

/**
 * The HTTP API of a scheduler that does not act (yet): it stands by while another scheduler holds
 * the scheduler role, or it is starting. A probe must still find the process and learn why it does
 * not serve: `GET /v1/health` answers 200 (the process lives), `GET /v1/ready` 503 `standby` (or
 * `starting`) naming the scheduler holding the role, and every other route the same 503 at once,
 * with `Retry-After`, instead of a refused connection or a request that hangs. The bearer token is
 * checked first, as by the full API.
 *
 * @example
 * ```ts
 * const slot = listener.slot();
 * const app = await buildStandbyApi({ token, serverFactory: slot.serverFactory, state: async () => ({ phase: "starting" }), leaseTtlMs: 5_000 });
 * await app.ready();
 * slot.activate();
 * ```
 */
export async function buildStandbyApi(options: StandbyApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    serverFactory: options.serverFactory,
    forceCloseConnections: true,
    // On the server the full API shares later: both apps handle Node's errors (bad HTTP, headers too
    // large), and the first to reply (this one) must reply in the API's error shape.
    clientErrorHandler: clientErrorReply,
    frameworkErrors: frameworkErrorReply(MAX_PARAM_LENGTH),
  });
  app.addSchema(errorBodySchema);
  installErrorReplies(app, options.onError ?? (() => undefined));
  await installRequestGuards(app, { token: options.token, rateLimitPerMinute: options.rateLimitPerMinute });
  const retryAfter = String(Math.max(1, Math.ceil(options.leaseTtlMs / 1000)));

  app.get("/v1/health", { config: PUBLIC_ROUTE }, async () => ({ status: "ok" }));
  const refuse = async () => {
    const body = standbyBody(await options.state());
    throw new ApiError(503, body.error, body.message, body.details);
  };
  app.get("/v1/ready", { config: PUBLIC_ROUTE }, refuse);
  app.setNotFoundHandler(refuse);
  app.addHook("onSend", async (_request, reply, payload) => {
    if (reply.statusCode === 503) void reply.header("retry-after", retryAfter);
    return payload;
  });
  return app;
}

/**
 * The error body of a scheduler that does not act: why, and who holds the role.
 *
 * @example
 * ```ts
 * standbyBody({ phase: "standby", holder, redis: true }).message;
 * // "standing by: scheduler 5f2c on host node-1 (pid 4242, epoch 3) holds the scheduler role; this one takes over when its lease lapses or is released"
 * ```
 */
export function standbyBody(state: StandbyState): ErrorBody {
  if (state.phase === "starting") {
    return { error: "starting", message: "the scheduler is starting (taking the scheduler role, then the job queue); retry in a moment", details: { role: "starting" } };
  }
  const { holder } = state;
  const who =
    holder === undefined
      ? "the scheduler holding the role is gone; this one takes the role over within moments"
      : `scheduler ${holder.id} on host ${holder.host} (pid ${holder.pid}, epoch ${holder.epoch}) holds the scheduler role; ` +
        "this one takes over when its lease lapses or is released";
  const redis = state.redis ? "" : " (Redis does not answer: the holder is the last one seen)";
  return {
    error: "standby",
    message: `standing by: ${who}${redis}; send requests to the scheduler holding the role, or retry later`,
    details: { role: "standby", redis: state.redis, ...(holder === undefined ? {} : { holder: describeHolder(holder) }) },
  };
}
