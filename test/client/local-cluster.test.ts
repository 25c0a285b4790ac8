import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Client } from "../../client/client.js";
import { delayed } from "../../client/delayed.js";
import { readCsv } from "../../client/dataframe/read-csv.js";
import { add, inc } from "../fixtures/math-tasks.js";
import { allGone, descendants, exited, onLinux, processExists } from "../support/processes.js";
import { ROOT } from "../support/weft-command.js";

const mathTasks = fileURLToPath(new URL("../fixtures/math-tasks.ts", import.meta.url));

/** The command line of a process, its arguments joined by spaces ("" once it is gone). */
function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return "";
  }
}

/** What a local cluster runs, from its processes' command lines. */
function kinds(pids: readonly number[]): string[] {
  return pids
    .map(commandLine)
    .map((line): string => (/redis-server/.test(line.split(" ")[0]) ? "redis-server" : /nanny-main/.test(line) ? "nanny" : /worker-main/.test(line) ? "worker" : ""))
    .filter((kind) => kind !== "")
    .sort();
}

/** Every process started by a test: none may outlive it, also when it fails. */
const started = new Set<number>();
afterEach(() => {
  for (const pid of started) if (processExists(pid)) process.kill(pid, "SIGKILL");
  started.clear();
});

describe.runIf(onLinux)("Client.cluster", () => {
  it("computes on worker processes and serves the HTTP API behind a token, then close() stops every process it started", async () => {
    const before = new Set(descendants(process.pid));
    const client = await Client.cluster({ workers: 2, threadsPerWorker: 1, imports: [mathTasks], quiet: true });
    const family = descendants(process.pid).filter((pid) => !before.has(pid));
    for (const pid of family) started.add(pid);
    try {
      expect(kinds(family)).toEqual(["nanny", "redis-server", "worker", "worker"]);
      expect(await client.compute(delayed(add)(delayed(inc)(1), 10))).toEqual([12]);
      const workers = await client.workers();
      expect(workers.map((worker) => worker.nthreads)).toEqual([1, 1]);
      for (const worker of workers) expect(family).toContain(worker.pid);

      const { url, token } = client.cluster!.api!;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await fetch(`${url}/v1/workers`)).status).toBe(401);
      const remote = await Client.connect(url, { token });
      try {
        expect(await remote.compute(delayed(inc)(41))).toEqual([42]);
      } finally {
        await remote.close();
      }
    } finally {
      await client.close();
    }
    expect(await allGone(family, 10_000)).toEqual([]);
  }, 120_000);

  it("confines file tasks sent over its HTTP API to dataRoots, while this program's own client reads any file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-cluster-roots-"));
    const root = join(dir, "root");
    mkdirSync(root);
    writeFileSync(join(root, "in.csv"), "x\n1\n2\n");
    writeFileSync(join(dir, "out.csv"), "x\n1\n2\n3\n");
    const before = new Set(descendants(process.pid));
    const client = await Client.cluster({ workers: 1, threadsPerWorker: 1, quiet: true, dataRoots: [root] });
    for (const pid of descendants(process.pid).filter((pid) => !before.has(pid))) started.add(pid);
    try {
      expect(await client.compute(readCsv(join(dir, "out.csv")).length())).toEqual([3]);
      const { url, token } = client.cluster!.api!;
      const remote = await Client.connect(url, { token });
      try {
        expect(await remote.compute(readCsv(join(root, "in.csv")).length())).toEqual([2]);
        await expect(remote.compute(readCsv(join(dir, "out.csv")).length())).rejects.toMatchObject({ status: 403, message: expect.stringContaining("outside the data roots") });
      } finally {
        await remote.close();
      }
    } finally {
      await client.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it("prints the API's address, never its token", async () => {
    const printed = vi.spyOn(console, "error").mockImplementation(() => undefined);
    let client: Client | undefined;
    try {
      client = await Client.cluster({ workers: 1, threadsPerWorker: 1, imports: [mathTasks] });
      const { url, token } = client.cluster!.api!;
      const lines = printed.mock.calls.map((call) => call.join(" "));
      expect(lines).toEqual([`weft: local cluster of 1 worker × 1 thread; HTTP API at ${url}`]);
      expect(lines.join("\n")).not.toContain(token);
    } finally {
      printed.mockRestore();
      await client?.close();
    }
  }, 120_000);

  it("leaves no process behind when the program that started it is killed with SIGKILL", async () => {
    const program = spawn(process.execPath, ["--import", "tsx", "test/fixtures/cluster-program.ts"], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    started.add(program.pid!);
    let stdout = "";
    program.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    const deadline = Date.now() + 90_000;
    while (!stdout.includes("ready") && program.exitCode === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stdout).toMatch(/^ready http:\/\/127\.0\.0\.1:\d+\n$/);
    const family = descendants(program.pid!);
    for (const pid of family) started.add(pid);
    expect(kinds(family)).toEqual(["nanny", "redis-server", "worker", "worker"]);

    program.kill("SIGKILL");
    expect(await exited(program)).toEqual({ code: null, signal: "SIGKILL" });
    // The workers are killed by their nanny, which sees its parent's channel close; the redis-server
    // is stopped by its watchdog, which sees its pipe close. Neither waits for anything.
    const left = await allGone(family, 15_000);
    expect(left.map((pid) => `${pid}: ${commandLine(pid)}`)).toEqual([]);
  }, 120_000);

  it("rejects, having stopped what it started, when the workers cannot start", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-broken-tasks-"));
    const broken = join(dir, "broken-tasks.mjs");
    writeFileSync(broken, 'throw new Error("cannot load these tasks");\n');
    const before = new Set(descendants(process.pid));
    try {
      const lines: string[] = [];
      const starting = Client.cluster({ workers: 1, imports: [broken], quiet: true, logLevel: "error", logOutput: (line) => lines.push(line) });
      await expect(starting).rejects.toThrow(/^the local cluster's worker processes could not start: their nanny exited with code 1; their log lines above say why$/);
      // Those lines: each worker saying why it failed, then the nanny giving up.
      const logged = lines.map((line) => JSON.parse(line) as { msg: string; error?: { message: string } });
      expect(logged.filter((line) => line.msg === "worker failed to start").map((line) => line.error?.message)).toContain("cannot load these tasks");
      expect(logged.some((line) => /^giving up on worker slot 0/.test(line.msg))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const family = descendants(process.pid).filter((pid) => !before.has(pid));
    for (const pid of family) started.add(pid);
    expect(await allGone(family, 10_000)).toEqual([]);
  }, 120_000);

  it("says which package to install when redis-server is not on PATH, and starts nothing", async () => {
    const emptyDir = mkdtempSync(join(tmpdir(), "weft-no-redis-"));
    const path = process.env.PATH;
    const before = new Set(descendants(process.pid));
    process.env.PATH = emptyDir;
    try {
      const starting = Client.cluster({ workers: 1, imports: [mathTasks], quiet: true });
      await expect(starting).rejects.toThrow(/redis-server was not found on PATH, and a local cluster \(Client\.cluster, weft up\) needs it/);
      await expect(starting).rejects.toThrow(/Debian\/Ubuntu "sudo apt-get install -y redis-server".*macOS "brew install redis"/);
    } finally {
      process.env.PATH = path;
      rmSync(emptyDir, { recursive: true, force: true });
    }
    expect(descendants(process.pid).filter((pid) => !before.has(pid) && kinds([pid]).length > 0)).toEqual([]);
  });
});
