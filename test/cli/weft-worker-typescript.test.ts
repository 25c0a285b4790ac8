import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startRedisServer, type RedisServer } from "../../protocol/redis/private-redis-server.js";
import { createUserProject, userEnv, type UserProject } from "../support/user-project.js";

/** A task module as a user writes it, in TypeScript, next to their program. */
const TASKS_TS = `import { task } from "weft";
export const inc = task("user.inc", (x: number): number => x + 1);
`;

/** The installed `weft` command, run as its bin runs it: compiled JavaScript under plain `node`. */
const WEFT = ["node_modules/weft/dist/cli/weft.js"];
/** A user's shell, less the re-run in a tuned node, which doubles start-up and plays no part here. */
const ENV = { WEFT_NO_TUNED_NODE: "1" };

let redis: RedisServer;
let project: UserProject;
let projectWithoutTsx: UserProject;
beforeAll(async () => {
  [redis, project, projectWithoutTsx] = await Promise.all([startRedisServer(), createUserProject(), createUserProject({ tsx: false })]);
  await project.write("tasks.ts", TASKS_TS);
  await projectWithoutTsx.write("tasks.ts", TASKS_TS);
}, 60_000);
afterAll(async () => {
  await redis?.stop();
  await project?.remove();
  await projectWithoutTsx?.remove();
});

/** Processes a test started: stopped after it, whether it passed or not. */
const running: ChildProcess[] = [];
afterEach(async () => {
  for (const child of running.splice(0).reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await new Promise((resolve) => child.once("exit", resolve));
    clearTimeout(killer);
  }
});

/** Starts `weft args` in the project; its stderr is collected. */
function startWeft(dir: string, args: readonly string[], env: Record<string, string> = {}): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [...WEFT, ...args], { cwd: dir, env: userEnv({ ...ENV, ...env }), stdio: ["ignore", "ignore", "pipe"] });
  running.push(child);
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, stderr: () => stderr };
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, log: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("weft worker --import ./tasks.ts, with weft installed (compiled) in a TypeScript project", () => {
  it("loads the module with the project's tsx and runs its tasks, on the worker's threads", async () => {
    const prefix = "ts-tasks";
    const token = randomBytes(16).toString("hex");
    const scheduler = startWeft(project.dir, ["scheduler", "--redis", redis.url, "--prefix", prefix, "--http-port", "0", "--tick-ms", "50"], { WEFT_TOKEN: token });
    const worker = startWeft(project.dir, ["worker", "--redis", redis.url, "--prefix", prefix, "--nthreads", "1", "--import", "./tasks.ts"]);
    const logs = () => `scheduler:\n${scheduler.stderr()}\nworker:\n${worker.stderr()}`;
    const url = await until("the scheduler's HTTP API", () => /"weft scheduler running".*?"http":"(http:[^"]+)"/.exec(scheduler.stderr())?.[1], 30_000, logs);
    await until("the worker to join", async () => ((await fetch(`${url}/v1/ready`)).status === 200 ? true : undefined), 30_000, logs);

    const reply = await fetch(`${url}/v1/jobs?wait=20000`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ tasks: { answer: { fn: "user.inc", args: [41] } }, outputs: ["answer"] }),
    });
    expect(await reply.json(), logs()).toEqual({ answer: 42 });
    expect(worker.stderr()).not.toMatch(/exited with code|restarting/);
  }, 90_000);

  it("refuses at once, saying what to install, when the project has no tsx", async () => {
    const { child, stderr } = startWeft(projectWithoutTsx.dir, ["worker", "--redis", redis.url, "--import", "./tasks.ts"]);
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code, stderr()).toBe(2);
    expect(stderr()).toContain(
      `weft worker: --import ./tasks.ts: file://${projectWithoutTsx.dir}/tasks.ts is TypeScript, and Node ${process.versions.node} cannot load it by itself: install tsx in its project (npm install --save-dev tsx)`,
    );
    expect(stderr()).not.toContain("worker process started");
  }, 30_000);
});
