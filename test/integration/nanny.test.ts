import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Logger, LogLevel } from "../../protocol/logger.js";
import { ControlPlane, type RegisteredWorker } from "../../protocol/redis/control-plane.js";
import { Nanny, type NannyOptions } from "../../worker/nanny.js";
import { startRedisServer, type RedisServer } from "../../protocol/redis/private-redis-server.js";
import { processExists } from "../support/cluster-setup.js";

let redis: RedisServer;
let plane: ControlPlane;
beforeAll(async () => {
  redis = await startRedisServer();
  plane = new ControlPlane(new Redis(redis.url));
});
afterAll(async () => {
  plane?.redis.disconnect();
  await redis?.stop();
});

const nannies: Nanny[] = [];
afterEach(async () => {
  await Promise.all(nannies.splice(0).map((nanny) => nanny.stop()));
});

let prefixSeq = 0;

interface LogLine {
  level: LogLevel;
  message: string;
  fields?: Readonly<Record<string, unknown>>;
}

/** Keeps the nanny's log lines for the assertions, and the test output quiet. */
function capturingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = (level: LogLevel) => (message: string, fields?: Readonly<Record<string, unknown>>) => lines.push({ level, message, fields });
  return { lines, debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

function startNanny(options: Partial<NannyOptions> & { prefix: string }): Nanny & { log: LogLine[] } {
  const logger = capturingLogger();
  const nanny = Nanny.start({
    nprocs: 2,
    logger,
    // Children start clean, not with vitest's own flags.
    execArgv: [],
    ...options,
    worker: { redis: redis.url, prefix: options.prefix, nthreads: 1, executor: "main", heartbeatTtlMs: 1_500, logLevel: "warn", ...options.worker },
  });
  nannies.push(nanny);
  return Object.assign(nanny, { log: logger.lines });
}

/** Polls the registry of `prefix` until `accept` holds for it. */
async function waitForWorkers(
  prefix: string,
  accept: (workers: RegisteredWorker[]) => boolean,
  timeoutMs = 10_000,
  registry = new ControlPlane(plane.redis, { prefix }),
): Promise<RegisteredWorker[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const workers = await registry.listWorkers();
    if (accept(workers)) return workers;
    if (Date.now() > deadline) throw new Error(`timed out; the registry holds ${JSON.stringify(workers)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const liveRunning = (workers: RegisteredWorker[]) => workers.filter((w) => w.alive && w.state === "running");

describe("nanny", () => {
  it("starts P workers that register with live heartbeats, each under its own id", async () => {
    const prefix = `nanny${++prefixSeq}`;
    const nanny = startNanny({ prefix, nprocs: 2 });
    const workers = await waitForWorkers(prefix, (ws) => liveRunning(ws).length === 2);
    const children = nanny.children();
    expect(children.map((c) => c.slot)).toEqual([0, 1]);
    expect(workers.map((w) => w.id).sort()).toEqual(children.map((c) => c.id).sort());
    expect(workers.map((w) => w.pid).sort()).toEqual(children.map((c) => c.pid).sort());
    expect(workers.every((w) => w.nthreads === 1 && /^http:\/\/127\.0\.0\.1:\d+$/.test(w.dataAddress))).toBe(true);
  });

  it("replaces a worker killed with SIGKILL by one with a new id, and stop() ends every worker cleanly", async () => {
    const prefix = `nanny${++prefixSeq}`;
    const nanny = startNanny({ prefix, nprocs: 2 });
    const before = liveRunning(await waitForWorkers(prefix, (ws) => liveRunning(ws).length === 2));
    const victim = before[0];
    process.kill(victim.pid, "SIGKILL");

    // The victim stays registered until the scheduler recovers it; the replacement joins beside it.
    const after = await waitForWorkers(prefix, (ws) => liveRunning(ws).filter((w) => !before.some((b) => b.id === w.id)).length === 1);
    const replacement = liveRunning(after).find((w) => !before.some((b) => b.id === w.id))!;
    expect(replacement.id).not.toBe(victim.id);
    expect(replacement.pid).not.toBe(victim.pid);
    expect(processExists(victim.pid)).toBe(false);
    const children = nanny.children();
    expect(children.map((c) => c.id).sort()).toEqual([before[1].id, replacement.id].sort());
    expect(nanny.log.some((line) => line.level === "warn" && /killed by SIGKILL; restarting it/.test(line.message))).toBe(true);

    await nanny.stop();
    for (const child of children) expect(processExists(child.pid)).toBe(false);
    // Each stopped cleanly, retiring itself from the registry rather than leaving a silent entry behind.
    const prefixed = new ControlPlane(plane.redis, { prefix });
    const registry = await prefixed.listWorkers();
    for (const child of children) expect(registry.find((w) => w.id === child.id)).toBeUndefined();
    for (const child of children) expect(await plane.redis.get(prefixed.keys.workerState(child.id))).toBe("dead");
    expect(nanny.children()).toEqual([]);
    await nanny.done;
  });

  it("replaces a worker that started and was then killed however often that happens: only failures to start count toward giving up", async () => {
    const prefix = `nanny${++prefixSeq}`;
    const nanny = startNanny({ prefix, nprocs: 1, maxCrashes: 2, restartDelayMs: 10 });
    const killed: string[] = [];
    const fresh = (ws: RegisteredWorker[]) => liveRunning(ws).filter((w) => !killed.includes(w.id));
    // Three kills of a worker that had registered: more than maxCrashes, within the crash window.
    // Killed once registered and once the nanny has heard that it started: the two arrive apart.
    const startedFresh = (ws: RegisteredWorker[]) => fresh(ws).filter((w) => nanny.children().some((c) => c.id === w.id && c.started));
    for (let kill = 0; kill < 3; kill++) {
      const [victim] = startedFresh(await waitForWorkers(prefix, (ws) => startedFresh(ws).length === 1, 20_000));
      process.kill(victim.pid, "SIGKILL");
      killed.push(victim.id);
    }
    const [replacement] = fresh(await waitForWorkers(prefix, (ws) => fresh(ws).length === 1, 20_000));
    expect(nanny.children().map((child) => child.id)).toEqual([replacement.id]);
    const restarts = nanny.log.filter((line) => line.level === "warn" && /killed by SIGKILL; restarting it in/.test(line.message));
    expect(restarts.map((line) => line.fields?.started)).toEqual([true, true, true]);
    expect(nanny.log.filter((line) => line.level === "error")).toEqual([]);
  }, 90_000);

  it("kills a worker that cannot stop (its Redis is gone) once the grace period is over", async () => {
    const lonely = await startRedisServer();
    try {
      const prefix = `nanny${++prefixSeq}`;
      // The worker may log that its stop ran out of time, racing the nanny's kill: expected, so kept off the output.
      const nanny = startNanny({ prefix, nprocs: 1, stopGraceMs: 1_000, worker: { redis: lonely.url, prefix, logLevel: "error" }, workerOutput: () => undefined });
      const registry = new ControlPlane(new Redis(lonely.url), { prefix });
      try {
        await waitForWorkers(prefix, (ws) => liveRunning(ws).length === 1, 10_000, registry);
      } finally {
        registry.redis.disconnect();
      }
      const [child] = nanny.children();
      await lonely.stop();
      const started = Date.now();
      await nanny.stop();
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(processExists(child.pid)).toBe(false);
    } finally {
      await lonely.stop();
    }
  });

  it("gives up on a worker that keeps failing at start, saying why", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-nanny-"));
    try {
      const broken = join(dir, "broken-tasks.mjs");
      writeFileSync(broken, 'throw new Error("cannot load these tasks");\n');
      const workerLines: string[] = [];
      const prefix = `nanny${++prefixSeq}`;
      const nanny = startNanny({
        prefix,
        nprocs: 1,
        maxCrashes: 3,
        restartDelayMs: 10,
        worker: { redis: redis.url, prefix, imports: [pathToFileURL(broken).href], logLevel: "error" },
        workerOutput: (line) => workerLines.push(line),
      });
      await nanny.done;
      // Each worker said why before it exited.
      const failures = workerLines.map((line) => JSON.parse(line) as { level: string; msg: string; error?: { message: string } });
      expect(failures.filter((line) => line.level === "error" && line.msg === "worker failed to start").map((line) => line.error?.message)).toEqual([
        "cannot load these tasks",
        "cannot load these tasks",
        "cannot load these tasks",
      ]);
      const restarts = nanny.log.filter((line) => line.level === "warn" && /exited with code 1; restarting it in/.test(line.message));
      expect(restarts.map((line) => line.fields?.restartInMs)).toEqual([10, 20]);
      const ids = new Set(nanny.log.filter((line) => line.message === "worker process started").map((line) => line.fields?.worker));
      expect(ids.size).toBe(3);
      expect(nanny.log.some((line) => line.level === "error" && /giving up on worker slot 0: 3 workers exited before they started within 60 s; the last exited with code 1/.test(line.message))).toBe(true);
      expect(nanny.children()).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
