import type { WorkerId } from "../ids.js";

/** The prefix used when none is configured. */
export const DEFAULT_REDIS_PREFIX = "weft";

/**
 * The name of every Redis key the distributed runtime uses. All of them start with `prefix + ":"`,
 * so two deployments with different prefixes can share one Redis server without seeing each
 * other's state.
 *
 * Hash tags: none are added. The target is a single Redis node, where slots do not matter. The
 * scripts are nonetheless written for Redis Cluster's rules (every key a script touches is passed in
 * `KEYS`), and several of them touch keys of two workers or of a worker and the deployment (a steal,
 * a take). On a cluster all keys of one deployment must therefore share one slot; since every key
 * starts with the prefix, choosing a prefix that is itself a hash tag, such as `"{weft}"`, does
 * exactly that (BullMQ's `"{bull}"` convention). A worker id cannot contain braces, so it can never
 * become the hash tag instead.
 */
export interface RedisKeys {
  /** The prefix every key starts with (without the trailing colon). */
  readonly prefix: string;
  /**
   * Worker registry. HASH: field = worker id, value = the worker's metadata as JSON
   * (`WorkerMetadata` in `control-plane.ts`). Written by every heartbeat; a worker leaves it only when it is
   * recovered, so a worker that died silently stays listed (without a heartbeat) until the
   * scheduler recovers it.
   */
  readonly workers: string;
  /**
   * Payloads of queued tasks. HASH: field = task key, value = the opaque bytes the worker runs (the
   * msgpack-encoded task). Shared by all workers of the deployment, so a steal moves only a queue
   * entry and never the payload. A payload leaves this hash when its task is taken (it moves to the
   * taker's in-flight hash) or recovered.
   */
  readonly taskPayloads: string;
  /**
   * Messages from workers to the scheduler (completions). STREAM: entries with fields `worker` (the
   * worker id) and `data` (opaque bytes the worker chose). Written by `finish-tasks`; never trimmed
   * by the scripts, since only the reader knows what it has consumed.
   */
  readonly events: string;
  /**
   * Who holds the scheduler role. STRING with a TTL (the lease's lifetime): value = the holder as
   * JSON (`LeaseHolder` in `scheduler-lease.ts`: epoch, id, host, pid, since). Set only if absent when
   * taken, renewed by its holder; a standby takes the role once it has lapsed.
   */
  readonly schedulerLease: string;
  /**
   * The scheduler epoch, the fencing token. STRING holding an integer, without a TTL: incremented
   * each time a scheduler takes the role, so the current holder's epoch is always the largest; every
   * write a scheduler makes carries its epoch, and the scripts refuse one that is not this value.
   */
  readonly schedulerEpoch: string;
  /**
   * The cluster's generation: which scheduler's view of the cluster Redis holds. STRING: random text,
   * written by a scheduler when it takes the role, and again when it finds the key gone (Redis lost
   * its data). Workers read it with every heartbeat: when it changes, they send the scheduler an
   * account of what they hold and run (`worker-account.ts`), so that a new scheduler reuses their
   * results and one that outlived a wipe finds what was lost.
   */
  readonly generation: string;
  /**
   * The cluster's data token (see `data-token.ts`). STRING: random text, written once by the first
   * scheduler or worker that needs it (`SET NX`), read by the others. Whoever reads Redis can fetch
   * from the workers' data servers; whoever writes it controls the workers anyway (docs/security.md).
   */
  readonly dataToken: string;
  /**
   * A worker's queue of tasks it has not started. ZSET: member = task key, score = priority
   * (smaller runs first; ties run in task-key order). Filled by the scheduler, emptied by the
   * worker's takes, by steals and by recovery.
   */
  workerQueue(worker: WorkerId): string;
  /**
   * Tasks a worker has taken and not finished. HASH: field = task key, value = the task's payload,
   * kept so that a task whose worker dies is never lost: recovery hands it back, bytes included.
   */
  workerInFlight(worker: WorkerId): string;
  /**
   * A worker's last take of tasks that took any. LIST: the take's id, then the key and priority of
   * each task it took. A take sent again with the same id (ioredis sends a command again when the
   * connection it went out on closed before the reply came, as when Redis restarts) answers with
   * these tasks, those still in flight, instead of taking more and leaving these in flight unknown
   * to the worker. Replaced by the next take; deleted with the worker.
   */
  workerLastTake(worker: WorkerId): string;
  /**
   * The ids of the last 100 enqueues a worker's queue accepted, newest first. LIST. An enqueue sent
   * again with an id among them (its reply was lost with the connection) writes nothing: the tasks
   * it queued may have been taken and run meanwhile. Deleted with the worker.
   */
  workerRecentEnqueues(worker: WorkerId): string;
  /**
   * Proof of life. STRING with a TTL (a few heartbeat intervals): value = the Redis
   * server time in ms of the last heartbeat. A worker whose key expired is presumed dead.
   */
  workerHeartbeat(worker: WorkerId): string;
  /**
   * Whether a worker may still take work. STRING: absent while the worker runs, `"stopping"` once it
   * is shutting down (it takes and receives nothing more), `"dead"` once it has been recovered (a
   * tombstone with a TTL, so that a worker wrongly declared dead cannot come back under the same id:
   * its tasks were already handed to others).
   */
  workerState(worker: WorkerId): string;
  /**
   * Wake-up token for a worker waiting for work. LIST holding at most one element: pushed whenever
   * tasks enter the worker's queue (enqueue, steal), popped by the worker with `BLPOP`. A token is
   * left behind rather than a message sent, so a wake-up that arrives before the worker starts
   * waiting is not lost.
   */
  workerWake(worker: WorkerId): string;
  /**
   * Messages from the scheduler that are not tasks: results to release, tasks to cancel. LIST of
   * encoded messages, oldest first; the worker pops them in batches. Sending one wakes the worker.
   */
  workerInbox(worker: WorkerId): string;
  /**
   * The reply of one call of a script that must not run twice, under the call's id (see
   * `ControlPlane.stealTasks`). STRING, JSON, with a TTL: a call sent again after its reply was lost
   * gets the recorded reply instead of running again.
   */
  replyRecord(callId: string): string;
}

/**
 * Builds the key names for one deployment.
 *
 * @param prefix - Default {@link DEFAULT_REDIS_PREFIX} (`"weft"`). Must be non-empty and free of
 *   whitespace.
 * @example
 * const keys = redisKeys("weft");
 * keys.workerQueue("w1"); // "weft:worker:w1:queue"
 */
export function redisKeys(prefix: string = DEFAULT_REDIS_PREFIX): RedisKeys {
  if (prefix.length === 0 || /\s/.test(prefix)) {
    throw new RangeError(`Redis key prefix must be non-empty and without whitespace, got ${JSON.stringify(prefix)}`);
  }
  const worker = (id: WorkerId, suffix: string) => `${prefix}:worker:${checkWorkerId(id)}:${suffix}`;
  return Object.freeze({
    prefix,
    workers: `${prefix}:workers`,
    taskPayloads: `${prefix}:task-payloads`,
    events: `${prefix}:events`,
    schedulerLease: `${prefix}:scheduler:lease`,
    schedulerEpoch: `${prefix}:scheduler:epoch`,
    dataToken: `${prefix}:data-token`,
    generation: `${prefix}:scheduler:generation`,
    workerQueue: (id: WorkerId) => worker(id, "queue"),
    workerInFlight: (id: WorkerId) => worker(id, "in-flight"),
    workerLastTake: (id: WorkerId) => worker(id, "last-take"),
    workerRecentEnqueues: (id: WorkerId) => worker(id, "recent-enqueues"),
    workerHeartbeat: (id: WorkerId) => worker(id, "heartbeat"),
    workerState: (id: WorkerId) => worker(id, "state"),
    workerWake: (id: WorkerId) => worker(id, "wake"),
    workerInbox: (id: WorkerId) => worker(id, "inbox"),
    replyRecord: (callId: string) => `${prefix}:reply:${callId}`,
  });
}

/**
 * Worker ids become part of key names: braces would make them a Cluster hash tag, and whitespace or
 * control characters make keys unreadable in `redis-cli`.
 */
function checkWorkerId(id: WorkerId): WorkerId {
  if (id.length === 0 || id.length > 200 || /[\s{}\x00-\x1f\x7f]/.test(id)) {
    throw new RangeError(`worker id must be 1-200 characters without whitespace or braces, got ${JSON.stringify(id)}`);
  }
  return id;
}

