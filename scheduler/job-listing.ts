import { JOB_STATES, type JobPage, type JobState, type JobSummary } from "../protocol/job-api.js";
import { compareJobIdsNewestFirst, type GraphJobs, type QueuedJobRecord, type QueuedJobState } from "./graph-jobs.js";

/** Default {@link JobListQuery.limit}. */
export const DEFAULT_JOB_PAGE = 50;
/** Largest {@link JobListQuery.limit}. */
export const MAX_JOB_PAGE = 500;

/** Which jobs {@link listJobs} returns. */
export interface JobListQuery {
  /** Only jobs in these states. Default: every state. */
  readonly states?: readonly JobState[];
  /** Most jobs on the page, from 1 to {@link MAX_JOB_PAGE}. Default {@link DEFAULT_JOB_PAGE}. */
  readonly limit?: number;
  /** The `next` of the previous page: only jobs submitted before that one. Default: from the newest. */
  readonly cursor?: string;
}

/** A job this scheduler knows in memory (running here, or ended here recently): its state, and its summary on demand. */
export interface KnownJob {
  readonly state: JobState;
  summary(): JobSummary;
}

/** The queue's states that hold the jobs of each listed state. */
const QUEUE_STATES_OF: Record<JobState, QueuedJobState> = {
  waiting: "waiting",
  running: "running",
  completed: "completed",
  failed: "failed",
  // A job cancelled while it ran failed in the queue, with a `cancelled` failure.
  cancelled: "failed",
};

/**
 * One page of jobs, newest first by submission (job ids start with their submission time, see
 * `newJobId`), from two sources: the jobs this scheduler knows in memory (`known`: running here, or
 * ended here recently) and the durable queue (everything else, until its retention time). A job in
 * both is shown as memory has it, since the queue records a job's end after the scheduler saw it; a
 * job only in memory (cancelled before it started, so removed from the queue) is listed too.
 *
 * The cursor is the last id of the previous page, so paging is stable while jobs are submitted: new
 * jobs come before the first page, never inside a later one. Each call reads the ids the queue holds
 * in the wanted states (ids only, in one atomic read) and the times of the jobs it returns.
 */
export async function listJobs(known: ReadonlyMap<string, KnownJob>, queue: GraphJobs, query: JobListQuery = {}): Promise<JobPage> {
  const limit = query.limit ?? DEFAULT_JOB_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_JOB_PAGE) throw new RangeError(`limit must be a whole number from 1 to ${MAX_JOB_PAGE}, got ${limit}`);
  const wanted = new Set(query.states === undefined || query.states.length === 0 ? JOB_STATES : query.states);
  const queued = await queue.idsByState([...wanted].map((state) => QUEUE_STATES_OF[state]));
  const candidates: string[] = [];
  for (const [id, job] of known) if (wanted.has(job.state)) candidates.push(id);
  for (const id of queued.keys()) if (!known.has(id)) candidates.push(id);
  const cursor = query.cursor;
  const after = cursor === undefined ? candidates : candidates.filter((id) => compareJobIdsNewestFirst(id, cursor) > 0);
  after.sort(compareJobIdsNewestFirst);

  // One job more than the page, to know whether there is a next page. Failed and cancelled jobs share
  // the queue's failed set, so some candidates may turn out to be in a state not asked for.
  const jobs: JobSummary[] = [];
  const now = Date.now();
  for (let start = 0; start < after.length && jobs.length <= limit; start += limit + 1) {
    const chunk = after.slice(start, start + limit + 1);
    const fromQueue = new Map<string, QueuedJobState>();
    for (const id of chunk) if (!known.has(id)) fromQueue.set(id, queued.get(id)!);
    const records = new Map<string, QueuedJobRecord>();
    for (const record of await queue.records(fromQueue)) if (record !== undefined) records.set(record.id, record);
    for (const id of chunk) {
      const record = records.get(id);
      // A job the queue removed meanwhile (its retention time ran out) is left out.
      const summary = known.get(id)?.summary() ?? (record === undefined ? undefined : summaryOfQueued(record, now));
      if (summary !== undefined && wanted.has(summary.state)) jobs.push(summary);
    }
  }
  const page = jobs.slice(0, limit);
  return { jobs: page, next: jobs.length > limit ? page.at(-1)!.id : undefined };
}

/** A job the queue holds, as a listing or status shows it. */
export function summaryOfQueued(record: QueuedJobRecord, now = Date.now()): JobSummary {
  const { failure } = record;
  const state: JobState = record.state === "failed" && failure?.error === "cancelled" ? "cancelled" : record.state;
  return {
    id: record.id,
    state,
    tasks: undefined,
    submittedAt: record.submittedAt,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    elapsedMs: (record.finishedAt ?? now) - record.submittedAt,
    error: failure,
  };
}
