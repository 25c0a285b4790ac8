import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { startRedisServer, type RedisServer } from "../../protocol/redis/private-redis-server.js";

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

/**
 * Waits until the scheduler knows `count` workers (at most `timeoutMs`), then checks that it does: a
 * cluster that never forms fails here, naming how many joined, instead of timing out later.
 */
export async function waitForWorkers(scheduler: { readonly workerIds: readonly string[] }, count: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (scheduler.workerIds.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(scheduler.workerIds).toHaveLength(count);
}

/** True while a process with this id exists (signal 0 checks without sending anything). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
