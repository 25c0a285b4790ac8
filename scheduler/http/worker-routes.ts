import type { FastifyInstance } from "fastify";
import type { DistributedScheduler } from "../distributed-scheduler.js";
import { needsRedis } from "./redis-gate.js";
import { workersReplySchema } from "./schemas.js";

/** `GET /v1/workers`: the workers that joined, with their threads, queued and running tasks, and memory held. */
export function workerRoutes(app: FastifyInstance, scheduler: DistributedScheduler): void {
  app.get(
    "/v1/workers",
    {
      schema: {
        summary: "List workers",
        description:
          "Workers that joined: threads, tasks queued for them and not started, tasks running, results and bytes held.",
        tags: ["workers"],
        response: { 200: workersReplySchema, 401: { $ref: "ErrorBody#" }, 503: { $ref: "ErrorBody#" } },
      },
      config: needsRedis("the workers' queues are in Redis, which this listing reads"),
    },
    async () => ({ workers: await scheduler.workers() }),
  );
}
