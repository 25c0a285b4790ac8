import type { FastifyInstance } from "fastify";
import type { DistributedScheduler } from "../distributed-scheduler.js";
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
        response: { 200: workersReplySchema, 401: { $ref: "ErrorBody#" } },
      },
    },
    async () => {
      const details = scheduler.workerDetails();
      const queued = await scheduler.queuedOnWorkers(details.map((worker) => worker.id));
      return {
        workers: details.map((worker, i) => ({
          id: worker.id,
          nthreads: worker.nthreads,
          queued: Math.min(queued[i], worker.processing),
          running: Math.max(0, worker.processing - queued[i]),
          results: worker.results,
          memoryBytes: worker.nbytes,
          address: worker.registered?.dataAddress ?? "",
          pid: worker.registered?.pid ?? 0,
          functions: worker.registered?.functions?.length ?? 0,
        })),
      };
    },
  );
}
