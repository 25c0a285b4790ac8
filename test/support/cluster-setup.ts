import { afterAll, afterEach, beforeAll } from "vitest";
import { startRedisServer, type RedisServer } from "../../scheduler/redis/private-redis-server.js";

/**
 * A private redis-server for the whole test file: started before its tests, stopped after them.
 * Returns a getter, since the server exists only once `beforeAll` has run.
 */
export function usePrivateRedis(): () => RedisServer {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(() => server?.stop());
  return () => {
    if (server === undefined) throw new Error("the private redis-server is not started yet");
    return server;
  };
}

/** Things a test starts, stopped after each test in the reverse order they were started. */
export function useStoppables(): (...things: { stop(): Promise<void> }[]) => void {
  const started: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const thing of started.splice(0).reverse()) await thing.stop();
  });
  return (...things) => {
    started.push(...things);
  };
}
