import { Table, tableFromArrays } from "apache-arrow";
import { createServer, type AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { DataKeys, MAX_CLOCK_SKEW_MS, signDataRequest } from "../../protocol/data-auth.js";
import { DataClient, PeerUnavailableError } from "../../protocol/data-client.js";
import { DataServer } from "../../worker/data-server.js";
import { ResultStore } from "../../worker/result-store.js";
import { TEST_DATA_TOKEN } from "../support/data-token.js";

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0)) await thing.close();
});

async function peer(options: { token?: string; host?: string; advertise?: string } = {}): Promise<{ store: ResultStore; server: DataServer }> {
  const store = new ResultStore();
  const server = await DataServer.start({ store, token: TEST_DATA_TOKEN, ...options });
  open.push(server);
  return { store, server };
}

function client(token: string = TEST_DATA_TOKEN): DataClient {
  const c = new DataClient({ token });
  open.push(c);
  return c;
}

/** A request as a peer without the token (or with `authorization`) makes it. */
function post(address: string, authorization?: string): Promise<Response> {
  return fetch(`${address}/fetch`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(authorization !== undefined && { authorization }) },
    body: JSON.stringify({ keys: ["a"] }),
  });
}

/** Starts a TCP server that records every byte sent to it and answers nothing useful; resolves with its address and what it got. */
async function listener(): Promise<{ address: string; received: () => string }> {
  const chunks: Buffer[] = [];
  const server = createServer((socket) => {
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      socket.end("HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  open.push({ close: () => new Promise((resolve) => server.close(resolve)) });
  return { address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received: () => Buffer.concat(chunks).toString("latin1") };
}

describe("data plane", () => {
  it("serves several results in one request, in the order asked, and says which are missing", async () => {
    const { store, server } = await peer();
    store.put("a", { rows: [1, 2, 3], name: "a" });
    store.put("b", 42);
    const frames = await client().fetch(server.address, ["b", "nope", "a"]);
    expect(frames).toEqual([
      { found: true, value: 42 },
      { found: false },
      { found: true, value: { rows: [1, 2, 3], name: "a" } },
    ]);
  });

  it("moves typed arrays as raw bytes that come back as the same class and values", async () => {
    const { store, server } = await peer();
    const big = Float64Array.from({ length: 1_000_000 }, (_, i) => i * 0.5);
    const small = new Int32Array([1, -2, 3]);
    store.put("big", big);
    store.put("small", small);
    const [bigBack, smallBack] = await client().fetch(server.address, ["big", "small"]);
    expect(bigBack.found && bigBack.value).toBeInstanceOf(Float64Array);
    expect(bigBack.found && (bigBack.value as Float64Array)[999_999]).toBe(499_999.5);
    expect(smallBack.found && [...(smallBack.value as Int32Array)]).toEqual([1, -2, 3]);
  });

  it("moves Arrow tables that arrive as Tables with their columns", async () => {
    const { store, server } = await peer();
    const rows = 100_000;
    store.put("t", tableFromArrays({ k: Int32Array.from({ length: rows }, (_, i) => i % 7), v: Float64Array.from({ length: rows }, (_, i) => i / 2) }));
    const [frame] = await client().fetch(server.address, ["t"]);
    const table = frame.found ? (frame.value as Table) : undefined;
    expect(table).toBeInstanceOf(Table);
    expect(table!.numRows).toBe(rows);
    expect(table!.getChild("v")!.get(rows - 1)).toBe((rows - 1) / 2);
  });

  it("sends a view of part of a buffer, not the whole buffer", async () => {
    const { store, server } = await peer();
    const whole = new Uint16Array([9, 8, 7, 6, 5]);
    store.put("part", whole.subarray(1, 3));
    const [part] = await client().fetch(server.address, ["part"]);
    expect(part.found && [...(part.value as Uint16Array)]).toEqual([8, 7]);
  });

  it("advertises a reachable address, not the wildcard, when listening on every interface", async () => {
    const { store, server } = await peer({ host: "0.0.0.0" });
    store.put("a", 1);
    expect(server.address).not.toContain("0.0.0.0");
    expect(server.address).toMatch(/^http:\/\/[\d.]+:\d+$/);
    expect(await client().fetch(server.address, ["a"])).toEqual([{ found: true, value: 1 }]);
  });

  it("advertises the host it is told peers use", async () => {
    const { server } = await peer({ host: "127.0.0.1", advertise: "worker-7.cluster.local" });
    expect(server.address).toMatch(/^http:\/\/worker-7\.cluster\.local:\d+$/);
  });

  it("refuses a peer without the token, or with a wrong one, and serves one with it", async () => {
    const { store, server } = await peer();
    store.put("a", 1);
    const anonymous = await post(server.address);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: "unauthorized", message: expect.stringContaining("data token") });
    expect((await post(server.address, `Bearer ${TEST_DATA_TOKEN}`)).status).toBe(401);
    await expect(client("wrong-token-of-a-stranger").fetch(server.address, ["a"])).rejects.toThrow(/HTTP 401.*wrong data token/);
    await expect(client("wrong-token-of-a-stranger").fetch(server.address, ["a"])).rejects.toBeInstanceOf(PeerUnavailableError);
    expect(await client().fetch(server.address, ["a"])).toEqual([{ found: true, value: 1 }]);
  });

  it("never sends the token: a peer at a wrong address receives nothing it could use", async () => {
    const attacker = await listener();
    await expect(client().fetch(attacker.address, ["a"])).rejects.toBeInstanceOf(PeerUnavailableError);
    const request = attacker.received();
    expect(request).toContain("POST /fetch");
    expect(request).not.toContain(TEST_DATA_TOKEN);
    expect(request).not.toContain(Buffer.from(TEST_DATA_TOKEN).toString("base64"));
  });

  it("refuses a request signed for another address, such as one replayed from a wrong peer", async () => {
    const { store, server } = await peer();
    store.put("a", 1);
    const attacker = await listener();
    expect((await post(server.address, signDataRequest(TEST_DATA_TOKEN, attacker.address))).status).toBe(401);
  });

  it("refuses a request used twice, and one whose time is far from the server's clock", async () => {
    const { store, server } = await peer();
    store.put("a", 1);
    const signed = signDataRequest(TEST_DATA_TOKEN, server.address);
    expect((await post(server.address, signed)).status).toBe(200);
    const replayed = await post(server.address, signed);
    expect(replayed.status).toBe(401);
    expect(await replayed.json()).toMatchObject({ message: expect.stringContaining("replay") });
    const stale = await post(server.address, signDataRequest(TEST_DATA_TOKEN, server.address, Date.now() - 2 * MAX_CLOCK_SKEW_MS));
    expect(stale.status).toBe(401);
    expect(await stale.json()).toMatchObject({ message: expect.stringContaining("synchronize the hosts' clocks") });
  });

  it("accepts the previous token while the cluster changes to a new one", async () => {
    const keys = new DataKeys(TEST_DATA_TOKEN);
    const { store, server } = await peer();
    await server.close();
    const changing = await DataServer.start({ store, token: keys });
    open.push(changing);
    store.put("a", 1);
    keys.set("the-next-data-token-abcdefghijkl");
    expect(await client(TEST_DATA_TOKEN).fetch(changing.address, ["a"])).toEqual([{ found: true, value: 1 }]);
    expect(await client("the-next-data-token-abcdefghijkl").fetch(changing.address, ["a"])).toEqual([{ found: true, value: 1 }]);
    keys.set("a-third-data-token-abcdefghijklm");
    await expect(client(TEST_DATA_TOKEN).fetch(changing.address, ["a"])).rejects.toThrow(/HTTP 401/);
  });

  it("reports a peer that is gone as unavailable, naming its address", async () => {
    const { server } = await peer();
    const address = server.address;
    await server.close();
    await expect(client().fetch(address, ["a"])).rejects.toThrow(new RegExp(`peer ${address}`));
  });

  it("keeps the byte count of what it holds", () => {
    const store = new ResultStore();
    store.put("a", new Float64Array(10));
    store.put("b", new Uint8Array(5));
    expect(store.nbytes).toBe(85);
    store.put("a", new Uint8Array(1));
    store.delete("b");
    expect(store.nbytes).toBe(1);
    expect(store.size).toBe(1);
  });
});
