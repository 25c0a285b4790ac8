import type { FastifyInstance } from "fastify";
import type { JobService } from "../job-service.js";
import { needsRedis } from "./redis-gate.js";
import { jobListQuerySchema, jobPageSchema, type JobListQueryString } from "./schemas.js";

/**
 * `GET /v1/jobs`: the jobs, newest first by submission, a page at a time; `?state=` keeps those in
 * the states named (repeated for several), `?limit=` sets the page size, `?cursor=` (a page's `next`)
 * continues after the last job of that page. See `listJobs` for where the jobs come from.
 */
export function jobListRoute(app: FastifyInstance, jobs: JobService): void {
  app.get<{ Querystring: JobListQueryString }>(
    "/v1/jobs",
    {
      schema: {
        summary: "List jobs",
        description:
          "Jobs newest first (by submission): those the scheduler runs or recently ended, and those the durable queue " +
          "keeps (until its retention time). Filter with ?state= (repeat for several), page with ?limit= and ?cursor= " +
          "(the previous page's next). Each job as its status, without its outputs.",
        tags: ["jobs"],
        querystring: jobListQuerySchema,
        response: { 200: jobPageSchema, 400: { $ref: "ErrorBody#" }, 401: { $ref: "ErrorBody#" }, 503: { $ref: "ErrorBody#" } },
      },
      config: needsRedis("the durable queue's jobs are in Redis, which a listing reads"),
    },
    async (request) => {
      const { state, limit, cursor } = request.query;
      return jobs.list({ states: state, limit, cursor });
    },
  );
}
