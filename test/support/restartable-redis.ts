import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { spawnWithWatchdog } from "../../protocol/child-watchdog.js";
import { freePort } from "../../protocol/redis/private-redis-server.js";
import { waitForRedis } from "../../protocol/redis/wait-for-redis.js";
import { exited } from "./processes.js";

/**
 * A private redis-server that a test can kill and start again on the same port with the same data:
 * for faults of Redis itself (a crash, a restart) rather than of weft's processes.
 */
export interface RestartableRedis {
  /** `redis://127.0.0.1:<port>`, the same across restarts. */
  readonly url: string;
  readonly port: number;
  /** The running redis-server's process id; a new one after each {@link restart}. */
  readonly pid: number;
  /** True while a redis-server runs (between a {@link kill} and a {@link restart}, false). */
  readonly running: boolean;
  /** Sends `signal` (default SIGKILL: a crash, nothing flushed on the way out) and waits until the server has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts redis-server again on the same port and directory, and resolves once it answers PING:
   * after it has loaded its append-only file, so it holds every write it acknowledged before the kill.
   */
  restart(): Promise<void>;
  /** Stops the server and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts a redis-server on a free port of 127.0.0.1 that persists every write to an append-only file
 * (`appendonly yes`, `appendfsync always`: a write is on disk before Redis acknowledges it), in a
 * fresh directory kept across restarts and removed by `stop()`. It runs under the same watchdog as
 * `startRedisServer` (see `spawnWithWatchdog`), so nothing outlives the test process, even a SIGKILL.
 *
 * @example
 * ```ts
 * const redis = await startRestartableRedis();
 * await redis.kill();      // SIGKILL: as a crash
 * await redis.restart();   // same port, same data
 * await redis.stop();
 * ```
 */
export async function startRestartableRedis(): Promise<RestartableRedis> {
  const dir = mkdtempSync(join(tmpdir(), "weft-redis-aof-"));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let watchdog: ChildProcess | undefined;
  let pid = 0;
  let stopping: Promise<void> | undefined;

  const launch = async () => {
    const started = spawnWithWatchdog(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", dir, "--daemonize", "no", "--logfile", ""],
      { cwd: dir },
    );
    watchdog = started;
    // Its output is read (and dropped), so that the pipe never fills.
    started.stdout!.resume();
    started.stderr!.resume();
    await waitForRedis(url, { timeoutMs: 10_000 });
    pid = await serverPid(url);
  };

  const waitForExit = async () => {
    if (watchdog === undefined) return;
    // Waited for from here on: the watchdog exits once redis-server has.
    watchdog.ref();
    await exited(watchdog);
    watchdog = undefined;
  };

  await launch();
  return {
    url,
    port,
    get pid() {
      return pid;
    },
    get running() {
      return watchdog !== undefined;
    },
    async kill(signal: NodeJS.Signals = "SIGKILL") {
      if (watchdog === undefined) throw new Error("redis-server is not running");
      process.kill(pid, signal);
      await waitForExit();
    },
    async restart() {
      if (watchdog !== undefined) throw new Error("redis-server is still running; kill it first");
      await launch();
    },
    stop: () =>
      (stopping ??= (async () => {
        if (watchdog !== undefined) {
          watchdog.kill("SIGTERM");
          await waitForExit();
        }
        rmSync(dir, { recursive: true, force: true });
      })()),
  };
}

/**
 * A {@link RestartableRedis} for the whole test file: started before its tests, stopped after them.
 * Returns a getter, since the server exists only once `beforeAll` has run. A test that kills it
 * restarts it before it ends (in a `finally`), so that the next test finds it running.
 *
 * @example
 * ```ts
 * const redis = useRestartableRedis();
 * it("rides out a Redis crash", async () => { await redis().kill(); await redis().restart(); });
 * ```
 */
export function useRestartableRedis(): () => RestartableRedis {
  let server: RestartableRedis | undefined;
  beforeAll(async () => {
    server = await startRestartableRedis();
  });
  afterAll(() => server?.stop());
  return () => {
    if (server === undefined) throw new Error("the restartable redis-server is not started yet");
    return server;
  };
}

/** The process id the server at `url` reports (`INFO server`). */
async function serverPid(url: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await redis.connect();
    const match = /^process_id:(\d+)/m.exec(await redis.info("server"));
    if (match === null) throw new Error(`redis-server at ${url} did not report its process_id`);
    return Number(match[1]);
  } finally {
    redis.disconnect();
  }
}
