import { Queue, QueueEvents, UnrecoverableError, WaitingError, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import { decodeGraph, decodeValue, encodeGraph, encodeValue } from "../graph/codec.js";
import type { Graph, Key } from "../graph/task-spec.js";
import type { GraphJobFailure, JobOptions } from "../protocol/job-api.js";
import { newJobId } from "../protocol/ids.js";
import { describeFailure } from "../protocol/job-failure.js";

/** Name of the BullMQ queue graphs are submitted on. */
export const GRAPH_JOBS_QUEUE = "graphs";

/** A submitted graph, as BullMQ stores it (JSON): the graph in the wire codec, base64. */
export interface GraphJobData {
  readonly graph: string;
  readonly outputs: readonly Key[];
  /** Keep the outputs' results on the workers after the job, until the job is released. Default false. */
  readonly keep?: boolean;
  /** See `JobOptions.taskTimeoutMs`. Default: none. */
  readonly taskTimeoutMs?: number;
  /** See `JobOptions.noWorkersTimeoutMs`. Default: none. */
  readonly noWorkersTimeoutMs?: number;
  /** See `JobOptions.clientGoneMs`: kept with the job, so that a scheduler that runs it again after a crash waits for its client. Default: none. */
  readonly clientGoneMs?: number;
}

/** Prefix of the log line holding a job's {@link GraphJobFailure}. */
export const FAILURE_LOG_PREFIX = "failure ";

/** Thrown by a job's `run` when the job was cancelled on request. */
export class JobCancelledError extends Error {
  override readonly name = "JobCancelledError";
}

/**
 * Thrown by a job's `run` when this scheduler must not run the job: it lost the scheduler role to
 * another. The job goes back to the queue at once, for the scheduler holding the role, without
 * counting as a failed attempt (a job a deposed scheduler took must not fail for it).
 *
 * @example
 * if (scheduler.deposed !== undefined) throw new HandBackJobError(`job ${jobId}: ${scheduler.deposed.message}`);
 */
export class HandBackJobError extends Error {
  override readonly name = "HandBackJobError";
}

/** A finished job's return value: the outputs' values in the wire codec, base64, in `outputs` order. */
export interface GraphJobResult {
  readonly results: string;
}

/** Options shared by the two sides of the jobs queue. */
export interface GraphJobsOptions {
  /** A connection factory; BullMQ needs its own connections (one blocks). */
  readonly connection: () => Redis;
  /** Key prefix, shared with the rest of the deployment. Default `"weft"`. */
  readonly prefix?: string;
}

/**
 * Submits graphs as durable BullMQ jobs and waits for their results: what a client (or the HTTP
 * API) uses. A job survives a scheduler crash: the next scheduler to start picks it up again.
 */
export class GraphJobs {
  private readonly queue: Queue<GraphJobData, GraphJobResult>;
  /**
   * Made on the first {@link result} call: it reads every job's events from Redis, work that a
   * scheduler process (which learns of its jobs' ends itself) must not pay for.
   */
  private events: QueueEvents | undefined;
  /** BullMQ leaves connections it was given open: they are closed here. */
  private readonly connections: Redis[];

  constructor(private readonly options: GraphJobsOptions) {
    this.connections = [options.connection()];
    this.queue = new Queue(GRAPH_JOBS_QUEUE, { connection: this.connections[0], prefix: options.prefix ?? "weft" });
  }

  /**
   * Submits a graph; returns the job id. With `keep`, the outputs stay held after the job (see
   * {@link GraphJobData.keep}); the other options are kept with it for whichever scheduler runs it. `jobId` chooses the id; default: a fresh {@link newJobId}, so that every
   * job's id says when it was submitted (listings are ordered by it).
   */
  async submit(graph: Graph, outputs: readonly Key[], options: JobOptions & { readonly jobId?: string } = {}): Promise<string> {
    const data: { -readonly [K in keyof GraphJobData]: GraphJobData[K] } = { graph: Buffer.from(encodeGraph(graph)).toString("base64"), outputs };
    if (options.keep === true) data.keep = true;
    if (options.taskTimeoutMs !== undefined) data.taskTimeoutMs = options.taskTimeoutMs;
    if (options.noWorkersTimeoutMs !== undefined) data.noWorkersTimeoutMs = options.noWorkersTimeoutMs;
    if (options.clientGoneMs !== undefined) data.clientGoneMs = options.clientGoneMs;
    const job = await this.queue.add("graph", data, { jobId: options.jobId ?? newJobId() });
    return job.id!;
  }

  /** The job as BullMQ holds it, or undefined when unknown (or removed after its retention time). */
  job(jobId: string): Promise<Job<GraphJobData, GraphJobResult> | undefined> {
    return this.queue.getJob(jobId);
  }

  /** The failure a failed job's log records, if any. */
  async failure(jobId: string): Promise<GraphJobFailure | undefined> {
    return failureFromLogs((await this.queue.getJobLogs(jobId, 0, -1)).logs);
  }

  /** Waits for a job and returns its outputs' values; rejects with the job's failure. */
  async result(jobId: string, timeoutMs?: number): Promise<unknown[]> {
    if (this.events === undefined) {
      const connection = this.options.connection();
      this.connections.push(connection);
      this.events = new QueueEvents(GRAPH_JOBS_QUEUE, { connection, prefix: this.options.prefix ?? "weft" });
    }
    await this.events.waitUntilReady();
    const job = await this.queue.getJob(jobId);
    if (job === undefined) throw new Error(`no job ${jobId} (unknown, or removed after its retention time)`);
    const value = (await job.waitUntilFinished(this.events, timeoutMs)) as GraphJobResult;
    return decodeResults(value);
  }

  /**
   * The id of every job the queue holds in the given states, with its state, read in one atomic step
   * (a job moving from one state to another meanwhile is seen once). Ids only: the jobs' graphs stay
   * in Redis.
   */
  async idsByState(states: readonly QueuedJobState[]): Promise<Map<string, QueuedJobState>> {
    const keys = this.queue.keys;
    const transaction = this.connections[0].multi();
    const read: QueuedJobState[] = [];
    for (const state of new Set(states)) {
      for (const [key, sorted] of QUEUE_STATE_KEYS[state]) {
        if (sorted) transaction.zrange(keys[key], 0, -1);
        else transaction.lrange(keys[key], 0, -1);
        read.push(state);
      }
    }
    const replies = (await transaction.exec()) ?? [];
    const ids = new Map<string, QueuedJobState>();
    replies.forEach(([error, reply], i) => {
      if (error) throw error;
      for (const id of reply as string[]) ids.set(id, read[i]);
    });
    return ids;
  }

  /**
   * What a listing shows of each job, in `ids` order, in one round trip: its times and, for a failed
   * one, its failure; undefined for a job removed meanwhile. The graph is not read.
   */
  async records(ids: ReadonlyMap<string, QueuedJobState>): Promise<(QueuedJobRecord | undefined)[]> {
    if (ids.size === 0) return [];
    const pipeline = this.connections[0].pipeline();
    for (const [id, state] of ids) {
      pipeline.hmget(this.queue.toKey(id), "timestamp", "processedOn", "finishedOn", "failedReason");
      if (state === "failed") pipeline.lrange(`${this.queue.toKey(id)}:logs`, 0, -1);
    }
    const replies = ((await pipeline.exec()) ?? []).map(([error, reply]) => {
      if (error) throw error;
      return reply;
    });
    let at = 0;
    return [...ids].map(([id, state]) => {
      const [timestamp, processedOn, finishedOn, failedReason] = replies[at++] as (string | null)[];
      const logs = state === "failed" ? (replies[at++] as string[]) : [];
      if (timestamp === null) return undefined;
      const failure = state === "failed" ? (failureFromLogs(logs) ?? { error: "failed", message: failedReason ?? "" }) : undefined;
      return { id, state, submittedAt: Number(timestamp), startedAt: optionalNumber(processedOn), finishedAt: optionalNumber(finishedOn), failure };
    });
  }

  /** The job's state as BullMQ knows it: waiting, active, completed, failed, … */
  async state(jobId: string): Promise<string> {
    return (await this.queue.getJob(jobId))?.getState() ?? "unknown";
  }

  async close(): Promise<void> {
    await this.events?.close();
    await this.queue.close();
    for (const connection of this.connections) connection.disconnect();
  }
}

/**
 * Where a job is in the queue, BullMQ's states grouped: `waiting` (waiting, prioritized, delayed,
 * paused), `running` (active: claimed by a scheduler), `completed`, `failed` (cancelled jobs too: a
 * cancelled run fails with a `cancelled` failure).
 */
export type QueuedJobState = "waiting" | "running" | "completed" | "failed";

/** BullMQ's keys holding the jobs of each {@link QueuedJobState}, and whether each is a sorted set. */
const QUEUE_STATE_KEYS: Record<QueuedJobState, readonly (readonly [string, boolean])[]> = {
  waiting: [
    ["wait", false],
    ["paused", false],
    ["prioritized", true],
    ["delayed", true],
    ["waiting-children", true],
  ],
  running: [["active", false]],
  completed: [["completed", true]],
  failed: [["failed", true]],
};

/** A job as {@link GraphJobs.records} reads it. Times are Unix ms. */
export interface QueuedJobRecord {
  readonly id: string;
  readonly state: QueuedJobState;
  readonly submittedAt: number;
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
  /** Why a failed job failed: the failure its log records, else BullMQ's reason. */
  readonly failure: GraphJobFailure | undefined;
}

function failureFromLogs(logs: readonly string[]): GraphJobFailure | undefined {
  const line = logs.find((entry) => entry.startsWith(FAILURE_LOG_PREFIX));
  return line === undefined ? undefined : (JSON.parse(line.slice(FAILURE_LOG_PREFIX.length)) as GraphJobFailure);
}

function optionalNumber(text: string | null): number | undefined {
  return text === null || text === "" ? undefined : Number(text);
}

export { newJobId };

/**
 * Orders job ids newest first: by the submission time a {@link newJobId} starts with, then by the id
 * itself, so that equal times still have one order. An id of another form counts as the oldest.
 * Negative when `a` comes before `b`.
 */
export function compareJobIdsNewestFirst(a: string, b: string): number {
  const time = submissionTimeOf(b) - submissionTimeOf(a);
  return time !== 0 ? time : a < b ? 1 : a > b ? -1 : 0;
}

/** The submission time in a {@link newJobId}; -1 for an id of another form. */
function submissionTimeOf(id: string): number {
  const match = /^([0-9a-z]+)-[0-9a-f]+$/.exec(id);
  return match === null ? -1 : parseInt(match[1], 36);
}

/** Decodes a finished job's return value. */
export function decodeResults(value: GraphJobResult): unknown[] {
  return decodeValue(Buffer.from(value.results, "base64")) as unknown[];
}

/** The failure to record for an error that fails a job for good; undefined for one worth a retry. */
export function failureOf(error: Error): GraphJobFailure | undefined {
  const failure = describeFailure(error);
  return failure.error === "failed" ? undefined : failure;
}

/** Options of {@link processGraphJobs}. */
export interface GraphJobsWorkerOptions extends GraphJobsOptions {
  /** Jobs run at once. Default 100: a job mostly waits for workers, so many can share a scheduler. */
  readonly concurrency?: number;
  /** Seconds a finished job's state and result stay queryable. Default 3,600. */
  readonly retentionSeconds?: number;
  /**
   * How long a job stays claimed without its scheduler renewing the claim, in ms: after a scheduler
   * crash, its jobs go back to the queue within about this time. Default 10,000.
   */
  readonly lockDurationMs?: number;
}

/**
 * The scheduler's side of the jobs queue: takes submitted graphs and hands each to `run`, which
 * resolves with the outputs' values. A task error fails the job for good (retrying would fail the
 * same way); a scheduler crash leaves it to be picked up again.
 */
export function processGraphJobs(
  options: GraphJobsWorkerOptions,
  run: (graph: Graph, outputs: readonly Key[], jobId: string, job: Job<GraphJobData, GraphJobResult>) => Promise<unknown[]>,
): { readonly worker: Worker<GraphJobData, GraphJobResult>; close(): Promise<void> } {
  const retention = options.retentionSeconds ?? 3600;
  const connection = options.connection();
  const worker = new Worker<GraphJobData, GraphJobResult>(
    GRAPH_JOBS_QUEUE,
    async (job: Job<GraphJobData, GraphJobResult>, token?: string) => {
      let graph: Graph;
      try {
        graph = decodeGraph(Buffer.from(job.data.graph, "base64"));
      } catch (error) {
        throw new UnrecoverableError((error as Error).message);
      }
      try {
        const values = await run(graph, job.data.outputs, job.id!, job);
        return { results: Buffer.from(encodeValue(values)).toString("base64") };
      } catch (error) {
        if (error instanceof HandBackJobError) {
          await job.moveToWait(token).catch(() => undefined);
          // BullMQ's word for "moved back to waiting": neither completed nor failed.
          throw new WaitingError();
        }
        const failure = failureOf(error as Error);
        if (failure === undefined) throw error;
        await job.log(FAILURE_LOG_PREFIX + JSON.stringify(failure)).catch(() => undefined);
        throw new UnrecoverableError((error as Error).message);
      }
    },
    {
      connection,
      prefix: options.prefix ?? "weft",
      concurrency: options.concurrency ?? 100,
      lockDuration: options.lockDurationMs ?? 10_000,
      // Claims are checked as often as they expire, so a crashed scheduler's jobs wait one lock
      // duration, not BullMQ's default 30 s check interval on top.
      stalledInterval: options.lockDurationMs ?? 10_000,
      // A crashed scheduler is not the job's fault: let it be picked up again, many times if need be.
      maxStalledCount: 100,
      removeOnComplete: { age: retention },
      removeOnFail: { age: retention },
    },
  );
  return {
    worker,
    // Force: jobs still running go back to the queue for the next scheduler, as after a crash.
    close: async () => {
      await worker.close(true);
      connection.disconnect();
    },
  };
}
