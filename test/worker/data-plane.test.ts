import { Table, tableFromArrays } from "apache-arrow";
import { afterEach, describe, expect, it } from "vitest";
import { DataClient, PeerUnavailableError } from "../../protocol/data-client.js";
import { DataServer } from "../../worker/data-server.js";
import { ResultStore } from "../../worker/result-store.js";

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0)) await thing.close();
});

async function peer(options: { token?: string; host?: string; advertise?: string } = {}): Promise<{ store: ResultStore; server: DataServer }> {
  const store = new ResultStore();
  const server = await DataServer.start({ store, ...options });
  open.push(server);
  return { store, server };
}

function client(token?: string): DataClient {
  const c = new DataClient({ token });
  open.push(c);
  return c;
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

  it("refuses a request without the token when one is set", async () => {
    const { store, server } = await peer({ token: "s3cret" });
    store.put("a", 1);
    await expect(client().fetch(server.address, ["a"])).rejects.toThrow(/HTTP 401/);
    await expect(client("wrong").fetch(server.address, ["a"])).rejects.toBeInstanceOf(PeerUnavailableError);
    expect(await client("s3cret").fetch(server.address, ["a"])).toEqual([{ found: true, value: 1 }]);
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
