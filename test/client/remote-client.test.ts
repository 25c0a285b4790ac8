import { describe, expect, it } from "vitest";
import { Client } from "../../client/client.js";
import { COLLECTION } from "../../client/collection.js";
import { delayed } from "../../client/delayed.js";
import { task } from "../../client/task.js";
import { asCompleted, CancelledError } from "../../client/future.js";
import { HttpApiError } from "../../client/http-transport.js";
import type { TaskCounts } from "../../protocol/job-api.js";
import { TaskError } from "../../protocol/task-error.js";
import { add, fail, fill, inc, slowSquare, total } from "../fixtures/math-tasks.js";
import { Squares } from "../fixtures/squares-collection.js";
import { usePrivateRedis } from "../support/cluster-setup.js";
import { TEST_TOKEN, useApiCluster } from "../scheduler/http/api-cluster.js";

const square = task("test.remote.square", (x: number) => x * x);


const server = usePrivateRedis();
const cluster = useApiCluster(server);

async function connect() {
  const api = await cluster();
  return { api, client: await Client.connect(api.url, { token: TEST_TOKEN }) };
}

describe("Client.connect", () => {
  it("refuses a wrong token when connecting", async () => {
    const api = await cluster();
    const error = (await Client.connect(api.url, { token: "not-the-token-at-all" }).catch((e: unknown) => e)) as HttpApiError;
    expect(error).toBeInstanceOf(HttpApiError);
    expect(error.status).toBe(401);
    expect(error.code).toBe("unauthorized");
  });

  it("computes delayed values on the cluster, as the local client does", async () => {
    const { client } = await connect();
    const a = delayed(inc)(1);
    const b = delayed(add)(a, 10);
    expect(await client.compute(a, b, "as is")).toEqual([2, 12, "as is"]);
  });

  it("brings typed arrays back as typed arrays", async () => {
    const { client } = await connect();
    const [block] = await client.compute(delayed(fill)(1000, 2.5));
    expect(block).toBeInstanceOf(Float64Array);
    expect((block as Float64Array).length).toBe(1000);
    expect(await client.compute(delayed(total)(delayed(fill)(4, 0.5)))).toEqual([2]);
  });

  it("persists a value on the workers and later graphs read it", async () => {
    const { client } = await connect();
    const [held] = await client.persist(delayed(inc)(99));
    expect(await client.compute(delayed(add)(held, 1))).toEqual([101]);
  });

  it("computes and persists collections", async () => {
    const { client } = await connect();
    expect(await client.compute(Squares.of(square.taskName, "remote-sq", 4))).toEqual([[0, 1, 4, 9]]);
    const [held] = await client.persist(Squares.of(square.taskName, "remote-held", 3));
    expect(held[COLLECTION].graph().size).toBe(0);
    expect(await client.compute(held)).toEqual([[0, 1, 4]]);
  });

  it("close releases the results its persisted values hold", async () => {
    const { api, client } = await connect();
    const [held] = await client.persist(delayed(inc)(500));
    await client.close();
    const reply = await api.request("/v1/jobs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ tasks: { r: { fn: "weft.identity", args: [{ $ref: held.key }] } }, outputs: ["r"] }),
    });
    expect(reply.status).toBe(400);
    expect(await reply.json()).toMatchObject({ error: "missing-dependency" });
  });

  it("re-throws a remote task error with its key and the worker's stack", async () => {
    const { client } = await connect();
    const broken = delayed(inc)(delayed(fail)("far away"));
    const error = (await client.compute(broken).catch((e: unknown) => e)) as TaskError;
    expect(error).toBeInstanceOf(TaskError);
    expect(error.remoteMessage).toBe("far away");
    expect(error.remoteName).toBe("TypeError");
    expect(error.remoteStack).toContain("math-tasks.ts");
    expect(error.key).toBe(broken.key);
  });

  it("submit, map and gather run futures on the cluster, and a future feeds a later task", async () => {
    const { client } = await connect();
    const first = client.submit(inc, 1);
    const second = client.submit(add, first, 40);
    expect(await second.result()).toBe(42);
    expect(await client.gather(client.map(slowSquare, [1, 2, 3]))).toEqual([1, 4, 9]);
  });

  it("asCompleted yields each remote future once it is done", async () => {
    const { client } = await connect();
    const futures = client.map(inc, [1, 2, 3, 4, 5]);
    const results: number[] = [];
    for await (const future of asCompleted(futures)) results.push(await future.result());
    expect(results.sort()).toEqual([2, 3, 4, 5, 6]);
  });

  it("a cancelled remote future rejects with CancelledError", async () => {
    const { client } = await connect();
    const future = client.submit(slowSquare, 12);
    await future.cancel();
    await expect(future.result()).rejects.toBeInstanceOf(CancelledError);
  });

  it("reports progress through the callback until every task has finished", async () => {
    const api = await cluster();
    const seen: TaskCounts[] = [];
    let resolveDone!: () => void;
    const allDone = new Promise<void>((resolve) => (resolveDone = resolve));
    const client = await Client.connect(api.url, {
      token: TEST_TOKEN,
      onProgress: ({ tasks }) => {
        seen.push(tasks);
        if (tasks.finished === tasks.total) resolveDone();
      },
    });
    const leaves = Array.from({ length: 8 }, (_, i) => delayed(slowSquare)(i));
    await client.compute(delayed(add)(delayed(add)(leaves[0], leaves[1]), leaves[2]), ...leaves);
    await allDone;
    expect(seen.at(-1)).toMatchObject({ total: 10, finished: 10, erred: 0 });
  });
});
