import type { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { connectRedis } from "../../../protocol/redis/connect-redis.js";
import { freePort } from "../../../protocol/redis/private-redis-server.js";
import { RedisReachability, RedisUnavailableError, shownRedisUrl } from "../../../protocol/redis/redis-reachability.js";
import { useRestartableRedis } from "../../support/restartable-redis.js";

const redis = useRestartableRedis();

const open: { connections: Redis[]; reachability?: RedisReachability } = { connections: [] };
afterEach(async () => {
  open.reachability?.stop();
  for (const connection of open.connections.splice(0)) connection.disconnect();
  // A test that killed the server leaves it running for the next.
  if (!redis().running) await redis().restart();
});

/** A reachability whose hooks are recorded, and `count` connections reporting to it, each connected. */
async function watched(count: number) {
  const said: string[] = [];
  const others: Error[] = [];
  const reachability = new RedisReachability(redis().url, {
    onUnreachable: (error) => said.push(`unreachable: ${error.message}`),
    onReachable: (downMs) => said.push(`reachable after ${downMs} ms`),
    probeMs: 50,
  });
  open.reachability = reachability;
  const onError = reachability.filter((error) => others.push(error));
  for (let i = 0; i < count; i++) {
    const connection = connectRedis(redis().url, onError);
    open.connections.push(connection);
    await connection.ping();
  }
  return { said, others, reachability, onError };
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("RedisReachability", () => {
  it("says once that Redis is unreachable, however many connections retry, and once that it is back, with how long it was down", async () => {
    const { said, others, reachability } = await watched(6);
    await redis().kill();
    await until(() => said.length === 1);
    expect(said[0]).toMatch(/^unreachable: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
    expect(reachability.outage?.error.message).toMatch(/ECONNREFUSED/);
    // Every connection keeps retrying meanwhile (ioredis backs off to 2 s between attempts).
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(said).toHaveLength(1);

    await redis().restart();
    await until(() => said.length === 2);
    const downMs = Number(/^reachable after (\d+) ms$/.exec(said[1])![1]);
    expect(downMs).toBeGreaterThanOrEqual(2_500);
    expect(downMs).toBeLessThan(20_000);
    expect(reachability.outage).toBeUndefined();
    // The connections are back too, and no connection error went on to the other errors.
    await Promise.all(open.connections.map((connection) => connection.ping()));
    expect(others).toEqual([]);
  }, 30_000);

  it("passes errors that are not connection errors on, and says nothing for a connection error a fresh connection does not confirm", async () => {
    const { said, others, onError } = await watched(1);
    onError(new Error("WRONGTYPE Operation against a key holding the wrong kind of value"));
    onError(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(others.map((error) => error.message)).toEqual(["WRONGTYPE Operation against a key holding the wrong kind of value"]);
    expect(said).toEqual([]);
  });

  it("refuses at once while Redis is down, naming Redis without its password and since when it is down", async () => {
    const port = await freePort();
    const reachability = new RedisReachability(`redis://admin:s3cret@127.0.0.1:${port}`);
    open.reachability = reachability;
    expect(() => reachability.check("the job was not submitted")).not.toThrow();
    reachability.failed(Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:${port}`), { code: "ECONNREFUSED" }));
    await until(() => reachability.outage !== undefined);
    let refused: unknown;
    try {
      reachability.check("the job was not submitted");
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(RedisUnavailableError);
    expect((refused as Error).message).toMatch(
      new RegExp(
        `^Redis at redis://admin:\\*\\*\\*@127\\.0\\.0\\.1:${port} is unreachable \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}, for \\d+\\.\\d s\\): ` +
          "the job was not submitted; retry once Redis is back$",
      ),
    );
    expect((refused as Error).message).not.toContain("s3cret");
  });

  it("bounds a call that Redis does not answer", async () => {
    const reachability = new RedisReachability(redis().url);
    open.reachability = reachability;
    const started = Date.now();
    await expect(reachability.within(new Promise(() => undefined), 200, "nothing was done")).rejects.toThrow(
      `Redis at ${redis().url} did not answer in time (no reply within 200 ms): nothing was done; retry once Redis is back`,
    );
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe("shownRedisUrl", () => {
  it("masks the password and keeps the rest", () => {
    expect(shownRedisUrl("redis://admin:s3cret@10.0.0.5:6379/2")).toBe("redis://admin:***@10.0.0.5:6379/2");
    expect(shownRedisUrl("rediss://:s3cret@cache.internal:6380")).toBe("rediss://:***@cache.internal:6380");
    expect(shownRedisUrl("redis://127.0.0.1:6379")).toBe("redis://127.0.0.1:6379");
  });
});
