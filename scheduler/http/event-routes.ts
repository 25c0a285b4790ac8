import type { FastifyInstance } from "fastify";
import { UnknownJobError } from "../job-service.js";
import { ApiError } from "./api-error.js";
import type { JobEventSelection, JobEventStreams } from "./job-event-streams.js";
import { needsRedis } from "./redis-gate.js";
import { jobIdParamsSchema } from "./schemas.js";

/**
 * `GET /v1/jobs/:id/events`: the job's live events as Server-Sent Events. Each event's name is its
 * type (`progress`, `task-finished`, `task-erred`, `done`) and its data the event as JSON. The stream
 * ends after `done`; a job that already ended gets its last progress and `done` at once. Progress is
 * coalesced (at most about 10 a second) and events are sent in batches; see {@link JobEventStreams}
 * for what a subscriber that does not read is allowed.
 */
export function eventRoutes(app: FastifyInstance, streams: JobEventStreams): void {
  app.get<{ Params: { id: string }; Querystring: { events: JobEventSelection } }>(
    "/v1/jobs/:id/events",
    {
      schema: {
        summary: "A job's live events (Server-Sent Events)",
        description:
          "event: progress (task counts, at most about 10 a second, and the last one as the job ends), task-finished {key, worker, durationMs}, " +
          "task-erred {key, worker, error}, done {state, error?}. Events are sent in batches, at least every 100 ms. " +
          "?events=progress sends progress and done alone.",
        tags: ["jobs"],
        params: jobIdParamsSchema,
        querystring: {
          type: "object",
          properties: {
            events: {
              type: "string",
              enum: ["all", "progress"],
              default: "all",
              description: "all: every event; progress: progress and done alone (for progress bars: nothing per task)",
            },
          },
        },
        produces: ["text/event-stream"],
      },
      config: needsRedis("the job's state is in Redis, which this request needs", true),
    },
    async (request, reply) => {
      const { id } = request.params;
      let attach: Awaited<ReturnType<JobEventStreams["open"]>>;
      try {
        attach = await streams.open(id, request.query.events);
      } catch (error) {
        if (error instanceof UnknownJobError) throw new ApiError(404, "job-not-found", error.message, { id });
        throw error;
      }
      reply.hijack();
      attach(reply.raw);
    },
  );
}
