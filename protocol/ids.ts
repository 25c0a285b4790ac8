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
