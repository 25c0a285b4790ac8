import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as connectTls } from "node:tls";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ControlPlane } from "../../protocol/redis/control-plane.js";
import { freePort, startRedisServer, type RedisServer } from "../../protocol/redis/private-redis-server.js";
import { descendants, exited, onLinux } from "../support/processes.js";
import { runWeft, startWeft, type StartedWeft } from "../support/weft-command.js";

/**
 * The Redis password reaches `weft scheduler` and `weft worker` through the environment or a file,
 * never the arguments every user of the machine can read; Redis refusing it, or a TLS certificate
 * this machine does not trust, ends the command at once with one message.
 */

const PASSWORD = "pw-never-on-a-command-line-7f3a";

const dir = mkdtempSync(join(tmpdir(), "weft-redis-credentials-"));
const commands: StartedWeft[] = [];
afterEach(async () => {
  for (const { command } of commands.splice(0).reverse()) {
    if (command.exitCode === null && command.signalCode === null) {
      command.kill("SIGTERM");
      await exited(command);
    }
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function weft(args: string[], env: NodeJS.ProcessEnv = {}): StartedWeft {
  const started = startWeft(args, { WEFT_REDIS_PASSWORD: "", ...env });
  commands.push(started);
  return started;
}

async function until(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A process's arguments as `ps` shows them to every user ("" once it is gone). */
function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return "";
  }
}

function errorLines(stderr: string): string[] {
  return stderr
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { level: string; msg: string })
    .filter((line) => line.level === "error")
    .map((line) => line.msg);
}

describe("a Redis with a password", () => {
  let redis: RedisServer;
  let url: string;
  beforeAll(async () => {
    redis = await startRedisServer();
    const admin = new Redis(redis.url);
    await admin.config("SET", "requirepass", PASSWORD);
    admin.disconnect();
    url = `redis://127.0.0.1:${redis.port}`;
  });
  afterAll(() => redis?.stop());

  it.runIf(onLinux)("is taken from WEFT_REDIS_PASSWORD or --redis-password-file, and shows in no scheduler, nanny or worker process's arguments", async () => {
    const passwordFile = join(dir, "redis-password");
    writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    const scheduler = weft(["scheduler", "--redis", url, "--prefix", "pw", "--no-http"], { WEFT_REDIS_PASSWORD: PASSWORD });
    const nanny = weft(["worker", "--redis", url, "--redis-password-file", passwordFile, "--prefix", "pw", "--nprocs", "2", "--nthreads", "1"]);

    const connection = new Redis(url, { password: PASSWORD });
    try {
      const plane = new ControlPlane(connection, { prefix: "pw" });
      await until("two workers to register", async () => (await plane.listWorkers()).filter((w) => w.alive).length === 2);
      await until("the scheduler to run", () => scheduler.stderr().includes("weft scheduler running"));
      const workers = (await plane.listWorkers()).map((w) => w.pid);
      const pids = [scheduler.command.pid!, nanny.command.pid!, ...workers, ...descendants(nanny.command.pid!)];
      expect(new Set(pids).size).toBeGreaterThanOrEqual(4);
      for (const pid of pids) {
        const line = commandLine(pid);
        expect(line, `process ${pid}`).not.toBe("");
        expect(line, `process ${pid}`).not.toContain(PASSWORD);
      }
      expect(scheduler.stderr() + nanny.stderr()).not.toContain(PASSWORD);
    } finally {
      connection.disconnect();
    }
  }, 90_000);

  it("refused, ends weft scheduler and weft worker at once with one message saying where the password came from", async () => {
    for (const command of ["scheduler", "worker"]) {
      const extra = command === "scheduler" ? ["--no-http"] : ["--nthreads", "1"];
      // A timeout longer than the test's: only failing at once passes.
      const { stderr, code } = await runWeft([command, "--redis", url, "--redis-timeout", "600", ...extra], { WEFT_REDIS_PASSWORD: "not-the-password" });
      expect(code).toBe(1);
      const errors = errorLines(stderr);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(new RegExp(`^weft ${command}: Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:\\d+/? refused the user name or password \\(WRONGPASS`));
      expect(errors[0]).toContain("the password in WEFT_REDIS_PASSWORD");
      expect(stderr).not.toContain("not-the-password");
      expect(stderr).not.toContain("worker process started");
    }
  }, 90_000);
});

/** A redis-server listening with TLS only, on a certificate made for the test; stopped by `stop`. */
async function startTlsRedis(): Promise<{ url: string; ca: string; stop: () => Promise<void> }> {
  const cert = join(dir, "redis.crt");
  const key = join(dir, "redis.key");
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert], { stdio: "ignore" });
  const port = await freePort();
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", "0", "--tls-port", String(port), "--bind", "127.0.0.1", "--tls-cert-file", cert, "--tls-key-file", key, "--tls-auth-clients", "no", "--save", "", "--appendonly", "no", "--dir", dir],
    { stdio: "ignore" },
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exited(child);
    }
  };
  try {
    await until("redis-server to accept TLS connections", () =>
      new Promise<boolean>((resolve) => {
        const socket = connectTls({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
          socket.end();
          resolve(true);
        });
        socket.on("error", () => resolve(false));
      }),
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `rediss://127.0.0.1:${port}`, ca: cert, stop };
}

describe("a Redis behind TLS (rediss://)", () => {
  let tls: Awaited<ReturnType<typeof startTlsRedis>>;
  beforeAll(async () => {
    tls = await startTlsRedis();
  }, 30_000);
  afterAll(() => tls?.stop());

  it("with a certificate this machine does not trust, ends weft scheduler and weft worker at once with one message", async () => {
    for (const command of ["scheduler", "worker"]) {
      const extra = command === "scheduler" ? ["--no-http"] : ["--nthreads", "1"];
      const started = Date.now();
      const { stderr, code } = await runWeft([command, "--redis", tls.url, "--redis-timeout", "600", ...extra], { NODE_EXTRA_CA_CERTS: "" });
      expect(code).toBe(1);
      expect(Date.now() - started).toBeLessThan(30_000);
      const errors = errorLines(stderr);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(new RegExp(`^weft ${command}: Redis at rediss://127\\.0\\.0\\.1:\\d+/? presented a TLS certificate this machine does not trust \\(self[- ]signed certificate`));
      expect(errors[0]).toContain("NODE_EXTRA_CA_CERTS");
      expect(stderr).not.toContain("does not answer yet");
    }
  }, 90_000);

  it("with its CA given in NODE_EXTRA_CA_CERTS, runs", async () => {
    const scheduler = weft(["scheduler", "--redis", tls.url, "--no-http", "--redis-timeout", "20"], { NODE_EXTRA_CA_CERTS: tls.ca });
    await until("the scheduler to run", () => scheduler.stderr().includes("weft scheduler running") || scheduler.command.exitCode !== null);
    expect(scheduler.command.exitCode).toBeNull();
  }, 60_000);
});
