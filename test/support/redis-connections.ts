import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll } from "vitest";
import { startRedisServer, type RedisServer } from "../../protocol/redis/private-redis-server.js";

/**
 * A private redis-server for one test file (started before its tests, stopped after them), and
 * connections to it that each test opens with `connect()` and that are closed after that test.
 *
 * @example
 * ```ts
 * const { connect } = redisConnections();
 * it("...", async () => { const redis = connect(); await redis.set("k", "v"); });
 * ```
 */
export function redisConnections(): { connect(): Redis } {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  const connections: Redis[] = [];
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((redis) => redis.quit()));
  });
  return {
    connect(): Redis {
      const redis = new Redis(server!.url);
      connections.push(redis);
      return redis;
    },
  };
}
