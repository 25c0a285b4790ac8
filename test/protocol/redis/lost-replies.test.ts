import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { ControlPlane, type QueuedTask } from "../../../protocol/redis/control-plane.js";
import { usePrivateRedis } from "../../support/cluster-setup.js";
import { startReplyLosingProxy, type ReplyLosingProxy } from "../../support/reply-losing-proxy.js";

/**
 * A Redis that crashes (even one with an append-only file that keeps every write) may run a command
 * and die before its reply leaves; ioredis then reconnects and sends the unanswered command again.
 * The control plane's takes and steals must answer that second sending as they would have answered
 * the first, or tasks and reports are lost and jobs wait forever: found by the chaos test
 * (`test/integration/chaos.test.ts`), where a Redis restart left two tasks in flight on a live worker
 * that never got them.
 */

const server = usePrivateRedis();
const opened: { close(): Promise<void> }[] = [];
const connections: Redis[] = [];
afterEach(async () => {
  for (const redis of connections.splice(0)) redis.disconnect();
  for (const thing of opened.splice(0)) await thing.close();
});

let prefixSeq = 0;

/** A plane reaching Redis through a proxy that can lose a reply, and one reaching it directly, to look. */
async function planes(options: { epoch?: number } = {}): Promise<{ proxy: ReplyLosingProxy; lossy: ControlPlane; direct: ControlPlane }> {
  const prefix = `lost${++prefixSeq}`;
  const proxy = await startReplyLosingProxy(server().port);
  opened.push(proxy);
  // As weft's processes connect (connect-redis.ts): commands wait through reconnections.
  const viaProxy = new Redis(proxy.url, { maxRetriesPerRequest: null });
  viaProxy.on("error", () => undefined);
  const direct = new Redis(server().url);
  connections.push(viaProxy, direct);
  return {
    proxy,
    lossy: new ControlPlane(viaProxy, { prefix, schedulerEpoch: options.epoch }),
    direct: new ControlPlane(direct, { prefix, schedulerEpoch: options.epoch }),
  };
}

const task = (key: string, priority: number): QueuedTask => ({ key, priority, payload: Buffer.from(`payload of ${key}`) });

describe("control-plane calls whose reply is lost with the connection, and which ioredis sends again", () => {
  it("a take of tasks answers again with the tasks it took, and takes no more", async () => {
    const { proxy, lossy, direct } = await planes();
    await direct.enqueueTasks("w1", [task("a", 1), task("b", 2), task("c", 3)]);
    // The script is loaded on the connection first, so that the lost reply is the one of a run.
    expect(await lossy.takeTasks("w2", 1)).toEqual([]);

    proxy.loseNextReply();
    const taken = await lossy.takeTasks("w1", 2);
    expect(proxy.lost).toBe(1);
    expect(taken).toEqual([
      { key: "a", payload: Buffer.from("payload of a"), priority: 1 },
      { key: "b", payload: Buffer.from("payload of b"), priority: 2 },
    ]);
    // In flight: exactly what the worker was given. Queued: the rest, which the next take gets.
    expect((await direct.redis.hkeys(direct.keys.workerInFlight("w1"))).sort()).toEqual(["a", "b"]);
    expect((await lossy.takeTasks("w1", 10)).map((entry) => entry.key)).toEqual(["c"]);
  });

  it("a take of events returns the same reports again, and the next take deletes them", async () => {
    const { proxy, lossy, direct } = await planes({ epoch: 1 });
    await direct.redis.set(direct.keys.schedulerEpoch, "1");
    await direct.finishTasks("w1", [], Buffer.from("report 1"));
    await direct.finishTasks("w2", [], Buffer.from("report 2"));
    expect(await lossy.takeEvents(1)).toHaveLength(1);

    proxy.loseNextReply();
    const taken = await lossy.takeEvents(10);
    expect(proxy.lost).toBe(1);
    expect(taken.map((entry) => [entry.worker, entry.data?.toString()])).toEqual([["w2", "report 2"]]);
    expect(await lossy.takeEvents(10)).toEqual([]);
    expect(await direct.redis.xlen(direct.keys.events)).toBe(0);
  });

  it("an enqueue writes nothing the second time, so the worker runs its tasks once", async () => {
    const { proxy, lossy, direct } = await planes({ epoch: 1 });
    await direct.redis.set(direct.keys.schedulerEpoch, "1");
    expect((await lossy.enqueueTasks("w2", [task("z", 1)])).accepted).toBe(true);

    // While the scheduler's connection is down, the worker takes the task and finishes it.
    const ran: string[] = [];
    proxy.loseNextReply(async () => {
      const taken = await direct.takeTasks("w1", 10);
      ran.push(...taken.map((entry) => entry.key));
      await direct.finishTasks("w1", ran, Buffer.from("finished a"));
    });
    expect(await lossy.enqueueTasks("w1", [task("a", 1)])).toEqual({ accepted: true, state: "running", added: 0 });
    expect(proxy.lost).toBe(1);
    expect(ran).toEqual(["a"]);
    expect(await direct.takeTasks("w1", 10)).toEqual([]);
  });

  it("a steal says it moved the tasks it moved", async () => {
    const { proxy, lossy, direct } = await planes({ epoch: 1 });
    await direct.redis.set(direct.keys.schedulerEpoch, "1");
    await direct.enqueueTasks("victim", [task("a", 1), task("b", 2)]);
    expect(await lossy.stealTasks("victim", "thief", ["not-queued"])).toEqual({ accepted: [], refused: ["not-queued"] });

    proxy.loseNextReply();
    expect(await lossy.stealTasks("victim", "thief", ["a", "b"])).toEqual({ accepted: ["a", "b"], refused: [] });
    expect(proxy.lost).toBe(1);
    expect(await direct.redis.zrange(direct.keys.workerQueue("thief"), 0, -1)).toEqual(["a", "b"]);
  });
});
