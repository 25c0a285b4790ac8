import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { spawnWithWatchdog } from "../../protocol/child-watchdog.js";
import { freePort } from "../../protocol/redis/private-redis-server.js";
import { waitForRedis } from "../../protocol/redis/wait-for-redis.js";
import { exited } from "./processes.js";

/**
 * A private redis-server with an append-only file, which a test can crash and start again on the
 * same port and directory: Redis restarted with its data, as a supervisor restarts a crashed one.
 */
export interface AofRedis {
  /** `redis://127.0.0.1:<port>`, the same across restarts. */
  readonly url: string;
  readonly port: number;
  /** Its directory (the append-only file lives there), kept across restarts. */
  readonly dir: string;
  /** The running redis-server's process id; a new one after each {@link restart}. */
  readonly pid: number;
  /** True between a start and a {@link kill}. */
  readonly running: boolean;
  /** Sends `signal` to redis-server (default SIGKILL: a crash, nothing flushed on the way out) and resolves once it has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts redis-server again on the same port and directory; resolves once it has loaded its append-only file and answers PING. */
  restart(): Promise<void>;
  /** Stops redis-server and removes its directory. Safe to call twice, and after a {@link kill}. */
  stop(): Promise<void>;
}

/**
 * Starts a redis-server on a free port of 127.0.0.1 with `appendonly yes` and `appendfsync always`,
 * in a fresh temporary directory. `always` because a fault test asserts that nothing Redis
 * acknowledged is lost: Redis writes and fsyncs the file before it sends the replies of a batch of
 * commands, so a SIGKILL loses no acknowledged write. With `everysec`, a write can be acknowledged
 * while its `write(2)` is postponed behind a slow fsync, and a crash then loses up to two seconds of
 * acknowledged writes: a different fault (data loss) from the one a restart test means.
 *
 * RDB snapshots are off (`--save ""`): the append-only file alone is what a restart loads. It runs
 * under the watchdog of `spawnWithWatchdog`, so no redis-server outlives the test process, even a
 * SIGKILLed one; the directory is removed by {@link AofRedis.stop}.
 *
 * @example
 * ```ts
 * const redis = await startAofRedis();
 * await redis.kill();     // SIGKILL
 * await redis.restart();  // same port, same data
 * await redis.stop();
 * ```
 */
export async function startAofRedis(): Promise<AofRedis> {
  const dir = mkdtempSync(join(tmpdir(), "weft-aof-redis-"));
  // Another process can take the free port between our probe and redis-server's bind: then try another.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const server = new AofRedisServer(dir, port);
    try {
      await server.launch();
      return server;
    } catch (error) {
      await server.halt();
      if (attempt === 5 || !/Address already in use/i.test((error as Error).message)) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
}

class AofRedisServer implements AofRedis {
  readonly url: string;
  private watchdog: ChildProcess | undefined;
  private serverPid = 0;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    readonly port: number,
  ) {
    this.url = `redis://127.0.0.1:${port}`;
  }

  get pid(): number {
    return this.serverPid;
  }

  get running(): boolean {
    return this.watchdog !== undefined;
  }

  async launch(): Promise<void> {
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir, "--daemonize", "no", "--logfile", ""];
    args.push("--save", "", "--appendonly", "yes", "--appendfsync", "always");
    const watchdog = spawnWithWatchdog("redis-server", args, { cwd: this.dir });
    this.watchdog = watchdog;
    let output = "";
    watchdog.stdout!.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
    watchdog.stderr!.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
    const ended = exited(watchdog).then(() => {
      throw new Error(`redis-server on port ${this.port} exited during start-up`);
    });
    ended.catch(() => undefined);
    try {
      await Promise.race([waitForRedis(this.url, { timeoutMs: 10_000 }), ended]);
      this.serverPid = await processIdOf(this.url);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${output}`);
    }
  }

  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (this.watchdog === undefined) throw new Error("redis-server is not running");
    process.kill(this.serverPid, signal);
    await this.waitForExit();
  }

  async restart(): Promise<void> {
    if (this.watchdog !== undefined) throw new Error("redis-server is still running: kill it first");
    await this.launch();
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.halt();
      rmSync(this.dir, { recursive: true, force: true });
    })();
    return this.stopping;
  }

  /** Ends redis-server, if it runs, and keeps its directory. */
  async halt(): Promise<void> {
    // The watchdog ends redis-server (SIGTERM, SIGKILL 5 s later) and exits after it.
    this.watchdog?.kill("SIGTERM");
    await this.waitForExit();
  }

  private async waitForExit(): Promise<void> {
    const watchdog = this.watchdog;
    if (watchdog === undefined) return;
    // Waited for from here on: the watchdog does not keep the test process alive otherwise.
    watchdog.ref();
    await exited(watchdog);
    this.watchdog = undefined;
  }
}

/** The process id the server at `url` reports (`INFO server`): the watchdog's child, which a kill must reach. */
async function processIdOf(url: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on("error", () => undefined);
  try {
    await redis.connect();
    const match = /^process_id:(\d+)/m.exec(await redis.info("server"));
    if (match === null) throw new Error(`redis-server at ${url} did not report its process_id`);
    return Number(match[1]);
  } finally {
    redis.disconnect();
  }
}
