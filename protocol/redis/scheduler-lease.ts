import type { Redis } from "ioredis";
import { DEFAULT_REDIS_PREFIX, redisKeys, type RedisKeys } from "./redis-keys.js";
import { acquireLease } from "./scripts/acquire-lease.js";
import type { RedisScript } from "./scripts/redis-script.js";
import { releaseLease } from "./scripts/release-lease.js";
import { renewLease } from "./scripts/renew-lease.js";
import { FENCED_ERROR_CODE, WIPED_ERROR_CODE } from "./scripts/scheduler-fence.js";

/** Default {@link SchedulerLeaseOptions.ttlMs}: a scheduler silent for 5 s may be replaced. */
export const DEFAULT_LEASE_TTL_MS = 5_000;
/** The shortest lease allowed, in ms: renewals go out every third of it, and must not crowd Redis. */
export const MIN_LEASE_TTL_MS = 300;

/** Who holds the scheduler role of a cluster, as its lease in Redis says. */
export interface LeaseHolder {
  /**
   * The fencing token: 1 for the first scheduler to take the role on this prefix, one more for
   * each that took it since. Every write a scheduler makes carries it.
   */
  readonly epoch: number;
  /** The scheduler's own id, unique per process start. */
  readonly id: string;
  /** The machine it runs on (its host name). */
  readonly host: string;
  /** Its operating-system process id. */
  readonly pid: number;
  /** When it took the role: Redis server time, Unix ms. */
  readonly since: number;
}

/** What a scheduler says about itself when it takes the role. */
export type LeaseCandidate = Pick<LeaseHolder, "id" | "host" | "pid">;

/** Options of a {@link SchedulerLease}. */
export interface SchedulerLeaseOptions {
  /** Key prefix of the cluster. Default `"weft"`. */
  readonly prefix?: string;
  /**
   * Lifetime of the lease, in ms: a scheduler that has not renewed it for this long may be
   * replaced by a standby. Renew it several times per lifetime (every third, say). At least
   * {@link MIN_LEASE_TTL_MS}; default {@link DEFAULT_LEASE_TTL_MS} (5,000).
   */
  readonly ttlMs?: number;
}

/** Reply of {@link SchedulerLease.acquire}. */
export type AcquireOutcome =
  | { readonly acquired: true; readonly holder: LeaseHolder; readonly lease: string }
  | { readonly acquired: false; readonly holder: LeaseHolder };

/** Reply of {@link SchedulerLease.renew}. */
export type RenewOutcome =
  | { readonly renewed: true }
  /** Another scheduler took the role; `holder` is undefined when its lease has lapsed since. */
  | { readonly renewed: false; readonly holder: LeaseHolder | undefined };

/**
 * The refusal of a fenced script: the scheduler making the write holds an epoch that is no longer
 * the current one, because another scheduler took the role. Nothing was written.
 *
 * @example
 * try { await plane.enqueueTasks("w1", tasks); }
 * catch (error) { if (error instanceof SchedulerFencedError) stopActing(); }
 */
export class SchedulerFencedError extends Error {
  override readonly name = "SchedulerFencedError";
}

/**
 * The refusal of a fenced script because the scheduler epoch is missing: Redis lost its data
 * (restarted empty, without persistence). Nothing was written. Not a lost role: renew the lease,
 * which sets the epoch again, and reconcile what Redis held.
 *
 * @example
 * try { await plane.enqueueTasks("w1", tasks); }
 * catch (error) { if (error instanceof RedisWipedError) await reconcile(); }
 */
export class RedisWipedError extends Error {
  override readonly name = "RedisWipedError";
}

/**
 * The error a script call rejected with, as a {@link SchedulerFencedError} when it is a fenced
 * script's refusal, a {@link RedisWipedError} when the epoch it checks is gone; other errors unchanged.
 *
 * @example
 * asFencedError(new Error("FENCED weft enqueue-tasks: scheduler epoch 1 is not the current one (2)")) instanceof SchedulerFencedError; // true
 */
export function asFencedError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  if (error.message.startsWith(`${FENCED_ERROR_CODE} `)) return new SchedulerFencedError(error.message);
  if (error.message.startsWith(`${WIPED_ERROR_CODE} `)) return new RedisWipedError(error.message);
  return error;
}

const SCRIPTS: readonly RedisScript[] = [acquireLease, renewLease, releaseLease];

/**
 * The scheduler role of one cluster (one Redis and prefix), as a lease in Redis: a key set only if
 * absent, with a lifetime its holder renews, and an epoch incremented at each taking, which every
 * scheduler write carries and every scheduler script checks (see `scripts/scheduler-fence.ts`). So
 * at most one scheduler acts at a time, and one that lost the role cannot write even before it
 * notices. Each method is one atomic script. The class does not own the connection.
 *
 * @example
 * const lease = new SchedulerLease(redis, { prefix: "weft", ttlMs: 5_000 });
 * const taken = await lease.acquire({ id: "a1b2", host: hostname(), pid: process.pid });
 * if (taken.acquired) setInterval(() => void lease.renew(taken.holder.epoch, taken.lease), 5_000 / 3);
 * else console.log(`standing by: scheduler ${taken.holder.id} holds the role`);
 */
export class SchedulerLease {
  /** The key names of the cluster. */
  readonly keys: RedisKeys;
  /** The lease's lifetime in ms. */
  readonly ttlMs: number;

  constructor(
    readonly redis: Redis,
    options: SchedulerLeaseOptions = {},
  ) {
    this.keys = redisKeys(options.prefix ?? DEFAULT_REDIS_PREFIX);
    this.ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    if (!Number.isInteger(this.ttlMs) || this.ttlMs < MIN_LEASE_TTL_MS) {
      throw new RangeError(`the scheduler lease's ttlMs must be an integer >= ${MIN_LEASE_TTL_MS}, got ${this.ttlMs}`);
    }
    for (const script of SCRIPTS) redis.defineCommand(script.name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
  }

  /**
   * Takes the role if it is free, with a new epoch; otherwise says who holds it. `lease` is the
   * stored JSON, which {@link renew} sets again.
   */
  async acquire(candidate: LeaseCandidate): Promise<AcquireOutcome> {
    const json = JSON.stringify({ id: candidate.id, host: candidate.host, pid: candidate.pid });
    const [taken, lease] = (await this.run(acquireLease, [json, String(this.ttlMs)])) as [number, string];
    const holder = parseHolder(lease);
    if (holder === undefined) throw new Error(`unreadable scheduler lease in Redis at ${this.keys.schedulerLease}: ${JSON.stringify(lease)}`);
    return taken === 1 ? { acquired: true, holder, lease } : { acquired: false, holder };
  }

  /**
   * Extends the lease of the scheduler holding `epoch` by its lifetime. Refused once another
   * scheduler has taken the role; a lease that lapsed while nobody took it is set again.
   */
  async renew(epoch: number, lease: string): Promise<RenewOutcome> {
    const [renewed, current] = (await this.run(renewLease, [String(epoch), String(this.ttlMs), lease])) as [number, string];
    return renewed === 1 ? { renewed: true } : { renewed: false, holder: parseHolder(current) };
  }

  /** Gives up the role held with `epoch`, so a standby takes it at once; false when it was not held. */
  async release(epoch: number): Promise<boolean> {
    return ((await this.run(releaseLease, [String(epoch)])) as number) === 1;
  }

  /** Who holds the role now, or undefined when nobody does. */
  async holder(): Promise<LeaseHolder | undefined> {
    const lease = await this.redis.get(this.keys.schedulerLease);
    return lease === null ? undefined : parseHolder(lease);
  }

  private run(script: RedisScript, args: readonly string[]): Promise<unknown> {
    const invoke = (this.redis as unknown as Record<string, (args: readonly string[]) => Promise<unknown>>)[script.name];
    return invoke.call(this.redis, [this.keys.schedulerLease, this.keys.schedulerEpoch, ...args]);
  }
}

/**
 * A lease's JSON as a {@link LeaseHolder}; undefined for anything else (such as "").
 *
 * @example
 * parseHolder('{"epoch":2,"since":1735732800000,"id":"5f2c","host":"node-1","pid":4242}')?.epoch; // 2
 */
export function parseHolder(lease: string): LeaseHolder | undefined {
  try {
    const value = JSON.parse(lease) as Partial<LeaseHolder>;
    if (typeof value.epoch !== "number" || typeof value.since !== "number") return undefined;
    return { epoch: value.epoch, id: String(value.id ?? ""), host: String(value.host ?? ""), pid: Number(value.pid ?? 0), since: value.since };
  } catch {
    return undefined;
  }
}

/**
 * A holder as log lines and messages show it: the time it took the role as an ISO date.
 *
 * @example
 * describeHolder(holder); // { epoch: 3, id: "5f2c…", host: "node-1", pid: 4242, since: "2025-01-01T12:00:00.000Z" }
 */
export function describeHolder(holder: LeaseHolder): { epoch: number; id: string; host: string; pid: number; since: string } {
  return { epoch: holder.epoch, id: holder.id, host: holder.host, pid: holder.pid, since: new Date(holder.since).toISOString() };
}
