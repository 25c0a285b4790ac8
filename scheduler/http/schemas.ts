/**
 * JSON schemas of the HTTP API's bodies, parameters and replies. Fastify validates requests
 * against them (JSON and MessagePack bodies alike) and the OpenAPI document is generated from them.
 */
import { MAX_USER_PRIORITY, MIN_USER_PRIORITY } from "../../graph/task-spec.js";
import { JOB_STATES } from "../../protocol/job-api.js";
import { DEFAULT_JOB_PAGE, MAX_JOB_PAGE } from "../job-listing.js";

/** A task key: non-empty, no control characters, and never `__proto__`. */
export const keySchema = {
  type: "string",
  minLength: 1,
  maxLength: 1024,
  pattern: "^[^\\u0000-\\u001f]+$",
  not: { const: "__proto__" },
} as const;

/** One task of a submitted graph (see docs/graph-format.md). */
export const wireTaskSchema = {
  type: "object",
  required: ["fn"],
  additionalProperties: false,
  properties: {
    fn: { type: "string", minLength: 1, maxLength: 256, description: "Name of a function registered on the workers" },
    args: { type: "array", description: "Arguments: JSON values; {\"$ref\": key} for another task's result (see docs/graph-format.md)" },
    retries: { type: "integer", minimum: 0, maximum: 100, default: 0 },
    priority: {
      type: "integer",
      minimum: MIN_USER_PRIORITY,
      maximum: MAX_USER_PRIORITY,
      default: 0,
      description: "Higher runs earlier among ready tasks; the range is what a worker's queue orders exactly",
    },
    timeoutMs: {
      type: "integer",
      minimum: 1,
      maximum: 2147483647,
      description: "Longest the task may run, in ms: then it fails with a TaskTimeoutError and its worker thread is replaced. Default: the job's taskTimeoutMs, else none",
    },
  },
} as const;

/** A job id a client may choose (`POST /v1/jobs` `id`): as the scheduler's own ids are made, not all digits (BullMQ's rule). */
export const jobIdSchema = { type: "string", minLength: 1, maxLength: 128, pattern: "^(?![0-9]+$)[A-Za-z0-9_-]+$" } as const;

/** `POST /v1/jobs` body. */
export const submitBodySchema = {
  type: "object",
  required: ["tasks", "outputs"],
  additionalProperties: false,
  properties: {
    tasks: {
      type: "object",
      description: "The graph: task key to task",
      propertyNames: keySchema,
      additionalProperties: wireTaskSchema,
    },
    outputs: { type: "array", minItems: 1, maxItems: 100000, items: keySchema, description: "Keys whose results the job returns" },
    id: {
      ...jobIdSchema,
      description:
        "The job's id, chosen by the client: a submission with an id the scheduler already knows creates no second job and " +
        "replies with that one, so a submission whose reply was lost can be sent again. Letters, digits, - and _, not all " +
        "digits. Default: a fresh id",
    },
    keep: {
      type: "boolean",
      default: false,
      description: "Keep the outputs' results on the workers after the job, for later graphs to read, until DELETE /v1/jobs/{id}",
    },
    taskTimeoutMs: {
      type: "integer",
      minimum: 1,
      maximum: 2147483647,
      description: "Timeout of every task without its own timeoutMs, in ms. Default: none",
    },
    noWorkersTimeoutMs: {
      type: "integer",
      minimum: 1,
      maximum: 2147483647,
      description: "Fail the job (no-workers) once it has waited this long, in ms, with no worker able to run its tasks. Default: it waits",
    },
    clientGoneMs: {
      type: "integer",
      minimum: 1,
      maximum: 2147483647,
      description:
        "Cancel the job once no client has waited for its result or followed its events for this long, in ms: its program is gone. Default: it runs to its end",
    },
  },
} as const;

export const jobIdParamsSchema = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", minLength: 1, maxLength: 128, pattern: "^[A-Za-z0-9:_-]+$" } },
} as const;

export const waitQuerySchema = {
  type: "integer",
  minimum: 0,
  maximum: 300000,
  default: 0,
  description: "Milliseconds to wait for the job to end before replying 202",
} as const;

export const resultQuerySchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    wait: waitQuerySchema,
    key: { ...keySchema, description: "Return this output's value alone (required for Arrow when the job has several outputs)" },
    format: { type: "string", enum: ["msgpack", "json", "arrow"], description: "Overrides the Accept header" },
  },
} as const;

export const submitQuerySchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    wait: { ...waitQuerySchema, description: "Milliseconds to wait for the job to end and reply with its result (0: reply at once with the id)" },
    format: { type: "string", enum: ["msgpack", "json", "arrow"], description: "Result format when waiting; overrides the Accept header" },
  },
} as const;

const taskCountsSchema = {
  type: "object",
  properties: {
    total: { type: "integer" },
    waiting: { type: "integer" },
    queued: { type: "integer" },
    processing: { type: "integer" },
    finished: { type: "integer" },
    erred: { type: "integer" },
    released: { type: "integer" },
  },
} as const;

const jobFailureSchema = {
  type: "object",
  properties: {
    error: { type: "string" },
    message: { type: "string" },
    key: { type: "string" },
    task: {
      type: "object",
      properties: { name: { type: "string" }, message: { type: "string" }, stack: { type: "string" }, blame: { type: "string" } },
    },
  },
} as const;

export const jobStateSchema = { type: "string", enum: JOB_STATES } as const;

export const submitReplySchema = {
  type: "object",
  required: ["id", "state"],
  properties: { id: { type: "string" }, state: jobStateSchema, tasks: { type: "integer" }, outputs: { type: "array", items: { type: "string" } } },
} as const;

const jobSummaryProperties = {
  id: { type: "string" },
  state: jobStateSchema,
  tasks: { ...taskCountsSchema, nullable: true },
  submittedAt: { type: "integer", description: "Unix ms" },
  startedAt: { type: "integer", nullable: true },
  finishedAt: { type: "integer", nullable: true },
  elapsedMs: { type: "integer" },
  error: { ...jobFailureSchema, nullable: true },
  waitingForWorkers: {
    type: "object",
    required: ["since", "message"],
    description: "Present while the running job has waited for a worker able to run its tasks longer than the scheduler's --no-workers-warning",
    properties: { since: { type: "integer", description: "Unix ms since when it has waited" }, message: { type: "string" } },
  },
} as const;

export const jobStatusSchema = {
  type: "object",
  required: ["id", "state", "outputs", "submittedAt", "elapsedMs"],
  properties: { ...jobSummaryProperties, outputs: { type: "array", items: { type: "string" } } },
} as const;

/** `GET /v1/jobs` query. */
export const jobListQuerySchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    state: {
      type: "array",
      items: jobStateSchema,
      uniqueItems: true,
      maxItems: 5,
      description: "Only jobs in this state; repeat for several (?state=waiting&state=running). Default: every state",
    },
    limit: { type: "integer", minimum: 1, maximum: MAX_JOB_PAGE, default: DEFAULT_JOB_PAGE, description: "Most jobs on the page" },
    cursor: { ...jobIdParamsSchema.properties.id, description: "The previous page's next: only jobs submitted before that one" },
  },
} as const;

/** `GET /v1/jobs` query, as the schema above validates it (with its defaults applied). */
export interface JobListQueryString {
  readonly state?: (typeof jobStateSchema.enum)[number][];
  readonly limit: number;
  readonly cursor?: string;
}

/** `GET /v1/jobs` reply. */
export const jobPageSchema = {
  type: "object",
  required: ["jobs"],
  properties: {
    jobs: {
      type: "array",
      description: "Newest first, by submission",
      items: { type: "object", required: ["id", "state", "submittedAt", "elapsedMs"], properties: jobSummaryProperties },
    },
    next: { type: "string", description: "Cursor of the next page; absent on the last page" },
  },
} as const;

export const workersReplySchema = {
  type: "object",
  required: ["workers"],
  properties: {
    workers: {
      type: "array",
      items: {
        type: "object",
        properties: {
          id: { type: "string" },
          nthreads: { type: "integer" },
          queued: { type: "integer", description: "Tasks in its queue, not started" },
          running: { type: "integer", description: "Tasks taken and not finished" },
          results: { type: "integer", description: "Results held in its memory" },
          memoryBytes: { type: "integer", description: "Bytes of the results held" },
          rssBytes: { type: "integer", description: "The worker process's resident memory (RSS), as of its last heartbeat; 0 if not reported" },
          paused: { type: "boolean", description: "Takes no new tasks: its resident memory is at 80% of its memory limit" },
          memoryLimitBytes: { type: "integer", description: "Its memory limit (--memory-limit); absent when it has none" },
          address: { type: "string" },
          pid: { type: "integer" },
          functions: { type: "integer", description: "Registered task functions" },
        },
      },
    },
  },
} as const;
