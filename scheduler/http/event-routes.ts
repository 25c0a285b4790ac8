import type { FastifyInstance } from "fastify";
import type { JobEvent } from "../../protocol/job-api.js";
import type { JobService } from "../job-service.js";
import { UnknownJobError } from "../job-service.js";
import { ApiError } from "./api-error.js";
import { jobIdParamsSchema } from "./schemas.js";

/** How often an idle event stream sends a comment, so proxies do not close it. */
const KEEP_ALIVE_MS = 15_000;

/**
 * `GET /v1/jobs/:id/events`: the job's live events as Server-Sent Events. Each event's name is its
 * type (`progress`, `task-finished`, `task-erred`, `done`) and its data the event as JSON. The stream
 * ends after `done`; a job that already ended gets its last progress and `done` at once.
 */
export function eventRoutes(app: FastifyInstance, jobs: JobService): void {
  app.get<{ Params: { id: string } }>(
    "/v1/jobs/:id/events",
    {
      schema: {
        summary: "A job's live events (Server-Sent Events)",
        description:
          "event: progress (task counts), task-finished {key, worker, durationMs}, task-erred {key, worker, error}, done {state, error?}.",
        tags: ["jobs"],
        params: jobIdParamsSchema,
        produces: ["text/event-stream"],
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const buffered: JobEvent[] = [];
      let write: (event: JobEvent) => void = (event) => buffered.push(event);
      let stop: () => void;
      try {
        stop = await jobs.subscribe(id, (event) => write(event));
      } catch (error) {
        if (error instanceof UnknownJobError) throw new ApiError(404, "job-not-found", error.message, { id });
        throw error;
      }
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        connection: "keep-alive",
        "x-accel-buffering": "no",
      });
      const keepAlive = setInterval(() => raw.write(": keep-alive\n\n"), KEEP_ALIVE_MS);
      const close = () => {
        clearInterval(keepAlive);
        stop();
        if (!raw.writableEnded) raw.end();
      };
      write = (event) => {
        if (raw.writableEnded) return;
        raw.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
        if (event.type === "done") close();
      };
      request.raw.on("close", close);
      for (const event of buffered.splice(0)) write(event);
    },
  );
}
