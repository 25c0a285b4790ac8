import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { Key } from "../../graph/task-spec.js";
import type { WorkerId } from "../ids.js";
import { parseEventFields, type EventEntry } from "./event-entry.js";
import { DEFAULT_REDIS_PREFIX, redisKeys, type RedisKeys } from "./redis-keys.js";
import { beginGeneration } from "./scripts/begin-generation.js";
import { cancelTasks } from "./scripts/cancel-tasks.js";
import { enqueueTasks } from "./scripts/enqueue-tasks.js";
import { finishTasks } from "./scripts/finish-tasks.js";
import { heartbeat } from "./scripts/heartbeat.js";
import { markStopping } from "./scripts/mark-stopping.js";
import { recoverWorker } from "./scripts/recover-worker.js";
import { rescoreTasks } from "./scripts/rescore-tasks.js";
import { asFencedError } from "./scheduler-lease.js";
import type { RedisScript } from "./scripts/redis-script.js";
import { sendAccount } from "./scripts/send-account.js";
import { sendToWorker } from "./scripts/send-to-worker.js";

export { parseEventFields, type EventEntry } from "./event-entry.js";
import { stealTasks } from "./scripts/steal-tasks.js";
import { takeEvents } from "./scripts/take-events.js";
import { takeTasks } from "./scripts/take-tasks.js";

/** Default {@link ControlPlaneOptions.heartbeatTtlMs}: a worker silent for 3 s is presumed dead. */
export const DEFAULT_HEARTBEAT_TTL_MS = 3_000;
/** Most tasks one {@link ControlPlane.takeTasks} call returns: the take script unpacks them onto the Lua stack. */
export const MAX_TAKE_BATCH = 1_000;
/** Default {@link ControlPlaneOptions.deadWorkerTtlMs}: one day. */
export const DEFAULT_DEAD_WORKER_TTL_MS = 86_400_000;
/** Most entries one {@link ControlPlane.takeEvents} call returns. */
export const MAX_EVENT_BATCH = 1_000;
/**
 * How long the reply of a call that must not run twice stays recorded, in ms (see
 * `RedisKeys.replyRecord`): longer than any wait for Redis to come back that a resend follows.
 */
export const REPLY_RECORD_TTL_MS = 600_000;

/** Options of a {@link ControlPlane}. Every field is optional; see each default. */
export interface ControlPlaneOptions {
  /**
   * Prefix of every key, so deployments sharing a Redis server stay apart. Default `"weft"`. On a
   * Redis Cluster, use a hash tag such as `"{weft}"` (see {@link RedisKeys}).
   */
  readonly prefix?: string;
  /**
   * Lifetime of a heartbeat, in ms: a worker that has not sent one for this long is presumed dead.
   * Send heartbeats several times per TTL (every TTL / 3, say) so that one slow round trip is not
   * taken for a death. Default {@link DEFAULT_HEARTBEAT_TTL_MS} (3,000).
   */
  readonly heartbeatTtlMs?: number;
  /**
   * How long the "dead" mark of a recovered worker is kept, in ms. While it exists the worker can
   * neither take tasks nor re-register under its id; worker ids should therefore be unique per
   * process start. Default {@link DEFAULT_DEAD_WORKER_TTL_MS} (one day).
   */
  readonly deadWorkerTtlMs?: number;
  /**
   * The epoch of the scheduler using this plane (`LeaseHolder.epoch`, from `SchedulerLease`): its
   * writes (enqueue, send, steal, rescore, recover, take events) then carry it, and are refused with a
   * `SchedulerFencedError`, nothing written, once another scheduler has taken the role. Default:
   * none, the writes are not fenced (workers, and tools that run without a scheduler).
   */
  readonly schedulerEpoch?: number;
}

/** What a worker tells the registry about itself with each heartbeat. */
export interface WorkerMetadata {
  readonly id: WorkerId;
  /** Tasks it runs at once. */
  readonly nthreads: number;
  /** Where peers fetch its results, such as `"http://10.0.0.5:40123"`. */
  readonly dataAddress: string;
  /** Its operating-system process id, for operators and for the nanny that supervises it. */
  readonly pid: number;
  /**
   * Names of the task functions it has registered, so that the scheduler can refuse a graph that
   * calls none of them. Default: not advertised (the scheduler then cannot check names).
   */
  readonly functions?: readonly string[];
  /**
   * Its process's resident memory (RSS) in bytes, measured when it sent this heartbeat. Default: not
   * reported.
   */
  readonly rssBytes?: number;
  /**
   * True while it takes no tasks because its resident memory is at the pause fraction of its memory
   * limit: the scheduler treats it as full and lets other workers take what waits in its queue.
   * Default false.
   */
  readonly paused?: boolean;
  /** Its memory limit in bytes (`--memory-limit`), when it has one. Default: none. */
  readonly memoryLimitBytes?: number;
}

/**
 * A worker's standing: `running` takes and receives work; `stopping` is shutting down and takes
 * or receives nothing more; `dead` has been recovered and must exit.
 */
export type WorkerStatus = "running" | "stopping" | "dead";

/** A task for a worker's queue. */
export interface QueuedTask {
  readonly key: Key;
  /** Smaller runs first. A finite number; equal priorities run in key order. */
  readonly priority: number;
  /** What the worker runs (the msgpack-encoded task). Opaque here; must not be empty. */
  readonly payload: Uint8Array;
}

/** A task as the control plane hands it back. */
export interface TaskEntry {
  readonly key: Key;
  /**
   * The bytes it was enqueued with. Empty only if the task was enqueued on two workers at once and
   * the other one took the payload: the scheduler must keep each key in at most one queue.
   */
  readonly payload: Buffer;
}

/** A new score for a task that may still wait in a worker's queue (see {@link ControlPlane.rescoreTasks}). */
export interface RescoredTask {
  readonly key: Key;
  /** Smaller runs first. A finite number. */
  readonly priority: number;
}

/** A task taken from a queue, with the priority it was queued with. */
export interface PrioritizedTaskEntry extends TaskEntry {
  readonly priority: number;
}

/** Reply of {@link ControlPlane.enqueueTasks}. */
export interface EnqueueOutcome {
  /** True when the tasks are queued; false when the worker is stopping or dead and nothing was written. */
  readonly accepted: boolean;
  readonly state: WorkerStatus;
  /** How many keys were new to the queue; a re-enqueued key only gets its new priority and payload. */
  readonly added: number;
}

/** Reply of {@link ControlPlane.finishTasks}. */
export interface FinishOutcome {
  /** Keys that were in flight and are now cleared. */
  readonly finished: Key[];
  /**
   * Keys that were not in flight: finished before, or the worker was recovered meanwhile (then the
   * scheduler has given them to another worker, and this worker's results for them are stale).
   */
  readonly stale: Key[];
}

/** Reply of {@link ControlPlane.stealTasks}. */
export interface StealOutcome {
  /** Keys now queued on the thief; the victim will never run them. */
  readonly accepted: Key[];
  /** Keys that stayed: taken by the victim already, not queued there, or the thief does not accept work. */
  readonly refused: Key[];
}

/** Reply of {@link ControlPlane.recoverWorker}. */
export interface RecoveredWorker {
  /** False only with `onlyIfSilent` when the worker turned out to be alive; then nothing changed. */
  readonly recovered: boolean;
  /** Tasks it had not started, in priority order. */
  readonly queued: PrioritizedTaskEntry[];
  /** Tasks it had taken and not finished: they may have been running when it died. */
  readonly inFlight: TaskEntry[];
}

/** Options of {@link ControlPlane.recoverWorker}. */
export interface RecoverOptions {
  /**
   * Recover only if the worker's heartbeat has expired or it is stopping, checked in the same atomic
   * step, so that a decision taken on a stale listing cannot retire a worker that just sent a
   * heartbeat. Default false: recover unconditionally.
   */
  readonly onlyIfSilent?: boolean;
}

/** A worker in the registry. */
export interface RegisteredWorker extends WorkerMetadata {
  /** `running` or `stopping`; recovered (dead) workers leave the registry. */
  readonly state: WorkerStatus;
  /** Whether its heartbeat key still exists. */
  readonly alive: boolean;
}

/** Reply of {@link ControlPlane.heartbeat}. */
export interface HeartbeatReply {
  /** The worker's state; on `dead` nothing was written and the worker must exit. */
  readonly state: WorkerStatus;
  /**
   * The cluster's generation (see `RedisKeys.generation`), "" when there is none: when it changes,
   * the worker sends its account with {@link ControlPlane.sendAccount}.
   */
  readonly generation: string;
}


/** Calls a script registered by `defineCommand`, in its variant that replies with Buffers. */
type ScriptInvoker = (this: Redis, args: readonly (string | Buffer)[]) => Promise<unknown>;

const SCRIPTS: readonly RedisScript[] = [
  takeEvents,
  enqueueTasks,
  takeTasks,
  finishTasks,
  stealTasks,
  recoverWorker,
  heartbeat,
  markStopping,
  sendToWorker,
  sendAccount,
];

/**
 * The control plane of the distributed runtime: per-worker priority queues, in-flight tracking,
 * work stealing, heartbeats and the worker registry, in Redis. Each method is one round trip and
 * one atomic script, whatever the batch size; batch tasks into as few calls as possible.
 *
 * The class does not own the connection: the caller creates it and closes it. The scripts are
 * registered on it with `defineCommand` (EVALSHA, falling back to EVAL once per connection).
 * Replies are read as Buffers, so binary payloads come back byte for byte. Do not set ioredis's
 * `keyPrefix`; use {@link ControlPlaneOptions.prefix}. The scheduler's writes are fenced by its
 * epoch ({@link ControlPlaneOptions.schedulerEpoch}): once another scheduler has taken the role they
 * reject with a `SchedulerFencedError` and write nothing.
 *
 * @example
 * const plane = new ControlPlane(new Redis("redis://127.0.0.1:6379"), { prefix: "weft" });
 * await plane.enqueueTasks("w1", [{ key: "inc-1", priority: 0, payload: encode(task) }]);
 * const taken = await plane.takeTasks("w1", 100); // on the worker
 * await plane.finishTasks("w1", taken.map((t) => t.key), encode(completions));
 */
export class ControlPlane {
  /** The key names of this deployment. */
  readonly keys: RedisKeys;
  private readonly heartbeatTtlMs: number;
  private readonly deadWorkerTtlMs: number;
  /** ARGV[1] of the fenced scripts: the scheduler epoch, or "" for unfenced writes. */
  private readonly epoch: string;
  /** Ids of the entries the last {@link takeEvents} returned: the next one deletes them. */
  private eventsTaken: Buffer[] = [];
  /** Makes the ids of calls that must not run twice (see {@link nextCallId}) unique to this plane. */
  private readonly callIdPrefix = randomBytes(6).toString("base64url");
  private calls = 0;

  constructor(
    /** The connection; shared with other users is fine, except while {@link waitForWork} blocks it. */
    readonly redis: Redis,
    options: ControlPlaneOptions = {},
  ) {
    this.keys = redisKeys(options.prefix ?? DEFAULT_REDIS_PREFIX);
    this.heartbeatTtlMs = positiveInteger("heartbeatTtlMs", options.heartbeatTtlMs ?? DEFAULT_HEARTBEAT_TTL_MS);
    this.deadWorkerTtlMs = positiveInteger("deadWorkerTtlMs", options.deadWorkerTtlMs ?? DEFAULT_DEAD_WORKER_TTL_MS);
    this.epoch = options.schedulerEpoch === undefined ? "" : String(positiveInteger("schedulerEpoch", options.schedulerEpoch));
    for (const script of SCRIPTS) {
      redis.defineCommand(script.name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
    }
  }

  /**
   * Adds tasks to a worker's queue, payloads included, and wakes the worker if it waits. Refused as
   * a whole when the worker is stopping or dead, so no task lands in a queue nobody will take from.
   * A key must sit in at most one worker's queue at a time (move it with {@link stealTasks}).
   * Fenced (see {@link ControlPlaneOptions.schedulerEpoch}).
   *
   * Each call carries an id of its own, kept with the worker's recent enqueues (see
   * `RedisKeys.workerRecentEnqueues`): when the reply is lost with the connection (Redis restarted,
   * say), ioredis sends the same call again once it has reconnected, and that writes nothing, rather
   * than queue again tasks the worker may have taken and run meanwhile.
   */
  async enqueueTasks(worker: WorkerId, tasks: readonly QueuedTask[]): Promise<EnqueueOutcome> {
    const args: (string | Buffer)[] = [this.epoch, this.nextCallId()];
    for (const task of tasks) {
      if (!Number.isFinite(task.priority)) throw new RangeError(`priority of ${task.key} must be finite, got ${task.priority}`);
      if (task.payload.byteLength === 0) throw new RangeError(`payload of ${task.key} is empty`);
      args.push(task.key, String(task.priority), asBuffer(task.payload));
    }
    const k = this.keys;
    const keys = [k.workerQueue(worker), k.taskPayloads, k.workerState(worker), k.workerWake(worker), k.schedulerEpoch, k.workerRecentEnqueues(worker)];
    const [state, added] = (await this.run(enqueueTasks, keys, args)) as [Buffer, number];
    const status = parseStatus(state);
    return { accepted: status === "running", state: status, added };
  }

  /**
   * Takes up to `count` tasks of highest priority from the worker's queue and marks them in flight,
   * in priority order. Returns nothing when the queue is empty or the worker is stopping or dead.
   *
   * Each take carries an id of its own, and the worker's last take is recorded under it (see
   * `RedisKeys.workerLastTake`): when the reply is lost with the connection (Redis restarted, say),
   * ioredis sends the same take again once it has reconnected, and that answers with the tasks
   * the first one took instead of taking more, so no task stays in flight on a worker that never
   * got it.
   *
   * @param count - From 1 to {@link MAX_TAKE_BATCH}.
   */
  async takeTasks(worker: WorkerId, count: number): Promise<PrioritizedTaskEntry[]> {
    positiveInteger("count", count);
    if (count > MAX_TAKE_BATCH) throw new RangeError(`count must be at most ${MAX_TAKE_BATCH}, got ${count}`);
    const k = this.keys;
    const keys = [k.workerQueue(worker), k.workerInFlight(worker), k.taskPayloads, k.workerState(worker), k.workerLastTake(worker)];
    const reply = (await this.run(takeTasks, keys, [String(count), this.nextCallId()])) as Buffer[];
    return prioritizedEntries(reply);
  }

  /**
   * Gives tasks still waiting in the worker's queue new priorities; a task not in the queue (taken
   * already, stolen away, never queued) is left out, never added. Returns how many got a different score.
   *
   * One `ZADD XX` per batch of 1,000, in a fenced script (see {@link ControlPlaneOptions.schedulerEpoch})
   * sent with EVAL, never EVALSHA: a script's first use on a connection may be resent after a
   * NOSCRIPT reply, behind commands sent after it, and the scheduler relies on this call running
   * after the enqueues and steals it sent before it and before those it sends after.
   *
   * @example
   * await plane.rescoreTasks("w1", [{ key: "inc-1", priority: 42 }]);
   */
  async rescoreTasks(worker: WorkerId, tasks: readonly RescoredTask[]): Promise<number> {
    const queue = this.keys.workerQueue(worker);
    const replies: Promise<number>[] = [];
    for (let first = 0; first < tasks.length; first += MAX_TAKE_BATCH) {
      const args: string[] = [];
      for (const task of tasks.slice(first, first + MAX_TAKE_BATCH)) {
        if (!Number.isFinite(task.priority)) throw new RangeError(`priority of ${task.key} must be finite, got ${task.priority}`);
        args.push(String(task.priority), task.key);
      }
      // CH counts changed scores as well as added members; with XX nothing is ever added.
      replies.push(this.redis.eval(rescoreTasks.lua, 2, queue, this.keys.schedulerEpoch, this.epoch, ...args) as Promise<number>);
    }
    let rescored = 0;
    try {
      for (const changed of await Promise.all(replies)) rescored += changed;
    } catch (error) {
      throw asFencedError(error);
    }
    return rescored;
  }

  /**
   * Clears finished tasks from the worker's in-flight hash and, when `event` is given, appends
   * `{ worker, data: event }` to the events stream in the same atomic step (the completion report).
   * With no keys, it only appends the event.
   */
  async finishTasks(worker: WorkerId, keys: readonly Key[], event?: Uint8Array): Promise<FinishOutcome> {
    const k = this.keys;
    const data = event === undefined ? "" : asBuffer(event);
    const flags = (await this.run(finishTasks, [k.workerInFlight(worker), k.events], [worker, data, ...keys])) as number[];
    const [finished, stale] = splitByFlag(keys, flags);
    return { finished, stale };
  }

  /**
   * Moves each task still queued on `victim` to `thief`'s queue with its priority; a task the victim
   * already took is refused. All are refused when the thief is stopping or dead. Fenced (see
   * {@link ControlPlaneOptions.schedulerEpoch}).
   *
   * The outcome is recorded under the call's id for {@link REPLY_RECORD_TTL_MS}: when the reply is
   * lost with the connection (Redis restarted, say), ioredis sends the same call again once it has
   * reconnected, and that gets the recorded outcome, not a refusal of the tasks the first one moved.
   */
  async stealTasks(victim: WorkerId, thief: WorkerId, keys: readonly Key[]): Promise<StealOutcome> {
    if (victim === thief) throw new RangeError(`a worker cannot steal from itself (${victim})`);
    const k = this.keys;
    const record = k.replyRecord(this.nextCallId());
    const scriptKeys = [k.workerQueue(victim), k.workerQueue(thief), k.workerState(thief), k.workerWake(thief), k.schedulerEpoch, record];
    const flags = (await this.run(stealTasks, scriptKeys, [this.epoch, String(REPLY_RECORD_TTL_MS), ...keys])) as number[];
    const [accepted, refused] = splitByFlag(keys, flags);
    return { accepted, refused };
  }

  /**
   * Hands back everything a dead or stopping worker holds, queued and in flight, and retires it: it is
   * marked dead, leaves the registry, and its keys are deleted. Idempotent: a second call returns
   * empty lists. To take back only the queued tasks of a stopping worker while it finishes its
   * running ones, steal them instead. Fenced (see {@link ControlPlaneOptions.schedulerEpoch}); a
   * worker retiring itself uses a plane without an epoch.
   */
  async recoverWorker(worker: WorkerId, options: RecoverOptions = {}): Promise<RecoveredWorker> {
    const k = this.keys;
    const keys = [
      k.workerQueue(worker),
      k.workerInFlight(worker),
      k.taskPayloads,
      k.workerState(worker),
      k.workerHeartbeat(worker),
      k.workers,
      k.workerWake(worker),
      k.workerInbox(worker),
      k.schedulerEpoch,
      k.workerLastTake(worker),
      k.workerRecentEnqueues(worker),
    ];
    const args = [this.epoch, worker, String(this.deadWorkerTtlMs), options.onlyIfSilent ? "1" : "0"];
    const [recovered, queued, inFlight] = (await this.run(recoverWorker, keys, args)) as [number, Buffer[], Buffer[]];
    const entries: TaskEntry[] = [];
    for (let i = 0; i < inFlight.length; i += 2) entries.push({ key: inFlight[i].toString(), payload: inFlight[i + 1] });
    return { recovered: recovered === 1, queued: prioritizedEntries(queued), inFlight: entries };
  }

  /**
   * Sets the worker's heartbeat (lifetime {@link ControlPlaneOptions.heartbeatTtlMs}) and registers it
   * with its metadata. Returns its state (on `dead` nothing was written and the worker must exit) and
   * the cluster's generation.
   */
  async heartbeat(metadata: WorkerMetadata): Promise<HeartbeatReply> {
    positiveInteger("nthreads", metadata.nthreads);
    const k = this.keys;
    const json = JSON.stringify({
      id: metadata.id,
      nthreads: metadata.nthreads,
      dataAddress: metadata.dataAddress,
      pid: metadata.pid,
      functions: metadata.functions,
      rssBytes: metadata.rssBytes,
      ...(metadata.paused === true && { paused: true }),
      ...(metadata.memoryLimitBytes !== undefined && { memoryLimitBytes: metadata.memoryLimitBytes }),
    });
    const keys = [k.workerHeartbeat(metadata.id), k.workers, k.workerState(metadata.id), k.generation];
    const [state, generation] = (await this.run(heartbeat, keys, [metadata.id, String(this.heartbeatTtlMs), json])) as [Buffer, Buffer];
    return { state: parseStatus(state), generation: generation.toString() };
  }

  /**
   * Sends the worker's account (see `protocol/worker-account.ts`) to the scheduler on the events
   * stream, with the tasks Redis holds for the worker, read in the same atomic step. Returns how many
   * tasks Redis held for it.
   */
  async sendAccount(worker: WorkerId, account: Uint8Array): Promise<number> {
    const k = this.keys;
    return (await this.run(sendAccount, [k.events, k.workerQueue(worker), k.workerInFlight(worker)], [worker, asBuffer(account)])) as number;
  }

  /** The cluster's generation (see `RedisKeys.generation`), or undefined when Redis has none. */
  async generation(): Promise<string | undefined> {
    return (await this.redis.get(this.keys.generation)) ?? undefined;
  }

  /**
   * Starts a new generation of the cluster (see `RedisKeys.generation`): every worker sends its
   * account at its next heartbeat. A scheduler that has just taken the role passes `takeover`: the
   * events stream and the queues of the workers it names are emptied in the same step (their
   * payloads too), since what its predecessor queued would run for nobody and the accounts supersede
   * the reports it did not read. Returns how many queued tasks were removed. Fenced (see
   * {@link ControlPlaneOptions.schedulerEpoch}).
   *
   * @example
   * await plane.beginGeneration(randomGeneration(), { takeover: (await plane.listWorkers()).map((w) => w.id) });
   */
  async beginGeneration(generation: string, options: { readonly takeover?: readonly WorkerId[] } = {}): Promise<number> {
    if (generation.length === 0) throw new RangeError("generation must not be empty");
    const k = this.keys;
    const queues = (options.takeover ?? []).map((worker) => k.workerQueue(worker));
    const keys = [k.schedulerEpoch, k.generation, k.taskPayloads, k.events, ...queues];
    const takeover = options.takeover === undefined ? "0" : "1";
    try {
      return (await this.redis.eval(beginGeneration.lua, keys.length, ...keys, this.epoch, generation, takeover)) as number;
    } catch (error) {
      throw asFencedError(error);
    }
  }

  /**
   * Marks a worker as stopping: its takes return nothing from now on, and enqueues and steals to it
   * are refused. The tasks still in its queue are handed back in the same step: removed, and named
   * in a `returned` entry on the events stream for the scheduler to place elsewhere. Returns the
   * resulting state (`dead` if it had been recovered already) and how many tasks were handed back.
   */
  async markStopping(worker: WorkerId): Promise<{ readonly state: WorkerStatus; readonly returned: number }> {
    const k = this.keys;
    const [state, returned] = (await this.run(markStopping, [k.workerState(worker), k.workerQueue(worker), k.taskPayloads, k.events], [worker])) as [
      Buffer,
      number,
    ];
    return { state: parseStatus(state), returned };
  }

  /**
   * Blocks until tasks enter the worker's queue (an enqueue or a steal to it) or `timeoutMs` passes;
   * true when woken. Wake-ups are tokens, so one that came before the call is not missed, but a token
   * does not promise tasks: take and see. This blocks the whole connection: give it its own.
   * `timeoutMs` 0 waits forever.
   */
  async waitForWork(worker: WorkerId, timeoutMs: number): Promise<boolean> {
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new RangeError(`timeoutMs must be finite and >= 0, got ${timeoutMs}`);
    const popped = await this.redis.blpop(this.keys.workerWake(worker), timeoutMs / 1000);
    return popped !== null;
  }

  /**
   * Appends messages (releases, cancellations) to a worker's inbox and wakes it. Returns false when the
   * worker is dead, in which case nothing was written. Fenced (see
   * {@link ControlPlaneOptions.schedulerEpoch}).
   */
  async sendToWorker(worker: WorkerId, messages: readonly Uint8Array[]): Promise<boolean> {
    if (messages.length === 0) return true;
    const k = this.keys;
    const keys = [k.workerInbox(worker), k.workerState(worker), k.workerWake(worker), k.schedulerEpoch];
    return ((await this.run(sendToWorker, keys, [this.epoch, ...messages.map(asBuffer)])) as number) === 1;
  }

  /**
   * Cancels tasks given to a worker: those still in its queue are removed (it never takes them), and
   * `message` (the cancel naming every key) goes to its inbox for the others, which it ends if running
   * and whose results it drops. Returns the keys removed from the queue. Fenced (see
   * {@link ControlPlaneOptions.schedulerEpoch}).
   *
   * Sent with EVAL, never EVALSHA, as {@link rescoreTasks} is: a first use resent after a NOSCRIPT
   * reply would run behind an enqueue sent after it, and could remove a task queued again since.
   *
   * @example
   * await plane.cancelTasks("w1", ["slow-1"], encodeWorkerMessage({ type: "cancel", keys: ["slow-1"] }));
   */
  async cancelTasks(worker: WorkerId, keys: readonly Key[], message: Uint8Array): Promise<Key[]> {
    if (keys.length === 0) return [];
    const k = this.keys;
    const scriptKeys = [k.workerQueue(worker), k.taskPayloads, k.workerInbox(worker), k.workerState(worker), k.workerWake(worker), k.schedulerEpoch];
    try {
      return (await this.redis.eval(cancelTasks.lua, scriptKeys.length, ...scriptKeys, this.epoch, asBuffer(message), ...keys)) as Key[];
    } catch (error) {
      throw asFencedError(error);
    }
  }

  /**
   * Takes up to `count` of the oldest entries of the events stream: what the scheduler reads, no
   * other reader gets. Fenced (see {@link ControlPlaneOptions.schedulerEpoch}): a deposed scheduler
   * takes nothing, and the entries stay for the scheduler that replaced it.
   *
   * The entries a take returns are deleted by this plane's next take, in the same atomic step as it
   * reads: when a reply is lost with the connection (Redis restarted, say), ioredis sends the same
   * take again once it has reconnected, and that returns the same entries instead of losing them.
   * So one plane takes events one call at a time, and only one plane takes them.
   *
   * @param count - From 1 to {@link MAX_EVENT_BATCH}.
   */
  async takeEvents(count: number): Promise<EventEntry[]> {
    positiveInteger("count", count);
    if (count > MAX_EVENT_BATCH) throw new RangeError(`count must be at most ${MAX_EVENT_BATCH}, got ${count}`);
    const k = this.keys;
    const entries = (await this.run(takeEvents, [k.events, k.schedulerEpoch], [this.epoch, String(count), ...this.eventsTaken])) as [Buffer, Buffer[]][];
    // Set only once the take has answered: a take that failed may or may not have deleted them, and
    // deleting them again is harmless.
    this.eventsTaken = entries.map(([id]) => id);
    return entries.map(([, fields]) => parseEventFields(fields));
  }

  /**
   * Blocks until the events stream holds an entry or `timeoutMs` passes; true when it holds one.
   * Reads nothing for good: take the entries with {@link takeEvents}. This blocks the whole
   * connection: give it its own. `timeoutMs` 0 waits forever.
   */
  async waitForEvents(timeoutMs: number): Promise<boolean> {
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new RangeError(`timeoutMs must be finite and >= 0, got ${timeoutMs}`);
    // From the stream's start: whatever is in it has not been taken yet, so no entry added between a
    // take and this wait is missed.
    const reply = await this.redis.xread("COUNT", 1, "BLOCK", Math.ceil(timeoutMs), "STREAMS", this.keys.events, "0-0");
    return reply !== null;
  }

  /** Pops up to `count` messages from the worker's inbox, oldest first. */
  async takeWorkerMessages(worker: WorkerId, count: number): Promise<Buffer[]> {
    positiveInteger("count", count);
    const popped = await this.redis.lpopBuffer(this.keys.workerInbox(worker), count);
    return popped ?? [];
  }

  /** Wakes a worker waiting in {@link waitForWork}, say to notice that it is stopping. */
  async wake(worker: WorkerId): Promise<void> {
    const key = this.keys.workerWake(worker);
    await this.redis.multi().del(key).lpush(key, "1").exec();
  }

  /** Every registered worker, by id: those with a live heartbeat and those presumed dead but not yet recovered. */
  async listWorkers(): Promise<RegisteredWorker[]> {
    const registry = await this.redis.hgetall(this.keys.workers);
    const ids = Object.keys(registry).sort();
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.exists(this.keys.workerHeartbeat(id)).get(this.keys.workerState(id));
    const replies = (await pipeline.exec()) ?? [];
    return ids.map((id, i) => {
      const [existsError, exists] = replies[2 * i];
      const [stateError, state] = replies[2 * i + 1];
      if (existsError) throw existsError;
      if (stateError) throw stateError;
      const metadata = JSON.parse(registry[id]) as WorkerMetadata;
      return { ...metadata, state: state === null ? "running" : parseStatus(state as string), alive: exists === 1 };
    });
  }

  /** Registered workers whose heartbeat key still exists, by id. */
  async liveWorkers(): Promise<RegisteredWorker[]> {
    return (await this.listWorkers()).filter((worker) => worker.alive);
  }

  /**
   * A fresh id for one call of a script that must not run twice: ioredis sends it again, same id
   * and all, when its reply is lost with the connection, and the script then answers again without
   * acting again.
   */
  private nextCallId(): string {
    return `${this.callIdPrefix}.${++this.calls}`;
  }

  private async run(script: RedisScript, keys: readonly string[], args: readonly (string | Buffer)[]): Promise<unknown> {
    const invoke = (this.redis as unknown as Record<string, ScriptInvoker>)[`${script.name}Buffer`];
    try {
      // One array argument: ioredis flattens it, and a spread would overflow the call stack for big batches.
      return await invoke.call(this.redis, [...keys, ...args]);
    } catch (error) {
      throw asFencedError(error);
    }
  }
}

/** ioredis sends only Buffers as raw bytes; any other view would be stringified. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function prioritizedEntries(flat: readonly Buffer[]): PrioritizedTaskEntry[] {
  const entries: PrioritizedTaskEntry[] = [];
  for (let i = 0; i < flat.length; i += 3) {
    entries.push({ key: flat[i].toString(), payload: flat[i + 1], priority: Number(flat[i + 2].toString()) });
  }
  return entries;
}

/** Splits keys by their 1/0 reply flags, in the order given. */
function splitByFlag(keys: readonly Key[], flags: readonly number[]): [Key[], Key[]] {
  const ones: Key[] = [];
  const zeros: Key[] = [];
  keys.forEach((key, i) => (flags[i] === 1 ? ones : zeros).push(key));
  return [ones, zeros];
}

function parseStatus(reply: Buffer | string): WorkerStatus {
  const text = reply.toString();
  if (text === "running" || text === "stopping" || text === "dead") return text;
  throw new Error(`unexpected worker state in Redis: ${JSON.stringify(text)}`);
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be an integer >= 1, got ${value}`);
  return value;
}
