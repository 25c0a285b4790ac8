import { Redis } from "ioredis";
import { afterEach } from "vitest";
import { usePrivateRedis } from "./cluster-setup.js";

/**
 * The file's private redis-server (see `usePrivateRedis`), and connections to it that each test
 * opens with `connect()` and that are closed after that test.
 *
 * @example
 * ```ts
 * const { connect } = redisConnections();
 * it("...", async () => { const redis = connect(); await redis.set("k", "v"); });
 * ```
 */
export function redisConnections(): { connect(): Redis } {
  const server = usePrivateRedis();
  const connections: Redis[] = [];
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((redis) => redis.quit()));
  });
  return {
    connect(): Redis {
      const redis = new Redis(server().url);
      connections.push(redis);
      return redis;
    },
  };
}
