import { afterEach, describe, expect, it } from "vitest";
import { Call, Ref } from "../../graph/task-spec.js";
import { DataClient } from "../../protocol/data-client.js";
import { DataServer } from "../../worker/data-server.js";
import { type FetchOutcome, gatherInputs } from "../../worker/input-gatherer.js";
import { ResultStore } from "../../worker/result-store.js";
import { decodeTaskMessage, encodeTaskMessage, type TaskMessage } from "../../protocol/task-message.js";
import { TEST_DATA_TOKEN } from "../support/data-token.js";

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0)) await thing.close();
});

async function peer(results: Record<string, unknown>): Promise<string> {
  const store = new ResultStore();
  for (const [key, value] of Object.entries(results)) store.put(key, value);
  const server = await DataServer.start({ store, token: TEST_DATA_TOKEN });
  open.push(server);
  return server.address;
}

function dataClient(): DataClient {
  const client = new DataClient({ token: TEST_DATA_TOKEN, timeoutMs: 2000 });
  open.push(client);
  return client;
}

describe("task messages", () => {
  it("round-trip with references, fused calls, typed arrays and both kinds of input", () => {
    const message: TaskMessage = {
      key: "t",
      fn: "sum",
      args: [[new Ref("a"), new Call("inc", [new Ref("b")])], new Float64Array([1.5])],
      inputs: [
        { key: "a", inline: true, value: 3 },
        { key: "b", inline: false, holders: [{ worker: "w1", address: "http://127.0.0.1:1" }] },
      ],
      attempt: 2,
    };
    expect(decodeTaskMessage(encodeTaskMessage(message))).toEqual(message);
  });
});

describe("gathering inputs", () => {
  it("takes inputs inline, from its own store, and from peers", async () => {
    const address = await peer({ remote: [1, 2] });
    const store = new ResultStore();
    store.put("local", "here");
    const gathered = await gatherInputs(
      [
        { key: "inline", inline: true, value: 7 },
        { key: "local", inline: false, holders: [{ worker: "me", address: "http://127.0.0.1:1" }] },
        { key: "remote", inline: false, holders: [{ worker: "w2", address }] },
      ],
      store,
      dataClient(),
    );
    expect(gathered).toEqual({ ok: true, values: new Map<string, unknown>([["inline", 7], ["local", "here"], ["remote", [1, 2]]]), fetched: ["remote"] });
  });

  it("falls back to the next holder when the first is gone", async () => {
    const gone = await peer({});
    const good = await peer({ x: 5 });
    const gathered = await gatherInputs(
      [{ key: "x", inline: false, holders: [{ worker: "gone", address: gone }, { worker: "good", address: good }] }],
      new ResultStore(),
      dataClient(),
    );
    expect(gathered).toEqual({ ok: true, values: new Map([["x", 5]]), fetched: ["x"] });
  });

  it("reports an input no holder could give, naming every holder tried", async () => {
    const empty = await peer({});
    const closed = await DataServer.start({ store: new ResultStore(), token: TEST_DATA_TOKEN });
    const closedAddress = closed.address;
    await closed.close();
    const gathered = await gatherInputs(
      [{ key: "x", inline: false, holders: [{ worker: "w1", address: empty }, { worker: "w2", address: closedAddress }] }],
      new ResultStore(),
      dataClient(),
    );
    expect(gathered).toEqual({ ok: false, missing: [{ key: "x", worker: "w1" }, { key: "x", worker: "w2" }] });
  });

  it("asks each peer once for all the keys it holds", async () => {
    let requests = 0;
    const store = new ResultStore();
    for (let i = 0; i < 50; i++) store.put(`k${i}`, i);
    const server = await DataServer.start({ store, token: TEST_DATA_TOKEN });
    open.push(server);
    const client = dataClient();
    const fetch = client.fetch.bind(client);
    client.fetch = (address, keys) => {
      requests++;
      return fetch(address, keys);
    };
    const inputs = Array.from({ length: 50 }, (_, i) => ({
      key: `k${i}`,
      inline: false as const,
      holders: [{ worker: "w", address: server.address }],
    }));
    const gathered = await gatherInputs(inputs, new ResultStore(), client);
    expect(gathered.ok && gathered.values.size).toBe(50);
    expect(requests).toBe(1);
  });

  /** A data client that counts its requests, by peer address. */
  function countingClient(): { client: DataClient; requests: string[] } {
    const client = dataClient();
    const requests: string[] = [];
    const fetch = client.fetch.bind(client);
    client.fetch = (address, keys) => {
      requests.push(address);
      return fetch(address, keys);
    };
    return { client, requests };
  }

  it("shares one fetch of a key between tasks gathering it at the same time", async () => {
    const address = await peer({ x: 5, y: 6 });
    const { client, requests } = countingClient();
    const inFlight = new Map<string, Promise<FetchOutcome>>();
    const holders = [{ worker: "w", address }];
    const [first, second] = await Promise.all([
      gatherInputs([{ key: "x", inline: false, holders }], new ResultStore(), client, { inFlight }),
      gatherInputs(
        [
          { key: "x", inline: false, holders },
          { key: "y", inline: false, holders },
        ],
        new ResultStore(),
        client,
        { inFlight },
      ),
    ]);
    expect(first).toEqual({ ok: true, values: new Map([["x", 5]]), fetched: ["x"] });
    // The second task fetched only y itself; x came from the first task's fetch.
    expect(second).toEqual({ ok: true, values: new Map([["x", 5], ["y", 6]]), fetched: ["y"] });
    expect(requests).toHaveLength(2);
    expect(inFlight.size).toBe(0);
  });

  it("hands each fetched input over as it arrives, before the fetch stops being shared", async () => {
    const address = await peer({ x: 5 });
    const store = new ResultStore();
    const inFlight = new Map<string, Promise<FetchOutcome>>();
    const seen: string[] = [];
    const gathered = await gatherInputs([{ key: "x", inline: false, holders: [{ worker: "w", address }] }], store, dataClient(), {
      inFlight,
      onFetched: (key, value) => {
        seen.push(`${key}=${String(value)}, shared: ${inFlight.has(key)}`);
        store.put(key, value);
      },
    });
    expect(gathered.ok).toBe(true);
    expect(seen).toEqual(["x=5, shared: true"]);
  });

  it("lets a task whose shared fetch found nothing try its own holders", async () => {
    const gone = await peer({});
    const good = await peer({ x: 5 });
    const { client, requests } = countingClient();
    const inFlight = new Map<string, Promise<FetchOutcome>>();
    const [first, second] = await Promise.all([
      gatherInputs([{ key: "x", inline: false, holders: [{ worker: "gone", address: gone }] }], new ResultStore(), client, { inFlight }),
      gatherInputs(
        [{ key: "x", inline: false, holders: [{ worker: "gone", address: gone }, { worker: "good", address: good }] }],
        new ResultStore(),
        client,
        { inFlight },
      ),
    ]);
    expect(first).toEqual({ ok: false, missing: [{ key: "x", worker: "gone" }] });
    expect(second).toEqual({ ok: true, values: new Map([["x", 5]]), fetched: ["x"] });
    expect(requests).toEqual([gone, gone, good]);
    expect(inFlight.size).toBe(0);
  });

  it("reports a shared input no holder could give to every task that needed it", async () => {
    const empty = await peer({});
    const inFlight = new Map<string, Promise<FetchOutcome>>();
    const input = { key: "x", inline: false as const, holders: [{ worker: "w1", address: empty }] };
    const client = dataClient();
    const outcomes = await Promise.all([
      gatherInputs([input], new ResultStore(), client, { inFlight }),
      gatherInputs([input], new ResultStore(), client, { inFlight }),
    ]);
    expect(outcomes).toEqual([
      { ok: false, missing: [{ key: "x", worker: "w1" }] },
      { ok: false, missing: [{ key: "x", worker: "w1" }] },
    ]);
    expect(inFlight.size).toBe(0);
  });
});
