import type { FastifyInstance } from "fastify";
import type { DistributedScheduler } from "../distributed-scheduler.js";
import { PUBLIC_ROUTE } from "./bearer-auth.js";

/**
 * `GET /v1/health` (the process serves requests) and `GET /v1/ready` (it can run jobs: Redis answers
 * and at least one worker has joined; 503 otherwise, saying which). Open without a token, for probes.
 * `pingRedis` must reject within a bound of its own: a probe is answered, never left waiting for Redis.
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
      let failure: Error | undefined;
      try {
        await pingRedis();
      } catch (error) {
        failure = error as Error;
      }
      const redis = failure === undefined;
      if (!redis || workers === 0) {
        // A RedisUnavailableError says where Redis is, and since when it does not answer.
        const why = failure === undefined ? "no worker has joined" : failure.name === "RedisUnavailableError" ? failure.message : `Redis does not answer (${failure.message})`;
        return reply.code(503).send({ error: "not-ready", message: `not ready: ${why}`, details: { redis, workers } });
      }
      return { status: "ready", workers };
    },
  );
}
