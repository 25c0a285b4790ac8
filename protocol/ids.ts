import { randomBytes } from "node:crypto";

/**
 * Names the runtimes use for each other. Plain strings on the wire and in Redis keys; the aliases say
 * which kind of name a value is.
 *
 * @example
 * ```ts
 * const worker: WorkerId = "host-1:4242:0";
 * const client: ClientId = "job:3f2a:1";
 * ```
 */

/** A worker's name, unique among the workers of one scheduler. */
export type WorkerId = string;

/** Whoever submitted graphs and wants their results: a `Client`, an HTTP job. */
export type ClientId = string;

/** A job's id (a BullMQ job id): chosen by the scheduler, or by a client as an idempotency key. */
export type JobId = string;

/**
 * A fresh job id, known before the job is added: time-ordered (milliseconds, base 36) and random, so
 * ids from several processes never collide. Never all digits, as BullMQ requires of chosen ids.
 * Clients make their submissions' ids with it too (see `JobOptions.id`).
 *
 * @example
 * ```ts
 * newJobId(); // "m5x2k9q1-3f9a0c1b2d4e"
 * ```
 */
export function newJobId(): JobId {
  return `${Date.now().toString(36)}-${randomBytes(6).toString("hex")}`;
}
