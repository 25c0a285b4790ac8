import { afterEach, describe, expect, it } from "vitest";
import type { Logger } from "../../protocol/logger.js";
import { freePort, startRedisServer, type RedisServer } from "../../protocol/redis/private-redis-server.js";
import { chooseRedis, DEFAULT_REDIS_URL, reachRedis } from "../../cli/reach-redis.js";
import { exited } from "../support/processes.js";
import { runWeft, startWeft, type StartedWeft } from "../support/weft-command.js";

/** The JSON log lines a command wrote on stderr. */
function logLines(stderr: string): { level: string; msg: string }[] {
  return stderr
    .trim()
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as { level: string; msg: string });
}

/** A Redis URL with a password, at a port of this machine where nothing listens. */
async function unansweredUrl(): Promise<{ url: string; shown: string }> {
  const port = await freePort();
  return { url: `redis://admin:s3cret@127.0.0.1:${port}`, shown: `redis://admin:***@127.0.0.1:${port}` };
}

describe.concurrent("weft scheduler and weft worker with no Redis at their URL", () => {
  it.each(["scheduler", "worker"])("weft %s tries for --redis-timeout, logs one warning, then exits 1 naming the URL without its password", async (command) => {
    const { url, shown } = await unansweredUrl();
    const extra = command === "scheduler" ? ["--no-http"] : ["--nthreads", "1"];
    const started = Date.now();
    const { stderr, code } = await runWeft([command, "--redis", url, "--redis-timeout", "2", ...extra]);
    const seconds = (Date.now() - started) / 1000;

    expect(code).toBe(1);
    // 2 s of trying, plus start-up from sources on a busy machine (10 s and more); today's code never exits at all.
    expect(seconds).toBeGreaterThanOrEqual(2);
    expect(seconds).toBeLessThan(45);
    expect(stderr).not.toContain("s3cret");
    const lines = logLines(stderr).filter((line) => line.level !== "info");
    expect(lines.map((line) => line.level)).toEqual(["warn", "error"]);
    expect(lines[0].msg).toBe(`Redis at ${shown} does not answer yet; trying again for up to 2 s (--redis-timeout)`);
    expect(lines[1].msg).toMatch(new RegExp(`^weft ${command}: could not reach Redis at ${shown.replace(/[*.]/g, "\\$&")} within [\\d.]+ s \\(connect ECONNREFUSED`));
    expect(lines[1].msg).toContain("Check the URL (--redis)");
    // No worker process was started against a Redis that is not there.
    expect(stderr).not.toContain("worker process started");
  }, 60_000);

  it("exits at once when Redis refuses the URL's user name and password, since waiting would not help", async () => {
    const redis = await startRedisServer();
    try {
      const url = redis.url.replace("redis://", "redis://nobody:wrong@");
      // A timeout longer than the test's: only failing at once passes.
      const { stderr, code } = await runWeft(["scheduler", "--redis", url, "--redis-timeout", "600", "--no-http"]);
      expect(code).toBe(1);
      const [error] = logLines(stderr).filter((line) => line.level === "error");
      expect(error.msg).toMatch(/^weft scheduler: Redis at redis:\/\/nobody:\*\*\*@127\.0\.0\.1:\d+\/? refused the user name or password \(WRONGPASS/);
      expect(stderr).not.toContain("wrong");
    } finally {
      await redis.stop();
    }
  });
});

describe("weft scheduler waiting for a Redis that starts later", () => {
  let scheduler: StartedWeft | undefined;
  let redis: RedisServer | undefined;
  afterEach(async () => {
    if (scheduler !== undefined && scheduler.command.exitCode === null) {
      scheduler.command.kill("SIGTERM");
      await exited(scheduler.command);
    }
    await redis?.stop();
    scheduler = redis = undefined;
  });

  it("starts once Redis answers within --redis-timeout", async () => {
    const port = await freePort();
    scheduler = startWeft(["scheduler", "--redis", `redis://127.0.0.1:${port}`, "--redis-timeout", "60", "--no-http"]);
    const deadline = Date.now() + 20_000;
    while (!scheduler.stderr().includes("does not answer yet") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    redis = await startRedisServer({ port });
    while (!scheduler.stderr().includes("weft scheduler running") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));

    const messages = logLines(scheduler.stderr()).map((line) => line.msg);
    expect(messages).toEqual([expect.stringMatching(/does not answer yet/), "weft scheduler running"]);
    scheduler.command.kill("SIGTERM");
    expect(await exited(scheduler.command)).toEqual({ code: 0, signal: null });
  });
});

describe("the Redis a command starts against", () => {
  it("is --redis, else WEFT_REDIS, else the local default", () => {
    expect(chooseRedis("scheduler", "redis://a:1", { WEFT_REDIS: "redis://b:2" })).toEqual({ url: "redis://a:1", source: "flag" });
    expect(chooseRedis("scheduler", undefined, { WEFT_REDIS: "redis://b:2" })).toEqual({ url: "redis://b:2", source: "environment" });
    expect(chooseRedis("scheduler", undefined, {})).toEqual({ url: DEFAULT_REDIS_URL, source: "default" });
    expect(DEFAULT_REDIS_URL).toBe("redis://127.0.0.1:6379");
  });

  it("says, when the local default does not answer, how to start a Redis or a whole local cluster", async () => {
    const logged: { level: string; msg: string }[] = [];
    const record = (level: string) => (msg: string) => void logged.push({ level, msg });
    const logger: Logger = { debug: record("debug"), info: record("info"), warn: record("warn"), error: record("error") };
    // The default's wording on a port where nothing listens: the tests never touch a Redis on 6379.
    const port = await freePort();
    expect(await reachRedis("scheduler", { url: `redis://127.0.0.1:${port}`, source: "default" }, 0, logger)).toBe(false);
    expect(logged).toHaveLength(1);
    expect(logged[0].level).toBe("error");
    expect(logged[0].msg).toContain("No --redis was given, so this is the local default.");
    expect(logged[0].msg).toContain('Start a Redis here with "redis-server" (package redis-server on Debian/Ubuntu, "brew install redis" on macOS)');
    expect(logged[0].msg).toContain('run "weft up" for a whole cluster on this machine');
  });
});
