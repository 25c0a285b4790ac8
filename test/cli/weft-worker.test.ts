import { spawn, type ChildProcess } from "node:child_process";
import { Redis } from "ioredis";
import { DataClient } from "../../protocol/data-client.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ControlPlane, type RegisteredWorker } from "../../protocol/redis/control-plane.js";
import { startRedisServer, type RedisServer } from "../../protocol/redis/private-redis-server.js";
import { allGone, descendants, exited, onLinux, parentOf, processExists } from "../support/processes.js";
import { ROOT as root, runWeft } from "../support/weft-command.js";
import { COMPILED_CLI } from "../support/compiled-weft.js";

describe.concurrent("weft worker, refusing bad arguments", () => {
  it.each([
    [["--redis-timeout", "soon"], '--redis-timeout must be a number of seconds >= 0, got "soon"'],
    [["--redis", "localhost:6379"], '--redis must be a redis:// or rediss:// URL, got "localhost:6379"'],
    [["--redis", "redis://127.0.0.1:1", "--nprocs", "two"], '--nprocs must be a whole number >= 1, got "two"'],
    [["--redis", "redis://127.0.0.1:1", "--executor", "gpu"], 'unknown executor "gpu"; use threads or main'],
    [["--redis", "redis://127.0.0.1:1", "--import", "./no-such-tasks.js"], "--import ./no-such-tasks.js: no such file"],
  ])("exits with 2 for %j", async (args, message) => {
    const { stderr, code } = await runWeft(["worker", ...args]);
    expect(code).toBe(2);
    expect(stderr).toContain(`weft worker: ${message}`);
  });
});

describe("weft worker, running", () => {
  let redis: RedisServer;
  let connection: Redis;
  beforeAll(async () => {
    redis = await startRedisServer();
    connection = new Redis(redis.url);
  });
  afterAll(async () => {
    connection?.disconnect();
    await redis?.stop();
  });

  /** Every process started by a test, the command and all it started: none may outlive the test. */
  const started = new Set<number>();
  const commands: ChildProcess[] = [];
  afterEach(async () => {
    for (const command of commands.splice(0)) {
      if (command.exitCode === null && command.signalCode === null) {
        command.kill("SIGTERM");
        await exited(command);
      }
    }
    for (const pid of started) if (processExists(pid)) process.kill(pid, "SIGKILL");
    started.clear();
  });

  let prefixSeq = 0;

  function startCommand(prefix: string, ...args: string[]): { command: ChildProcess; stderr: () => string } {
    return startCommandWithEnv({}, prefix, ...args);
  }

  function startCommandWithEnv(env: Record<string, string>, prefix: string, ...args: string[]): { command: ChildProcess; stderr: () => string } {
    const command = spawn(process.execPath, [COMPILED_CLI, "worker", "--redis", redis.url, "--prefix", prefix, ...args], {
      cwd: root,
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, ...env },
    });
    commands.push(command);
    started.add(command.pid!);
    let stderr = "";
    command.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    return { command, stderr: () => stderr };
  }

  async function liveWorkers(prefix: string, count: number): Promise<RegisteredWorker[]> {
    const plane = new ControlPlane(connection, { prefix });
    // Started from TypeScript sources, each worker process and thread loads apache-arrow (for Arrow
    // tables on the wire and the dataframe kernels) through tsx, which takes seconds on a loaded
    // machine; the test is about registering at all, not about how fast.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const workers = (await plane.listWorkers()).filter((w) => w.alive && w.state === "running");
      if (workers.length === count) {
        for (const worker of workers) started.add(worker.pid);
        return workers;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} workers; have ${JSON.stringify(workers)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it("runs supervised workers that register, and stops them all on SIGTERM with exit code 0", async () => {
    const prefix = `cli${++prefixSeq}`;
    const { command, stderr } = startCommand(prefix, "--nprocs", "2", "--nthreads", "1");
    const workers = await liveWorkers(prefix, 2);
    expect(new Set(workers.map((w) => w.pid)).size).toBe(2);
    expect(workers.every((w) => w.nthreads === 1)).toBe(true);
    const family = onLinux ? descendants(command.pid!) : workers.map((w) => w.pid);
    for (const pid of family) started.add(pid);
    for (const worker of workers) expect(family).toContain(worker.pid);

    command.kill("SIGTERM");
    expect(await exited(command)).toEqual({ code: 0, signal: null });
    for (const worker of workers) expect(processExists(worker.pid)).toBe(false);
    // The rest of the family may hold helpers that end on their own once their parent is gone, such
    // as the esbuild service tsx starts on a cache miss: they get a moment.
    expect(await allGone(family)).toEqual([]);
    await expectRetired(connection, prefix, workers);

    const lines = stderr()
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { time: string; level: string; msg: string; worker?: string });
    expect(lines.every((line) => !Number.isNaN(Date.parse(line.time)) && line.level !== undefined)).toBe(true);
    const messages = lines.map((line) => line.msg);
    expect(messages[0]).toBe("weft worker starting");
    expect(messages.filter((msg) => msg === "worker started")).toHaveLength(2);
    expect(messages.filter((msg) => msg === "worker stopped")).toHaveLength(2);
    expect(messages.at(-1)).toBe("weft worker stopped");
  });

  it("takes the data servers' token from WEFT_DATA_TOKEN, so it never appears on a command line", async () => {
    const prefix = `cli${++prefixSeq}`;
    const { command } = startCommandWithEnv({ WEFT_DATA_TOKEN: "from-the-environment" }, prefix, "--nthreads", "1", "--log-level", "warn");
    const [worker] = await liveWorkers(prefix, 1);
    const anonymous = await fetch(`${worker.dataAddress}/fetch`, { method: "POST", body: JSON.stringify({ keys: ["x"] }) });
    expect(anonymous.status).toBe(401);
    const holder = new DataClient({ token: "from-the-environment" });
    try {
      expect(await holder.fetch(worker.dataAddress, ["x"])).toEqual([{ found: false }]);
    } finally {
      holder.close();
    }
    command.kill("SIGTERM");
    expect(await exited(command)).toEqual({ code: 0, signal: null });
  });

  it.runIf(onLinux)("leaves no worker behind when the supervisor itself is killed with SIGKILL", async () => {
    const prefix = `cli${++prefixSeq}`;
    const { command } = startCommand(prefix, "--nprocs", "2", "--nthreads", "1", "--executor", "main", "--log-level", "warn");
    const workers = await liveWorkers(prefix, 2);
    const nanny = parentOf(workers[0].pid);
    started.add(nanny);
    expect(parentOf(workers[1].pid)).toBe(nanny);

    process.kill(nanny, "SIGKILL");
    // The workers notice their supervisor's channel close and stop cleanly on their own.
    expect(await allGone(workers.map((w) => w.pid), 10_000)).toEqual([]);
    await expectRetired(connection, prefix, workers);
    // The command reports its supervisor's death as a kill by SIGKILL.
    expect((await exited(command)).code).toBe(137);
  });
});

/** Workers that stopped cleanly leave the registry themselves, marked dead so their ids are never reused. */
async function expectRetired(connection: Redis, prefix: string, workers: readonly { readonly id: string }[]): Promise<void> {
  const plane = new ControlPlane(connection, { prefix });
  expect(await plane.listWorkers()).toEqual([]);
  for (const worker of workers) expect(await connection.get(plane.keys.workerState(worker.id))).toBe("dead");
}
