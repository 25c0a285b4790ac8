import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { allGone, descendants, exited, onLinux, processExists } from "../support/processes.js";
import { runWeft, startWeft, type StartedWeft } from "../support/weft-command.js";

/** A fresh state directory, and the environment of a user with no token of their own in it. */
function userEnv(stateDir: string): NodeJS.ProcessEnv {
  return { WEFT_STATE_DIR: stateDir, WEFT_TOKEN: undefined };
}

describe.runIf(onLinux)("weft up", () => {
  const stateDir = mkdtempSync(join(tmpdir(), "weft-up-state-"));
  let up: StartedWeft | undefined;
  const started = new Set<number>();
  afterEach(async () => {
    if (up !== undefined && up.command.exitCode === null && up.command.signalCode === null) {
      up.command.kill("SIGTERM");
      await exited(up.command);
    }
    for (const pid of started) if (processExists(pid)) process.kill(pid, "SIGKILL");
    started.clear();
    up = undefined;
    rmSync(join(stateDir, "api-token"), { force: true });
  });
  afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

  /** Starts `weft up` with one worker and waits for its lines on stdout; returns the API's URL. */
  async function startUp(env: NodeJS.ProcessEnv): Promise<string> {
    up = startWeft(["up", "--workers", "1", "--threads-per-worker", "1", "--http-port", "0", "--import", "test/fixtures/math-tasks.ts"], env);
    started.add(up.command.pid!);
    const deadline = Date.now() + 90_000;
    while (!up.stdout().includes("Ctrl-C stops everything") && up.command.exitCode === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const url = /HTTP API at (http:\/\/127\.0\.0\.1:\d+)/.exec(up.stdout())?.[1];
    if (url === undefined) throw new Error(`weft up did not start:\n${up.stdout()}\n${up.stderr()}`);
    for (const pid of descendants(up.command.pid!)) started.add(pid);
    return url;
  }

  it("runs a cluster until SIGTERM, printing the API's address and where its token is, never the token", async () => {
    const url = await startUp(userEnv(stateDir));
    const tokenFile = join(stateDir, "api-token");
    const token = readFileSync(tokenFile, "utf8").trim();
    expect(up!.stdout()).toBe(
      `weft: local cluster of 1 worker × 1 thread; HTTP API at ${url}\n` +
        `  API token: new, saved in ${tokenFile} (readable by this user only)\n` +
        `  export WEFT_URL=${url} WEFT_TOKEN=$(cat ${tokenFile})\n` +
        `  Ctrl-C stops everything.\n`,
    );

    const reply = await fetch(`${url}/v1/jobs?wait=30000`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ tasks: { a: { fn: "test.inc", args: [41] } }, outputs: ["a"] }),
    });
    expect(reply.status).toBe(200);
    expect(await reply.json()).toEqual({ a: 42 });

    const family = descendants(up!.command.pid!);
    up!.command.kill("SIGTERM");
    expect(await exited(up!.command)).toEqual({ code: 0, signal: null });
    expect(await allGone(family, 10_000)).toEqual([]);
    expect(up!.stdout() + up!.stderr()).not.toContain(token);
  }, 120_000);

  it("leaves no process behind when killed with SIGKILL, through its tuned re-run too", async () => {
    // Without WEFT_NO_TUNED_NODE: the process killed is the parent of the one running the cluster.
    await startUp({ ...userEnv(stateDir), WEFT_NO_TUNED_NODE: undefined });
    const family = descendants(up!.command.pid!);
    expect(family.length).toBeGreaterThanOrEqual(5); // the tuned run, the watchdog, redis-server, the nanny, the worker
    up!.command.kill("SIGKILL");
    await exited(up!.command);
    expect(await allGone(family, 15_000)).toEqual([]);
  }, 120_000);

  it("exits 1 naming the package to install when redis-server is not on PATH", async () => {
    const emptyDir = mkdtempSync(join(tmpdir(), "weft-no-redis-"));
    try {
      const { stderr, code } = await runWeft(["up", "--http-port", "0"], { ...userEnv(stateDir), PATH: emptyDir });
      expect(code).toBe(1);
      expect(stderr).toContain("weft up: redis-server was not found on PATH, and a local cluster (Client.cluster, weft up) needs it");
      expect(stderr).toContain('on Debian/Ubuntu "sudo apt-get install -y redis-server"');
      expect(stderr).toContain('on macOS "brew install redis"');
    } finally {
      rmSync(emptyDir, { recursive: true, force: true });
    }
  });

  it.each([
    [["--workers", "none"], '--workers must be a whole number >= 1, got "none"'],
    [["--import", "./no-such-tasks.js"], "--import ./no-such-tasks.js: no such file"],
  ])("exits 2 for %j", async (args, message) => {
    const { stderr, code } = await runWeft(["up", ...args], userEnv(stateDir));
    expect(code).toBe(2);
    expect(stderr).toContain(`weft up: ${message}`);
  });
});
