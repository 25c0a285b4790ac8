import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { describeHolder, SchedulerLease, type LeaseHolder } from "../protocol/redis/scheduler-lease.js";

/** Options of the scheduler role's lease (`DistributedSchedulerOptions.lease`). Every field is optional. */
export interface SchedulerRoleOptions {
  /**
   * Lifetime of the lease in ms: a scheduler that has not renewed it for this long (crashed,
   * frozen, cut off from Redis) is replaced by a standby. It is renewed every third of it. At least
   * 300; default 5,000 (`DEFAULT_LEASE_TTL_MS`).
   */
  readonly ttlMs?: number;
  /**
   * When another scheduler holds the role: true waits as a standby, trying again every quarter of
   * the lease's lifetime, and takes over once that scheduler's lease lapses or is released; false
   * throws a {@link SchedulerRoleTakenError} at once. Default true.
   */
  readonly standby?: boolean;
  /** Stops waiting as a standby: the start then rejects with the signal's reason. Default: none. */
  readonly signal?: AbortSignal;
  /** Called once, when this scheduler begins to stand by, with the scheduler holding the role. Default: none. */
  readonly onStandby?: (holder: LeaseHolder) => void;
  /**
   * Called once if this scheduler loses the role after taking it (another scheduler took it: this
   * one paused or was cut off past its lease). By then it has stopped acting: it takes no events and
   * sends no work, and its writes would be refused anyway. Default: the error goes to `onError`.
   */
  readonly onLost?: (error: LeaseLostError) => void;
}

/**
 * Thrown at start-up with `standby: false` when another scheduler holds the role.
 *
 * @example
 * try { await DistributedScheduler.start({ redis, lease: { standby: false } }); }
 * catch (error) { if (error instanceof SchedulerRoleTakenError) console.error(error.message); }
 */
export class SchedulerRoleTakenError extends Error {
  override readonly name = "SchedulerRoleTakenError";

  constructor(
    /** The scheduler holding the role. */
    readonly holder: LeaseHolder,
    where: string,
  ) {
    const h = describeHolder(holder);
    super(`another scheduler holds the lease ${where}: id ${h.id} on host ${h.host}, pid ${h.pid}, epoch ${h.epoch}, since ${h.since}`);
  }
}

/**
 * Why a scheduler that held the role stopped acting: another scheduler took the role.
 *
 * @example
 * await DistributedScheduler.start({ redis, lease: { onLost: (error) => { log(error.message); process.exit(3); } } });
 */
export class LeaseLostError extends Error {
  override readonly name = "LeaseLostError";

  constructor(
    /** The epoch this scheduler held. */
    readonly epoch: number,
    /** The scheduler holding the role now, when known. */
    readonly holder: LeaseHolder | undefined,
    /** What gave the loss away: a refused renewal, or a write refused by the fence. */
    readonly how: string,
  ) {
    const now = holder === undefined ? "another scheduler took it" : `scheduler ${holder.id} on ${holder.host} (pid ${holder.pid}) holds it with epoch ${holder.epoch}`;
    super(`lost the scheduler lease (epoch ${epoch}): ${now}; noticed by ${how}`);
  }
}

/**
 * This scheduler's hold on the scheduler role of its cluster: taken with {@link SchedulerRole.take}
 * (standing by while another scheduler holds it), renewed every third of the lease's lifetime until
 * released or lost. The I/O and the clock of the lease live here, in the shell; the fence itself is
 * in the Redis scripts.
 *
 * @example
 * ```ts
 * const role = await SchedulerRole.take(new SchedulerLease(redis, { prefix }), { onStandby: (h) => log(h) });
 * const plane = new ControlPlane(redis, { prefix, schedulerEpoch: role.epoch });
 * role.keepRenewing((lost) => stopActing(lost), (error) => log(error));
 * ```
 */
export class SchedulerRole {
  private renewTimer: NodeJS.Timeout | undefined;
  /** The renewal under way, if one is. */
  private renewal: Promise<void> | undefined;
  private lost = false;
  private onLost: ((holder: LeaseHolder | undefined) => void) | undefined;
  private onRenewError: ((error: Error) => void) | undefined;

  private constructor(
    private readonly lease: SchedulerLease,
    /** This scheduler, as its lease describes it. */
    readonly holder: LeaseHolder,
    private readonly stored: string,
    /** The scheduler that held the role while this one stood by, if it did. */
    readonly previous: LeaseHolder | undefined,
  ) {}

  /** The fencing token every write of this scheduler carries. */
  get epoch(): number {
    return this.holder.epoch;
  }

  /**
   * Takes the role, waiting as a standby while another scheduler holds it (see
   * {@link SchedulerRoleOptions.standby}). The wait has no end by design, but `signal` ends it.
   */
  static async take(lease: SchedulerLease, options: SchedulerRoleOptions = {}, onError?: (error: Error) => void): Promise<SchedulerRole> {
    const candidate = { id: randomBytes(6).toString("hex"), host: hostname(), pid: process.pid };
    const retryMs = Math.max(50, Math.floor(lease.ttlMs / 4));
    let previous: LeaseHolder | undefined;
    for (;;) {
      options.signal?.throwIfAborted();
      try {
        const outcome = await lease.acquire(candidate);
        if (outcome.acquired) return new SchedulerRole(lease, outcome.holder, outcome.lease, previous);
        if (options.standby === false) throw new SchedulerRoleTakenError(outcome.holder, `on prefix ${lease.keys.prefix}`);
        // Said once, not at every try; a later holder (a third scheduler was quicker) is not news enough.
        if (previous === undefined) options.onStandby?.(outcome.holder);
        previous = outcome.holder;
      } catch (error) {
        if (error instanceof SchedulerRoleTakenError) throw error;
        onError?.(error as Error);
      }
      await pause(retryMs, options.signal);
    }
  }

  /**
   * Renews the lease every third of its lifetime until {@link stopRenewing}. `onLost` is called once
   * if a renewal finds that another scheduler took the role; `onError` with errors worth a retry
   * (Redis unreachable: the renewal is tried again, and the fence keeps Redis safe meanwhile).
   */
  keepRenewing(onLost: (holder: LeaseHolder | undefined) => void, onError?: (error: Error) => void): void {
    this.onLost = onLost;
    this.onRenewError = onError;
    this.renewTimer = setInterval(() => void this.renewNow(), Math.max(1, Math.floor(this.lease.ttlMs / 3)));
  }

  /**
   * Renews the lease now, out of turn: after Redis lost its data, the renewal sets the lease and the
   * epoch again, which the fenced writes need. Resolves true while the role is held (or the renewal
   * could not reach Redis), false once it is lost (`onLost` was called). A renewal already under way
   * is waited for rather than doubled.
   */
  async renewNow(): Promise<boolean> {
    if (this.lost) return false;
    this.renewal ??= (async () => {
      try {
        const outcome = await this.lease.renew(this.epoch, this.stored);
        if (!outcome.renewed && !this.lost && this.renewTimer !== undefined) {
          this.stopRenewing();
          this.onLost?.(outcome.holder);
        }
      } catch (error) {
        this.onRenewError?.(error as Error);
      } finally {
        this.renewal = undefined;
      }
    })();
    await this.renewal;
    return !this.lost;
  }

  /** Stops renewing (the role lapses within the lease's lifetime unless released). */
  stopRenewing(): void {
    this.lost = true;
    clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }

  /** Stops renewing and gives up the role, so a standby takes it at once; false when it was no longer held. */
  async release(): Promise<boolean> {
    this.stopRenewing();
    return this.lease.release(this.epoch);
  }

  /** Who holds the role now, asked within `timeoutMs`; undefined when nobody does or Redis did not answer. */
  async currentHolder(timeoutMs: number): Promise<LeaseHolder | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
    try {
      return await Promise.race([this.lease.holder().catch(() => undefined), late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Waits `ms`, or less when `signal` aborts (the caller's next check throws). */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
