/**
 * One atomic state change of the control plane, as a Lua script for Redis. Redis runs a script
 * without interleaving any other command, which is what makes each verb atomic.
 *
 * Every script receives all the keys it touches in `KEYS` (none are built inside Lua), as Redis
 * Cluster requires, and starts with a header comment listing its KEYS, ARGV and reply.
 */
export interface RedisScript {
  /** Name under which the script is registered on an ioredis connection (`defineCommand`). */
  readonly name: string;
  /** How many of the script's arguments are keys; the rest are `ARGV`. */
  readonly numberOfKeys: number;
  /** The Lua source. */
  readonly lua: string;
}
