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
import { WorkerProcess } from "../../worker/worker-process.js";

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
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "cli/weft.ts", ...args], { cwd: root, env: userEnv() });
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
    ["--import", "tsx", "cli/weft.ts", "scheduler", "--redis", redis.url, "--prefix", prefix, "--http-port", "0", "--tick-ms", "50"],
    { cwd: root, env: userEnv(), stdio: ["ignore", "ignore", "pipe"] },
  );
  scheduler.stderr!.on("data", (chunk: Buffer) => (schedulerStderr += chunk.toString()));
  const deadline = Date.now() + 30_000;
  while (!/"http":"(http:[^"]+)"/.test(schedulerStderr)) {
    if (Date.now() > deadline || scheduler.exitCode !== null) throw new Error(`the scheduler did not start:\n${schedulerStderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  url = /"http":"(http:[^"]+)"/.exec(schedulerStderr)![1];
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

  it("weft submit draws a progress bar when stdout is a terminal", async () => {
    const file = await graphFile("tty.json", {
      tasks: { s: { fn: "weft.add", args: [300, 0] }, t: { fn: "weft.add", args: [300, 1] }, u: { fn: "weft.add", args: [{ $ref: "s" }, { $ref: "t" }] } },
      outputs: ["u"],
    });
    // `script` runs the command on a pseudo-terminal and copies what it printed.
    const command = `${process.execPath} --import tsx cli/weft.ts submit ${file}`;
    const { stdout } = await run("script", ["-qec", command, "/dev/null"], { cwd: root, env: userEnv() }).catch((e: { stdout: string; stderr: string }) => {
      throw new Error(`${e.stdout}\n---\n${e.stderr}`);
    });
    const screen = stdout.replace(/\r\n/g, "\n");
    expect(screen).toMatch(/\[#{30}\] 3\/3 tasks\n/);
    expect(screen.trimEnd().split("\n").at(-1)).toBe('{"u":601}');
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
    expect(human.stdout).toMatch(new RegExp(`^job ${id}: completed, [\\d.]+ s since submitted\\n\\[#+\\] 1/1 tasks\\n$`));
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
    expect(header.split(/\s+/)).toEqual(["WORKER", "THREADS", "QUEUED", "RUNNING", "RESULTS", "MEMORY"]);
    expect(row.split(/\s+/).slice(0, 2)).toEqual([worker.id, "2"]);
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
