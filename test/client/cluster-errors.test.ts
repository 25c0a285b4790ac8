import { execFile, spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Client } from "../../client/client.js";
import { delayed } from "../../client/delayed.js";
import { task } from "../../client/task.js";
import { GraphError } from "../../graph/graph-error.js";
import { lookupTask } from "../../protocol/task-registry.js";
import { WorkerProcess } from "../../worker/worker-process.js";
import { Squares } from "../fixtures/squares-collection.js";
import { usePrivateRedis, useStoppables } from "../support/cluster-setup.js";
import { TEST_TOKEN, useApiCluster } from "../scheduler/http/api-cluster.js";
import { COMPILED_CLI } from "../support/compiled-weft.js";

const server = usePrivateRedis();
const cluster = useApiCluster(server);
const stopAfterTest = useStoppables();
const root = fileURLToPath(new URL("../..", import.meta.url));

const CLUSTER_BACKENDS: [string, () => Promise<Client>][] = [
  ["attached to a cluster's scheduler in this process (Client.attach)", async () => Client.attach((await cluster()).scheduler.scheduler)],
  ["connected over HTTP (Client.connect)", async () => Client.connect((await cluster()).url, { token: TEST_TOKEN })],
];

let seq = 0;

/**
 * A function registered with `task()` now, after the cluster's workers started and advertised the
 * functions they know: this process knows its module, the workers do not have it.
 */
function registeredAfterWorkersStarted(): { name: string; module: string } {
  const late = task(`test.errors.late-${++seq}`, (x: number) => x);
  return { name: late.taskName, module: fileURLToPath(lookupTask(late.taskName)!.module!) };
}

async function errorOf(computing: Promise<unknown>): Promise<GraphError> {
  const error = await computing.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(GraphError);
  return error as GraphError;
}

describe.each(CLUSTER_BACKENDS)("a Client %s", (_name, connect) => {
  it("refuses a closure before submitting it, saying to register it with task() in a module the workers import", async () => {
    const client = await connect();
    const addOne = (x: number) => x + 1;
    const call = delayed(addOne)(1);
    const error = await errorOf(client.compute(call));
    expect(error).toMatchObject({ code: "unknown-function", keys: [call.key] });
    expect(error.message).toContain("a closure that exists only in this process");
    expect(error.message).toContain(`registered with task("name", fn) in a module the workers import`);
    expect(error.message).toContain("--import");
    await client.close();
  });

  it("refuses a function no worker registered, naming it and saying to start the workers with --import", async () => {
    const client = await connect();
    const error = await errorOf(client.compute(Squares.of("test.errors.nowhere", `nowhere-${++seq}`, 1)));
    expect(error.code).toBe("unknown-function");
    expect(error.message).toContain(`calls "test.errors.nowhere", which no worker registered`);
    expect(error.message).toContain(`start the workers with --import <the module that registers "test.errors.nowhere" with task()>`);
    await client.close();
  });

  it("names the module that registers a function the workers lack, when this process registered it with task()", async () => {
    const client = await connect();
    const late = registeredAfterWorkersStarted();
    const error = await errorOf(client.compute(Squares.of(late.name, `late-${seq}`, 1)));
    expect(error.message).toContain(`calls "${late.name}", which no worker registered: start the workers with --import ${late.module}`);
    await client.close();
  });
});

describe("a program computing on a cluster a task defined in its entry module", () => {
  it("is refused before submission, saying to move the task to a module of its own", async () => {
    const api = await cluster();
    const program = fileURLToPath(new URL("../fixtures/entry-module-cluster-program.ts", import.meta.url));
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
      execFile(
        process.execPath,
        ["--import", "tsx", program],
        { cwd: root, timeout: 40_000, killSignal: "SIGKILL", env: { ...process.env, WEFT_URL: api.url, WEFT_TOKEN: TEST_TOKEN } },
        (error, out, err) => (error === null ? resolve({ stdout: out, stderr: err }) : reject(new Error(`${error.message}\n${err}`))),
      ),
    );
    const reported = JSON.parse(stdout) as { name: string; code: string; message: string };
    expect(reported, stderr).toMatchObject({ name: "GraphError", code: "unknown-function" });
    expect(reported.message).toContain(`calls "test.entryModule.double", defined in the program's entry module (${program})`);
    expect(reported.message).toContain("move it to a module of its own, import that from the program, and start the workers with --import <that module>");
  }, 60_000);
});

describe("Client.connect to a scheduler in a process of its own", () => {
  it("names the module of a function the workers lack, which only the client knows", async () => {
    const prefix = "errors-remote";
    const scheduler: ChildProcess = spawn(
      process.execPath,
      [COMPILED_CLI, "scheduler", "--redis", server().url, "--prefix", prefix, "--http-port", "0", "--tick-ms", "50", "--api-token", TEST_TOKEN],
      { cwd: root, env: { ...process.env, WEFT_NO_TUNED_NODE: "1" }, stdio: ["ignore", "ignore", "pipe"] },
    );
    stopAfterTest({
      stop: async () => {
        if (scheduler.exitCode !== null) return;
        scheduler.kill("SIGTERM");
        await new Promise((resolve) => scheduler.once("exit", resolve));
      },
    });
    let stderr = "";
    scheduler.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const deadline = Date.now() + 30_000;
    while (!/"weft scheduler running".*?"http":"(http:[^"]+)"/.test(stderr)) {
      if (Date.now() > deadline || scheduler.exitCode !== null) throw new Error(`the scheduler did not start:\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const url = /"weft scheduler running".*?"http":"(http:[^"]+)"/.exec(stderr)![1];
    const worker = await WorkerProcess.start({ redis: server().url, prefix, nthreads: 1, executor: "main" });
    stopAfterTest(worker);
    while ((await fetch(`${url}/v1/ready`)).status !== 200) {
      if (Date.now() > deadline) throw new Error("the worker did not join");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const client = await Client.connect(url, { token: TEST_TOKEN });
    const late = registeredAfterWorkersStarted();
    const error = await errorOf(client.compute(Squares.of(late.name, `remote-late-${seq}`, 1)));
    expect(error.message).toContain(`calls "${late.name}", which no worker registered: start the workers with --import ${late.module}`);
    await client.close();
  }, 60_000);
});
