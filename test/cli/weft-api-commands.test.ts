import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedisServer, type RedisServer } from "../../protocol/redis/private-redis-server.js";
import type { JobPage, WorkerInfo } from "../../protocol/job-api.js";
import { WorkerProcess } from "../../worker/worker-process.js";
// test.sleep and test.fail, for the worker in this process.
import "../fixtures/math-tasks.js";
import { COMPILED_CLI } from "../support/compiled-weft.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));
const prefix = "cli-api";

let redis: RedisServer;
let home: string;
let scheduler: ChildProcess;
let schedulerStderr = "";
let url: string;
let worker: WorkerProcess;

/** The environment of a user on the scheduler's machine: its home (and saved token) and the API's URL. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, WEFT_URL: url, WEFT_NO_TUNED_NODE: "1" };
  delete env.WEFT_TOKEN;
  delete env.WEFT_STATE_DIR;
  delete env.XDG_STATE_HOME;
  return env;
}

async function weft(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [COMPILED_CLI, ...args], { cwd: root, env: userEnv() });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failed = error as { stdout: string; stderr: string; code: number };
    return { stdout: failed.stdout, stderr: failed.stderr, code: failed.code };
  }
}

beforeAll(async () => {
  redis = await startRedisServer();
  home = await mkdtemp(join(tmpdir(), "weft-cli-home-"));
  url = "";
  scheduler = spawn(
    process.execPath,
    [COMPILED_CLI, "scheduler", "--redis", redis.url, "--prefix", prefix, "--http-port", "0", "--tick-ms", "50"],
    { cwd: root, env: userEnv(), stdio: ["ignore", "ignore", "pipe"] },
  );
  scheduler.stderr!.on("data", (chunk: Buffer) => (schedulerStderr += chunk.toString()));
  const deadline = Date.now() + 30_000;
  while (!/"weft scheduler running".*?"http":"(http:[^"]+)"/.test(schedulerStderr)) {
    if (Date.now() > deadline || scheduler.exitCode !== null) throw new Error(`the scheduler did not start:\n${schedulerStderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  url = /"weft scheduler running".*?"http":"(http:[^"]+)"/.exec(schedulerStderr)![1];
  worker = await WorkerProcess.start({ redis: redis.url, prefix, nthreads: 2, executor: "main" });
  const ready = Date.now() + 10_000;
  while ((await fetch(`${url}/v1/ready`)).status !== 200) {
    if (Date.now() > ready) throw new Error("the worker did not join");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  if (scheduler !== undefined && scheduler.exitCode === null) {
    scheduler.kill("SIGTERM");
    await new Promise((resolve) => scheduler.once("exit", resolve));
  }
  await redis?.stop();
  await rm(home, { recursive: true, force: true });
});

const graph = {
  tasks: { a: { fn: "weft.add", args: [1, 2] }, b: { fn: "weft.mul", args: [{ $ref: "a" }, 10] } },
  outputs: ["b"],
};

async function graphFile(name: string, body: unknown): Promise<string> {
  const file = join(home, name);
  await writeFile(file, JSON.stringify(body));
  return file;
}

describe("weft scheduler's API token", () => {
  it("is generated at the first start, printed once, and saved readable by its user only", async () => {
    const file = join(home, ".local", "state", "weft", "api-token");
    const token = (await readFile(file, "utf8")).trim();
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(schedulerStderr.split(token).length - 1).toBe(1);
  });
});

describe("weft submit, status, result, workers", () => {
  it("weft submit prints the result as JSON, without a progress bar when stdout is not a terminal", async () => {
    const { stdout, code } = await weft("submit", await graphFile("graph.json", graph));
    expect(code).toBe(0);
    expect(stdout).toBe('{"b":30}\n');
  });

  it("weft submit prints the job id on stderr at once, while the job runs, and the result alone on stdout", async () => {
    // Long enough that a `weft status` started once the id is printed (a node start, on a loaded CI
    // machine up to a few seconds) finds the job still running.
    const file = await graphFile("slow.json", { tasks: { nap: { fn: "test.sleep", args: [5000] } }, outputs: ["nap"] });
    const submit = spawn(process.execPath, [COMPILED_CLI, "submit", file], { cwd: root, env: userEnv() });
    let stdout = "";
    let stderr = "";
    submit.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    submit.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exit = once(submit, "exit");
    try {
      const deadline = Date.now() + 20_000;
      while (!/^submitted job \S+\n/.test(stderr) && submit.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const id = /^submitted job (\S+)\n/.exec(stderr)?.[1];
      expect(id, stderr).toBeDefined();
      expect(submit.exitCode).toBeNull();
      expect(JSON.parse((await weft("status", id!, "--json")).stdout)).toMatchObject({ id, state: "running" });
      const [code] = await exit;
      expect(code).toBe(0);
      expect(stdout).toBe('{"nap":5000}\n');
    } finally {
      if (submit.exitCode === null) submit.kill("SIGKILL");
    }
  });

  /** Runs `weft submit FILE` on a pseudo-terminal (`script`), and returns what it printed there, stdout and stderr together. */
  async function submitOnTerminal(file: string): Promise<{ screen: string; code: number }> {
    const command = `${process.execPath} ${COMPILED_CLI} submit ${file}`;
    let stdout: string;
    let code = 0;
    try {
      ({ stdout } = await run("script", ["-qec", command, "/dev/null"], { cwd: root, env: userEnv() }));
    } catch (error) {
      ({ stdout, code } = error as { stdout: string; code: number });
    }
    return { screen: stdout.replace(/\r\n/g, "\n"), code };
  }

  it("weft submit draws a progress bar when stderr is a terminal, its last frame with 0 running", async () => {
    const file = await graphFile("tty.json", {
      tasks: { s: { fn: "weft.add", args: [300, 0] }, t: { fn: "weft.add", args: [300, 1] }, u: { fn: "weft.add", args: [{ $ref: "s" }, { $ref: "t" }] } },
      outputs: ["u"],
    });
    const { screen, code } = await submitOnTerminal(file);
    expect(code, screen).toBe(0);
    expect(screen).toMatch(/^submitted job \S+\n/);
    expect(screen).toMatch(/\r\[#{30}\] 100% 3\/3 tasks, 0 running \| [\d.]+ s, completed\x1b\[K\n/);
    expect(screen.trimEnd().split("\n").at(-1)).toBe('{"u":601}');
  });

  it("weft submit's bar shows a failed job's failure, not a full bar", async () => {
    const file = await graphFile("tty-failing.json", {
      tasks: { s: { fn: "weft.add", args: [1, 2] }, bad: { fn: "test.fail", args: ["on a terminal"] }, u: { fn: "weft.add", args: [{ $ref: "s" }, { $ref: "bad" }] } },
      outputs: ["u"],
    });
    const { screen, code } = await submitOnTerminal(file);
    expect(code, screen).toBe(1);
    expect(screen).toMatch(/\r\[#*X+·+\] +\d+% [0-2]\/3 tasks, 0 running, 1 erred \| [\d.]+ s, FAILED: task "u" failed because its input "bad" failed: TypeError: on a terminal\x1b\[K\n/);
    expect(screen).toContain('weft submit: task "u" failed because its input "bad" failed: TypeError: on a terminal (HTTP 409 task-failed)');
  });

  it("weft submit --detach prints the job id; weft status and weft result read the job", async () => {
    const submitted = await weft("submit", "--detach", await graphFile("graph.json", graph));
    expect(submitted.code).toBe(0);
    const id = submitted.stdout.trim();
    expect(id).toMatch(/^[a-z0-9]+-[0-9a-f]{12}$/);
    const result = await weft("result", id);
    expect(result).toMatchObject({ code: 0, stdout: '{"b":30}\n' });
    const status = await weft("status", id, "--json");
    expect(status.code).toBe(0);
    // a -> b is a chain, fused into one task.
    expect(JSON.parse(status.stdout)).toMatchObject({ id, state: "completed", tasks: { total: 1, finished: 1 } });
    const human = await weft("status", id);
    expect(human.stdout).toMatch(new RegExp(`^job ${id}: completed, [\\d.]+ s since submitted\\n\\[#+\\] 100% 1/1 tasks, 0 running\\n$`));
  });

  it("weft submit exits 1 for a refused graph, naming the cycle", async () => {
    const cyclic = { tasks: { a: { fn: "weft.identity", args: [{ $ref: "b" }] }, b: { fn: "weft.identity", args: [{ $ref: "a" }] } }, outputs: ["a"] };
    const { stderr, code } = await weft("submit", await graphFile("cycle.json", cyclic));
    expect(code).toBe(1);
    expect(stderr).toMatch(/^weft submit: cycle in graph: .* \(HTTP 400 cycle\)/);
  });

  it("weft result exits 1 for a failed job, with the task's error and remote stack", async () => {
    const failing = { tasks: { bad: { fn: "weft.getattr", args: [null, "x"] } }, outputs: ["bad"] };
    const id = (await weft("submit", "--detach", await graphFile("failing.json", failing))).stdout.trim();
    const { stderr, code } = await weft("result", id);
    expect(code).toBe(1);
    expect(stderr).toContain('task "bad" failed: TypeError: cannot read property "x" of null (HTTP 409 task-failed)');
    expect(stderr).toContain("builtin-tasks");
  });

  it("weft status exits 1 for an unknown job", async () => {
    const { stderr, code } = await weft("status", "123456789");
    expect(code).toBe(1);
    expect(stderr).toContain('no job "123456789"');
  });

  it("weft workers lists the worker with its threads", async () => {
    const { stdout, code } = await weft("workers");
    expect(code).toBe(0);
    const [header, row] = stdout.trim().split("\n");
    expect(header.split(/\s+/)).toEqual(["WORKER", "THREADS", "QUEUED", "RUNNING", "RESULTS", "RESULT-BYTES", "RSS", "STATE"]);
    expect(row.split(/\s+/).slice(0, 2)).toEqual([worker.id, "2"]);
    expect(row.split(/\s+/).at(-1)).toBe("running");
  });

  it("weft workers shows a worker process's resident memory (RSS) and limit beside the bytes of its results, and that it paused", async () => {
    // A worker process of its own, as an operator starts one; any process is over 80% of 1 MB, so it pauses.
    const started = spawn(
      process.execPath,
      [COMPILED_CLI, "worker", "--redis", redis.url, "--prefix", prefix, "--nprocs", "1", "--nthreads", "1", "--executor", "main", "--memory-limit", "1MB"],
      { cwd: root, env: userEnv(), stdio: ["ignore", "ignore", "ignore"] },
    );
    try {
      let workers: WorkerInfo[] = [];
      const deadline = Date.now() + 30_000;
      // It registers first, then pauses and says so in its next heartbeat.
      while (workers.find((w) => w.id !== worker.id)?.paused !== true && Date.now() < deadline) {
        workers = (JSON.parse((await weft("workers", "--json")).stdout) as { workers: WorkerInfo[] }).workers;
      }
      const own = workers.find((w) => w.id !== worker.id);
      expect(own, "the worker process did not join and pause within 30 s").toBeDefined();
      expect(own!.pid).not.toBe(process.pid);
      const { stdout } = await weft("workers");
      const rows = stdout.trim().split("\n").map((line) => line.split(/\s{2,}/));
      expect(rows[0]).toEqual(["WORKER", "THREADS", "QUEUED", "RUNNING", "RESULTS", "RESULT-BYTES", "RSS", "STATE"]);
      const row = rows.find((cells) => cells[0] === own!.id)!;
      expect(row[5]).toBe("0 B");
      expect(row[7]).toBe("paused");
      expect(own!).toMatchObject({ paused: true, memoryLimitBytes: 1_000_000 });
      const rss = /^([\d.]+) MiB \/ 976\.6 KiB$/.exec(row[6]);
      expect(rss, row[6]).not.toBeNull();
      const measured = Number(/^VmRSS:\s+(\d+) kB$/m.exec(await readFile(`/proc/${own!.pid}/status`, "utf8"))![1]) / 1024;
      expect(Number(rss![1])).toBeGreaterThan(0.7 * measured);
      expect(Number(rss![1])).toBeLessThan(1.3 * measured);
    } finally {
      started.kill("SIGTERM");
      if (started.exitCode === null) await once(started, "exit");
    }
  });

  it("refuses a wrong token with the API's reason", async () => {
    const { stderr, code } = await weft("workers", "--token", "wrong-token-wrong-token");
    expect(code).toBe(1);
    expect(stderr).toContain("weft workers: the bearer token is not valid (HTTP 401 unauthorized)");
  });

  it("says which scheduler it cannot reach, and why", async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer().listen(0, "127.0.0.1");
    await once(probe, "listening");
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const { stderr, code } = await weft("status", "some-job", "--url", `http://127.0.0.1:${port}`);
    expect(code).toBe(1);
    expect(stderr).toBe(`weft status: cannot reach the weft scheduler at http://127.0.0.1:${port}: ECONNREFUSED\n`);
  });

  it("says when the scheduler's host name does not resolve", async () => {
    const { stderr, code } = await weft("status", "some-job", "--url", "http://no-such-host.invalid:8786");
    expect(code).toBe(1);
    // .invalid never resolves (RFC 6761); a machine without a DNS server says EAI_AGAIN instead.
    expect(stderr).toMatch(/^weft status: cannot reach the weft scheduler at http:\/\/no-such-host\.invalid:8786: (ENOTFOUND|EAI_AGAIN)\n$/);
  });
});

describe("weft jobs, cancel, --version, help", () => {
  async function submitted(body: unknown): Promise<string> {
    const { stdout, code } = await weft("submit", "--detach", await graphFile("job.json", body));
    expect(code).toBe(0);
    return stdout.trim();
  }

  it("weft jobs lists the jobs newest first, a page at a time, naming the command for the next page", async () => {
    const older = await submitted(graph);
    const newer = await submitted({ tasks: { bad: { fn: "test.fail", args: ["listed"] } }, outputs: ["bad"] });
    await weft("result", newer);
    const first = await weft("jobs", "--limit", "1");
    expect(first.code).toBe(0);
    const lines = first.stdout.trim().split("\n");
    expect(lines[0].split(/\s{2,}/)).toEqual(["JOB", "STATE", "SUBMITTED", "ELAPSED", "TASKS", "ERROR"]);
    expect(lines[1].split(/\s{2,}/)).toEqual([newer, "failed", expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/), expect.stringMatching(/^[\d.]+ s$/), "0/1", 'task "bad" failed: TypeError: listed']);
    expect(lines[2]).toBe(`next page: weft jobs --limit 1 --cursor ${newer}`);
    const next = await weft(...lines[2].slice("next page: weft ".length).split(" "));
    expect(next.stdout.split("\n")[1].split(/\s{2,}/).slice(0, 2)).toEqual([older, expect.stringMatching(/^(waiting|running|completed)$/)]);
  });

  it("weft jobs --state keeps the jobs in those states; --json prints the API's page", async () => {
    const failed = await submitted({ tasks: { bad: { fn: "test.fail", args: ["filtered"] } }, outputs: ["bad"] });
    await weft("result", failed);
    const { stdout, code } = await weft("jobs", "--state", "failed,cancelled", "--json");
    expect(code).toBe(0);
    const page = JSON.parse(stdout) as JobPage;
    expect(page.jobs[0]).toMatchObject({ id: failed, state: "failed", error: { key: "bad" } });
    expect(new Set(page.jobs.map((job) => job.state))).toEqual(new Set(["failed"]));
  });

  it("weft jobs refuses an unknown state with exit code 2, naming the states", async () => {
    const { stderr, code } = await weft("jobs", "--state", "done");
    expect(code).toBe(2);
    expect(stderr).toBe('weft jobs: --state must be one of waiting, running, completed, failed, cancelled, got "done"\n');
  });

  it("weft cancel stops a running job; cancelling it again, or an unknown job, exits 1 saying why", async () => {
    // Long enough to outlast the few `weft` runs below (a second or so each, from the sources).
    const id = await submitted({ tasks: { nap: { fn: "test.sleep", args: [5000] } }, outputs: ["nap"] });
    const deadline = Date.now() + 10_000;
    while ((JSON.parse((await weft("status", id, "--json")).stdout) as { state: string }).state !== "running" && Date.now() < deadline);
    expect(await weft("cancel", id)).toMatchObject({ code: 0, stdout: `cancelled job ${id}\n` });
    expect(JSON.parse((await weft("status", id, "--json")).stdout)).toMatchObject({ state: "cancelled" });
    expect(await weft("cancel", id)).toMatchObject({ code: 1, stderr: `weft cancel: job ${id} already ended (cancelled) and holds no results\n` });
    const unknown = await weft("cancel", "no-such-job");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('weft cancel: no job "no-such-job"');
  });

  it("weft --version prints the version in package.json", async () => {
    const { version } = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as { version: string };
    expect(await weft("--version")).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it("weft help COMMAND prints that command's usage; an unknown command exits 2", async () => {
    const help = await weft("help", "jobs");
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: weft jobs /);
    expect(help.stdout).toBe((await weft("jobs", "--help")).stdout);
    const unknown = await weft("help", "nope");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^weft help: no command "nope"\n/);
  });
});

describe("the README's curl example", () => {
  it("runs as written and prints the result", async () => {
    const readme = await readFile(join(root, "README.md"), "utf8");
    const block = /<!-- curl-example[^>]*-->\n```sh\n([\s\S]*?)```\n<!-- \/curl-example -->/.exec(readme);
    expect(block).not.toBeNull();
    const token = (await readFile(join(home, ".local", "state", "weft", "api-token"), "utf8")).trim();
    const { stdout } = await run("bash", ["-euo", "pipefail", "-c", block![1]], { env: { ...userEnv(), WEFT_TOKEN: token } });
    expect(stdout).toBe('{"b":30}');
  });
});
