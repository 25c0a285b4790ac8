import { randomBytes } from "node:crypto";
import type { Key } from "../graph/task-spec.js";
import type { WorkerId } from "../protocol/ids.js";
import type { Logger } from "../protocol/logger.js";
import type { ControlPlane, EventEntry } from "../protocol/redis/control-plane.js";
import { decodeWorkerAccount } from "../protocol/worker-account.js";
import type { WorkerAccount } from "./core/events.js";

/**
 * The cluster generation a distributed scheduler began (see `RedisKeys.generation`), and the
 * accounts its workers send for it (`protocol/worker-account.ts`), turned into the core's
 * `worker-account` events. A scheduler begins a generation when it takes the role (its
 * predecessor's queues and reports are cleared; the accounts tell it what the workers kept) and
 * again when it finds Redis lost its data (then what it had sent each worker is compared with the
 * worker's account).
 *
 * @example
 * ```ts
 * const generation = new ClusterGeneration(plane, { heartbeatTtlMs: 3_000, logger });
 * await generation.takeOver();
 * const event = generation.account(entry, (worker) => known.has(worker));
 * if (event !== undefined) core.handle(event);
 * ```
 */
export class ClusterGeneration {
  /** The generation begun last; Redis holding another (or none) means it lost its data. */
  current = "";
  /** Since Redis lost its data: the tasks each worker had been sent, until its account says which survived. */
  private readonly unsure = new Map<WorkerId, Key[]>();
  /** Accounts of workers that have not joined yet (their account came before the tick that sees them). */
  private readonly early = new Map<WorkerId, EventEntry>();
  /** Live workers whose first account has not come yet. */
  private accountsDue = new Set<WorkerId>();
  private accountsArrived: () => void = () => undefined;
  /**
   * Resolves once every worker alive when the scheduler took the role has sent its account, or a
   * heartbeat lifetime has passed: what a scheduler process waits for before taking its
   * predecessor's jobs again, so that they reuse the results the workers kept.
   */
  readonly accountsIn: Promise<void> = new Promise((resolve) => (this.accountsArrived = resolve));

  constructor(
    private readonly plane: ControlPlane,
    private readonly options: { readonly heartbeatTtlMs: number; readonly logger?: Logger },
  ) {}

  /**
   * Begins the first generation of a scheduler that has just taken the role: the workers' queues and
   * the events stream are emptied (what its predecessor queued would run for nobody; the accounts
   * supersede the reports it did not read), and every worker sends its account at its next heartbeat.
   */
  async takeOver(): Promise<void> {
    const registered = await this.plane.listWorkers();
    const generation = newGeneration();
    const cleared = await this.plane.beginGeneration(generation, { takeover: registered.map((worker) => worker.id) });
    this.current = generation;
    this.accountsDue = new Set(registered.filter((worker) => worker.alive && worker.state === "running").map((worker) => worker.id));
    if (this.accountsDue.size === 0) this.accountsArrived();
    else setTimeout(this.accountsArrived, this.options.heartbeatTtlMs).unref();
    if (cleared > 0) {
      this.options.logger?.info(`cleared ${cleared} tasks the previous scheduler had queued on ${registered.length} workers; they run again as their jobs need them`, {
        cleared,
        workers: registered.length,
      });
    }
  }

  /**
   * Begins a generation after Redis lost its data. `sent` gives, by worker, the tasks the scheduler
   * has sent it and not heard back about: read now, in the same turn as the generation's write is
   * sent, so that every enqueue sent before it is in Redis when the worker's account is read.
   */
  async afterDataLoss(sent: ReadonlyMap<WorkerId, readonly Key[]>): Promise<void> {
    for (const [worker, keys] of sent) {
      if (keys.length > 0) this.unsure.set(worker, [...new Set([...(this.unsure.get(worker) ?? []), ...keys])]);
    }
    const generation = newGeneration();
    await this.plane.beginGeneration(generation);
    this.current = generation;
  }

  /**
   * The core's event for a worker's account entry, or undefined: an account of an older generation
   * is dropped (the worker sends another), one of a worker not joined yet (`joined` says) waits for
   * {@link joined}, and an unreadable one is reported to `onError`.
   */
  account(entry: EventEntry, joined: (worker: WorkerId) => boolean, onError?: (error: Error) => void): WorkerAccount | undefined {
    let account;
    try {
      account = decodeWorkerAccount(entry.account!);
    } catch (error) {
      onError?.(new Error(`unreadable account from worker ${entry.worker}: ${(error as Error).message}`));
      return undefined;
    }
    if (account.generation !== this.current) return undefined;
    if (!joined(entry.worker)) {
      this.early.set(entry.worker, entry);
      return undefined;
    }
    const unsure = this.unsure.get(entry.worker);
    this.unsure.delete(entry.worker);
    if (this.accountsDue.delete(entry.worker) && this.accountsDue.size === 0) this.accountsArrived();
    return {
      type: "worker-account",
      worker: entry.worker,
      held: account.held,
      assigned: [...account.running, ...(entry.assigned ?? [])],
      ...(unsure !== undefined && { unsure }),
    };
  }

  /** The worker joined: the core's event for the account it sent before, if it did. */
  joined(worker: WorkerId): WorkerAccount | undefined {
    const entry = this.early.get(worker);
    this.early.delete(worker);
    return entry === undefined ? undefined : this.account(entry, () => true);
  }

  /** The worker left: nothing it said or was sent matters any more. */
  left(worker: WorkerId): void {
    this.unsure.delete(worker);
    this.early.delete(worker);
  }
}

/** A new cluster generation: random, so that no two schedulers (or runs of one) begin the same. */
function newGeneration(): string {
  return randomBytes(9).toString("base64url");
}
