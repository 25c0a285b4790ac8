import type { FastifyInstance, FastifyReply } from "fastify";
import { decodeWireGraph, type WireGraph } from "../../graph/wire-graph.js";
import { newJobId } from "../../protocol/ids.js";
import type { JobOptions } from "../../protocol/job-api.js";
import type { JobOutcome, JobService } from "../job-service.js";
import { UnknownJobError } from "../job-service.js";
import type { DataRoots } from "../../protocol/data-roots.js";
import { ApiError } from "./api-error.js";
import { checkFileAccess } from "./file-access.js";
import { needsRedis, type RedisGuard } from "./redis-gate.js";
import { chooseResultFormat, renderResult, type ResultFormat } from "./result-formats.js";
import { jobIdParamsSchema, jobStatusSchema, resultQuerySchema, submitBodySchema, submitQuerySchema, submitReplySchema } from "./schemas.js";

/** Limits on what one submission may hold. */
export interface JobLimits {
  /** Longest a submission waits for Redis to record its job, in ms (see `HttpApiOptions.redisTimeoutMs`). */
  readonly redisTimeoutMs: number;
  /** Bounds that wait. */
  readonly redis: RedisGuard;
  /** Most tasks in one graph. */
  readonly maxTasks: number;
  /** Largest result sent as JSON, in bytes; larger ones get 406 (see `RenderLimits`). */
  readonly maxJsonResultBytes: number;
  /** The directories built-in file tasks may touch (see `file-access.ts`); undefined: none. */
  readonly dataRoots: DataRoots | undefined;
}

interface SubmitBody extends WireGraph, JobOptions {}

const errorReplies = { 400: { $ref: "ErrorBody#" }, 401: { $ref: "ErrorBody#" }, 404: { $ref: "ErrorBody#" } };
const forbidden = { 403: { $ref: "ErrorBody#" } };
const unavailable = { 503: { $ref: "ErrorBody#" } };
/** A request about one job needs Redis only when the job is not known here (running, or recently ended). */
const readsJob = needsRedis("the job's state is in Redis, which this request needs", true);

/**
 * `/v1/jobs`: submit a graph, read a job's status and result, cancel it. A route checks only the
 * request's schema and size; `JobService.submit` checks the graph itself, before anything is queued
 * (a cycle, a missing dependency or a function no worker registered is a 400 naming the keys, a key
 * known with another computation a 409), and nothing runs. A built-in file task whose path is outside
 * the data roots is a 403 (`file-access.ts`).
 */
export function jobRoutes(app: FastifyInstance, jobs: JobService, limits: JobLimits): void {
  app.post<{ Body: SubmitBody; Querystring: { wait: number; format?: ResultFormat } }>(
    "/v1/jobs",
    {
      schema: {
        summary: "Submit a graph",
        description:
          "Validates the graph (JSON or MessagePack, see docs/graph-format.md) and queues it as a durable job: 201 with its id. " +
          "With ?wait=MS, waits up to MS for the job to end and replies as GET /v1/jobs/{id}/result would (200 with the result, " +
          "409 on failure), or 201 if it has not ended; the Location header names the job either way. A body with an id the " +
          "scheduler already knows creates no second job: the reply names that job (a submission whose reply was lost can be " +
          "sent again). 503 redis-unreachable while Redis does not answer.",
        tags: ["jobs"],
        body: submitBodySchema,
        querystring: submitQuerySchema,
        response: {
          201: submitReplySchema,
          ...errorReplies,
          ...forbidden,
          406: { $ref: "ErrorBody#" },
          409: { $ref: "ErrorBody#" },
          413: { $ref: "ErrorBody#" },
          415: { $ref: "ErrorBody#" },
          ...unavailable,
        },
      },
      config: needsRedis("the job was not submitted"),
    },
    async (request, reply) => {
      const body = request.body;
      const size = Object.keys(body.tasks).length;
      if (size > limits.maxTasks) {
        throw new ApiError(413, "graph-too-large", `the graph has ${size} tasks; at most ${limits.maxTasks} are accepted`, {
          tasks: size,
          maxTasks: limits.maxTasks,
        });
      }
      const { graph, outputs } = decodeWireGraph(body);
      checkFileAccess(graph, limits.dataRoots);
      // Chosen here, so that a reply saying Redis did not answer in time can name it.
      const chosen = body.id ?? newJobId();
      const submitted = jobs.submit(graph, outputs, {
        id: chosen,
        keep: body.keep === true,
        taskTimeoutMs: body.taskTimeoutMs,
        noWorkersTimeoutMs: body.noWorkersTimeoutMs,
        clientGoneMs: body.clientGoneMs,
      });
      const id = await limits.redis.within(
        submitted,
        limits.redisTimeoutMs,
        `job ${chosen} may still be recorded once Redis answers: ask GET /v1/jobs/${chosen}, or submit again with "id": "${chosen}" (no second job is made)`,
      );
      void reply.header("location", `/v1/jobs/${id}`);
      const { wait, format } = request.query;
      if (wait > 0) {
        // Submit and wait: the result in the same reply when the job ends in time.
        const outcome = await jobs.outcome(id, wait);
        if (outcome !== undefined) return sendOutcome(reply, id, outcome, undefined, chooseResultFormat(format, request.headers.accept), limits);
      }
      return reply.code(201).type("application/json").send({ id, state: "waiting", tasks: size, outputs });
    },
  );

  app.get<{ Params: { id: string } }>(
    "/v1/jobs/:id",
    {
      schema: {
        summary: "A job's status",
        description: "State, task counts per state (for jobs this scheduler runs or ran), and times in Unix ms.",
        tags: ["jobs"],
        params: jobIdParamsSchema,
        response: { 200: jobStatusSchema, ...errorReplies, ...unavailable },
      },
      config: readsJob,
    },
    async (request) => {
      const status = await jobs.status(request.params.id);
      if (status === undefined) throw notFound(request.params.id);
      return status;
    },
  );

  app.get<{ Params: { id: string }; Querystring: { wait: number; key?: string; format?: ResultFormat } }>(
    "/v1/jobs/:id/result",
    {
      schema: {
        summary: "A job's result",
        description:
          "The outputs' values as an object keyed by output (or one output's value with ?key=). MessagePack by default; " +
          "JSON with Accept: application/json or ?format=json; Arrow IPC stream for a table. 202 while the job runs, " +
          "409 when it failed (with the task's key and remote stack) or was cancelled.",
        tags: ["jobs"],
        params: jobIdParamsSchema,
        querystring: resultQuerySchema,
        response: { ...errorReplies, 406: { $ref: "ErrorBody#" }, 409: { $ref: "ErrorBody#" }, ...unavailable },
      },
      config: readsJob,
    },
    async (request, reply) => {
      const { id } = request.params;
      const { wait, key, format } = request.query;
      const chosen = chooseResultFormat(format, request.headers.accept);
      let outcome: JobOutcome | undefined;
      try {
        outcome = await jobs.outcome(id, wait);
      } catch (error) {
        if (error instanceof UnknownJobError) throw notFound(id);
        throw error;
      }
      if (outcome === undefined) {
        const status = await jobs.status(id);
        return reply.code(202).send({ id, state: status?.state ?? "waiting" });
      }
      return sendOutcome(reply, id, outcome, key, chosen, limits);
    },
  );

  app.delete<{ Params: { id: string } }>(
    "/v1/jobs/:id",
    {
      schema: {
        summary: "Cancel a job",
        description:
          "A queued job is removed; a running one stops (tasks no other job needs are cancelled); a finished job " +
          "submitted with keep has its held results released. 409 when the job already ended with nothing held.",
        tags: ["jobs"],
        params: jobIdParamsSchema,
        response: { ...errorReplies, 409: { $ref: "ErrorBody#" }, ...unavailable },
      },
      config: readsJob,
    },
    async (request) => {
      const { id } = request.params;
      if (await jobs.cancel(id)) return { id, cancelled: true };
      const status = await jobs.status(id);
      if (status === undefined) throw notFound(id);
      throw new ApiError(409, "job-ended", `job ${id} already ended (${status.state}) and holds no results`, { id, state: status.state });
    },
  );
}

/** Replies with an ended job's result (200), or its failure (409). */
function sendOutcome(reply: FastifyReply, id: string, outcome: JobOutcome, key: string | undefined, format: ResultFormat, limits: JobLimits): FastifyReply {
  if (outcome.state !== "completed") {
    const { failure } = outcome;
    const code = outcome.state === "cancelled" ? "job-cancelled" : failure.error;
    const details: Record<string, unknown> = { id, state: outcome.state };
    if (failure.key !== undefined) details.key = failure.key;
    if (failure.task !== undefined) details.task = failure.task;
    throw new ApiError(409, code, failure.message, details);
  }
  const rendered = renderResult(selectValue(outcome, key, format), format, { maxJsonBytes: limits.maxJsonResultBytes });
  return reply.code(200).type(rendered.contentType).send(rendered.body);
}

function notFound(id: string): ApiError {
  return new ApiError(404, "job-not-found", `no job "${id}" (never submitted, or removed after its retention time)`, { id });
}

/** The object of all outputs by key, or one output's value. Arrow needs a single value. */
function selectValue(outcome: Extract<JobOutcome, { state: "completed" }>, key: string | undefined, format: ResultFormat): unknown {
  const { outputs, values } = outcome;
  if (key !== undefined) {
    const at = outputs.indexOf(key);
    if (at < 0) throw new ApiError(400, "unknown-output", `"${key}" is not an output of this job`, { key, outputs });
    return values[at];
  }
  if (format === "arrow") {
    if (outputs.length === 1) return values[0];
    throw new ApiError(400, "key-required", "Arrow IPC carries one table: name the output with ?key=", { outputs });
  }
  const byKey: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  outputs.forEach((output, i) => (byKey[output] = values[i]));
  return byKey;
}
