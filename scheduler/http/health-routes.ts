import type { FastifyInstance } from "fastify";
import type { DistributedScheduler } from "../distributed-scheduler.js";
import { PUBLIC_ROUTE } from "./bearer-auth.js";

/**
 * `GET /v1/health` (the process serves requests) and `GET /v1/ready` (it can run jobs: Redis answers
 * and at least one worker has joined; 503 otherwise). Open without a token, for probes.
 */
export function healthRoutes(app: FastifyInstance, scheduler: DistributedScheduler, pingRedis: () => Promise<void>): void {
  app.get(
    "/v1/health",
    {
      config: PUBLIC_ROUTE,
      schema: {
        summary: "Liveness",
        tags: ["health"],
        security: [],
        response: { 200: { type: "object", properties: { status: { type: "string" } } } },
      },
    },
    async () => ({ status: "ok" }),
  );

  app.get(
    "/v1/ready",
    {
      config: PUBLIC_ROUTE,
      schema: {
        summary: "Readiness: Redis answers and a worker has joined",
        tags: ["health"],
        security: [],
        response: {
          200: { type: "object", properties: { status: { type: "string" }, workers: { type: "integer" } } },
          503: { $ref: "ErrorBody#" },
        },
      },
    },
    async (_request, reply) => {
      const workers = scheduler.workerIds.length;
      let redis = true;
      try {
        await pingRedis();
      } catch {
        redis = false;
      }
      if (!redis || workers === 0) {
        const why = !redis ? "Redis does not answer" : "no worker has joined";
        return reply.code(503).send({ error: "not-ready", message: `not ready: ${why}`, details: { redis, workers } });
      }
      return { status: "ready", workers };
    },
  );
}
