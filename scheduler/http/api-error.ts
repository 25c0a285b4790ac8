import type { FastifyError, FastifyInstance } from "fastify";
import { GraphError } from "../../graph/graph-error.js";
import { RedisUnavailableError } from "../../protocol/redis/redis-reachability.js";

/** The body of every error reply. */
export interface ErrorBody {
  /** A stable code programs can switch on, such as `cycle` or `unauthorized`. */
  readonly error: string;
  /** What is wrong, for people. */
  readonly message: string;
  /** Facts a program may need: the keys of a cycle, the failing task, the schema issues... */
  readonly details: Record<string, unknown>;
}

/** An error a route replies with as it is: a status and an {@link ErrorBody}. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** JSON schema of {@link ErrorBody}, for the OpenAPI document. */
export const errorBodySchema = {
  $id: "ErrorBody",
  type: "object",
  required: ["error", "message", "details"],
  properties: {
    error: { type: "string" },
    message: { type: "string" },
    details: { type: "object", additionalProperties: true },
  },
} as const;

/**
 * Maps every error to a JSON {@link ErrorBody} with a status that names what is wrong: graph errors
 * (cycle, missing dependency, unknown function...) are 400 with their keys, a key known with another
 * computation 409; Redis not answering 503 `redis-unreachable`; schema violations 400
 * with the issues; too-large bodies 413; unsupported content types 415; prototype poisoning 400.
 * Anything else is a 500 whose details stay in the log (`onServerError`). Unknown routes, and the
 * errors fastify and Node reply to before a route runs, are in framework-errors.ts.
 */
export function installErrorReplies(app: FastifyInstance, onServerError: (error: Error) => void): void {
  app.setErrorHandler((error: FastifyError | ApiError | GraphError | Error, _request, reply) => {
    const { status, body } = errorReply(error);
    // 503 is a state the scheduler already says otherwise (standing by, Redis down, no workers), not a fault.
    if (status >= 500 && status !== 503) onServerError(error);
    if (status === 401) void reply.header("www-authenticate", "Bearer");
    void reply.code(status).type("application/json").send(body);
  });
}

/** The status and body for an error. */
export function errorReply(error: Error): { status: number; body: ErrorBody } {
  if (error instanceof ApiError) return { status: error.statusCode, body: { error: error.code, message: error.message, details: error.details } };
  if (error instanceof RedisUnavailableError) {
    const details = { redis: error.redis, reason: error.reason, timedOut: error.timedOut, ...(error.downMs === undefined ? {} : { downMs: error.downMs }) };
    return { status: 503, body: { error: "redis-unreachable", message: error.message, details } };
  }
  if (error instanceof GraphError) {
    // A key already known with another computation conflicts with the scheduler's state, not the request's form.
    const status = error.code === "conflicting-spec" ? 409 : 400;
    const details = error.fn === undefined ? { keys: error.keys } : { keys: error.keys, function: error.fn };
    return { status, body: { error: error.code, message: error.message, details } };
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation !== undefined) {
    const issues = fastifyError.validation.map((issue) => ({ path: issue.instancePath, message: issue.message, params: issue.params }));
    const where = fastifyError.validationContext ?? "body";
    // Ajv's message for an unknown property does not say which one.
    const unknown = issues.map((issue) => issue.params.additionalProperty).filter((name) => typeof name === "string");
    const named = unknown.length === 0 ? "" : ` (${unknown.map((name) => `"${name}"`).join(", ")})`;
    return { status: 400, body: { error: `invalid-${where}`, message: `${where} is invalid: ${fastifyError.message}${named}`, details: { issues } } };
  }
  switch (fastifyError.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return { status: 413, body: { error: "body-too-large", message: fastifyError.message, details: {} } };
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return {
        status: 415,
        body: {
          error: "unsupported-content-type",
          message: `${fastifyError.message}; send application/json or application/msgpack`,
          details: { accepted: ["application/json", "application/msgpack"] },
        },
      };
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return { status: 400, body: { error: "empty-body", message: fastifyError.message, details: {} } };
  }
  const status = fastifyError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    const code = error instanceof SyntaxError ? "invalid-json" : "bad-request";
    return { status, body: { error: code, message: error.message, details: {} } };
  }
  return { status: 500, body: { error: "internal-error", message: "the scheduler failed to handle the request; see its log", details: {} } };
}
