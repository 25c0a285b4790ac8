import type { ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { spawnWithWatchdog } from "../child-watchdog.js";

/** A private `redis-server`, started for tests or for a local cluster. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Shuts the server down and resolves once its process has exited. Safe to call twice. */
  stop(): Promise<void>;
}

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /** The executable, looked up on PATH unless it contains a slash. Default `"redis-server"`. */
  readonly binary?: string;
  /** How long to wait for the first PONG, in ms. Default 10,000. */
  readonly startTimeoutMs?: number;
  /** What needs the server, for the error when `redis-server` is missing. Default `"the Redis tests"`. */
  readonly neededBy?: string;
  /** The port to listen on, tried once; for a test of something waiting for Redis there. Default: a free port. */
  readonly port?: number;
}

/**
 * Starts a private `redis-server` on a free port of 127.0.0.1, with persistence off and its working
 * directory in a fresh temporary directory, and resolves once it answers PING. Never touches any
 * other Redis on the machine. Stop it when done (in `afterAll`, say). It runs under a watchdog
 * process (see `spawnWithWatchdog`), so it stops and its directory goes however this process ends,
 * even when killed with SIGKILL.
 *
 * @throws Error saying how to install Redis (the Debian/Ubuntu, Fedora, Alpine and Homebrew packages)
 * when `redis-server` is not on PATH.
 * @example
 * ```ts
 * const server = await startRedisServer({ neededBy: "Client.cluster()" });
 * const redis = new Redis(server.url);
 * await server.stop();
 * ```
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = resolveBinary(options.binary ?? "redis-server", options.neededBy ?? "the Redis tests");
  if (options.port !== undefined) return launch(binary, options.port, options.startTimeoutMs ?? 10_000);
  // Another process can take the free port between our probe and redis-server's bind; try again then.
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    try {
      return await launch(binary, port, options.startTimeoutMs ?? 10_000);
    } catch (error) {
      lastError = error;
      if (!(error instanceof PortTakenError)) throw error;
    }
  }
  throw lastError;
}

class PortTakenError extends Error {}

async function launch(binary: string, port: number, startTimeoutMs: number): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), "weft-redis-"));
  const child = spawnWithWatchdog(
    binary,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", "--logfile", ""],
    { cwd: dir, removeAfterExit: dir },
  );
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  // The watchdog stops the server (SIGTERM, SIGKILL after 5 s) and removes the directory; it is
  // killed itself only if that takes far longer.
  const cleanUp = async () => {
    // Waited for from here on: a program stopping the server ends only once it is gone.
    child.ref();
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    const forced = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(forced);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitForPong(port, child, () => output, startTimeoutMs);
  } catch (error) {
    await cleanUp();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => (stopping ??= cleanUp()),
  };
}

/** Polls with a raw PING until the server answers, fails, or the time runs out. */
async function waitForPong(port: number, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const text = output();
      const message = `redis-server exited during start-up (code ${child.exitCode}, signal ${child.signalCode}):\n${text}`;
      throw /Address already in use/i.test(text) ? new PortTakenError(message) : new Error(message);
    }
    if (await answersPing(port)) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let reply = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("*1\r\n$4\r\nPING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString();
      // "-LOADING ..." or any other error means not ready yet.
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
  });
}

/**
 * A port nothing listens on right now: the kernel's pick for port 0.
 *
 * @example
 * ```ts
 * const closed = `redis://127.0.0.1:${await freePort()}`; // a Redis URL nothing answers at
 * ```
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("could not find a free port"))));
    });
  });
}

function resolveBinary(binary: string, neededBy: string): string {
  const candidates = binary.includes("/")
    ? [binary]
    : (process.env.PATH ?? "").split(delimiter).filter(Boolean).map((dir) => join(dir, binary));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next directory
    }
  }
  throw new Error(
    `${binary} was not found on PATH, and ${neededBy} needs it (to start a private Redis server).\n` +
      `Install Redis: on Debian/Ubuntu "sudo apt-get install -y redis-server", on Fedora "sudo dnf install redis", ` +
      `on Alpine "apk add redis", on macOS "brew install redis"; or see https://redis.io/docs/latest/operate/oss_and_stack/install/.`,
  );
}
