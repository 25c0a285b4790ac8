import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type AddressInfo, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DataClient } from "../../protocol/data-client.js";
import { ControlPlane, type RegisteredWorker } from "../../protocol/redis/control-plane.js";
import { startRedisServer, type RedisServer } from "../../protocol/redis/private-redis-server.js";
import { encodeWorkerMessage } from "../../protocol/worker-message.js";
import { clusterDataToken } from "../support/data-token.js";
import { exited } from "../support/processes.js";
import { startWeft, type StartedWeft } from "../support/weft-command.js";

/**
 * The workers' data plane as an operator runs it: `weft scheduler` and `weft worker` with no token
 * flag share a data token through Redis, refuse peers without it, and never send it anywhere.
 */

const API_TOKEN = "data-token-test-api-token-0123456789";

let redis: RedisServer;
let connection: Redis;
let home: string;
beforeAll(async () => {
  redis = await startRedisServer();
  connection = new Redis(redis.url);
  home = await mkdtemp(join(tmpdir(), "weft-data-token-"));
});
afterAll(async () => {
  connection?.disconnect();
  await redis?.stop();
  await rm(home, { recursive: true, force: true });
});

const commands: StartedWeft[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const { command } of commands.splice(0).reverse()) {
    if (command.exitCode === null && command.signalCode === null) {
      command.kill("SIGTERM");
      await exited(command);
    }
  }
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

let prefixSeq = 0;

function weft(args: string[], env: NodeJS.ProcessEnv = {}): StartedWeft {
  const started = startWeft(args, { HOME: home, WEFT_TOKEN: API_TOKEN, WEFT_DATA_TOKEN: "", ...env });
  commands.push(started);
  return started;
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function oneWorker(prefix: string): Promise<RegisteredWorker> {
  const plane = new ControlPlane(connection, { prefix });
  return until("a worker to register", async () => (await plane.listWorkers()).find((w) => w.alive && w.state === "running"));
}

/** A TCP server standing for an attacker's: records every byte it receives, answers 404. */
async function attackerSocket(): Promise<{ address: string; received: () => string }> {
  let received = "";
  const server = createServer((socket) =>
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      socket.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
    }),
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received: () => received };
}

describe("the data plane of weft scheduler and weft worker", () => {
  it("needs a token by default: peers without it or with a wrong one are refused, the cluster's own processes fetch", async () => {
    const prefix = `token${++prefixSeq}`;
    const scheduler = weft(["scheduler", "--redis", redis.url, "--prefix", prefix, "--http-port", "0", "--tick-ms", "50"]);
    weft(["worker", "--redis", redis.url, "--prefix", prefix, "--nthreads", "1", "--log-level", "warn"]);
    const url = await until("the HTTP API", () => /"weft scheduler running".*?"http":"(http:[^"]+)"/.exec(scheduler.stderr())?.[1]);
    const worker = await oneWorker(prefix);

    // 800 KB, far above what travels inline: the scheduler fetches it from the worker's data server.
    const graph = { tasks: { big: { fn: "weft.array.full", args: ["float64", [100_000], 1] } }, outputs: ["big"] };
    const reply = await fetch(`${url}/v1/jobs?wait=30000`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(graph),
    });
    expect(reply.status).toBe(200);

    const anonymous = await fetch(`${worker.dataAddress}/fetch`, { method: "POST", body: JSON.stringify({ keys: ["big"] }) });
    expect(anonymous.status).toBe(401);
    const stranger = new DataClient({ token: "a-token-the-cluster-never-made" });
    const member = new DataClient({ token: await clusterDataToken(connection, prefix) });
    try {
      await expect(stranger.fetch(worker.dataAddress, ["big"])).rejects.toThrow(/HTTP 401/);
      expect(await member.fetch(worker.dataAddress, ["nothing-here"])).toEqual([{ found: false }]);
    } finally {
      stranger.close();
      member.close();
    }
  }, 90_000);

  it("sends no token to the address a forged replicate message names", async () => {
    const prefix = `token${++prefixSeq}`;
    const token = "the-operators-data-token-0123456789";
    weft(["worker", "--redis", redis.url, "--prefix", prefix, "--nthreads", "1", "--log-level", "error"], { WEFT_DATA_TOKEN: token });
    const worker = await oneWorker(prefix);
    const attacker = await attackerSocket();

    // Anyone who can write to Redis can put this in the worker's inbox.
    const plane = new ControlPlane(connection, { prefix });
    await plane.sendToWorker(worker.id, [encodeWorkerMessage({ type: "replicate", keys: ["secret-result"], from: attacker.address })]);
    const request = await until("the worker to contact the forged address", () => (attacker.received().includes("\r\n\r\n") ? attacker.received() : undefined));

    expect(request).toMatch(/^POST \/fetch/);
    expect(request).not.toContain(token);
    expect(request).not.toContain(Buffer.from(token).toString("base64"));
  }, 60_000);
});
