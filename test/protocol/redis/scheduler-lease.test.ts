import { describe, expect, it } from "vitest";
import { ControlPlane, type QueuedTask } from "../../../protocol/redis/control-plane.js";
import { RedisWipedError, SchedulerFencedError, SchedulerLease } from "../../../protocol/redis/scheduler-lease.js";
import { redisConnections } from "../../support/redis-connections.js";

const { connect } = redisConnections();

let prefixSeq = 0;
const freshPrefix = () => `lease${++prefixSeq}`;

const candidate = (id: string) => ({ id, host: "host-1", pid: 4242 });
const task = (key: string): QueuedTask => ({ key, priority: 1, payload: Buffer.from(`payload of ${key}`) });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the scheduler lease", () => {
  it("is taken by one scheduler at a time, each taking with an epoch one larger than the last", async () => {
    const prefix = freshPrefix();
    const one = new SchedulerLease(connect(), { prefix, ttlMs: 300 });
    const two = new SchedulerLease(connect(), { prefix, ttlMs: 300 });

    const first = await one.acquire(candidate("one"));
    expect(first).toMatchObject({ acquired: true, holder: { epoch: 1, id: "one", host: "host-1", pid: 4242 } });
    expect(Math.abs(first.holder.since - Date.now())).toBeLessThan(5_000);
    const refused = await two.acquire(candidate("two"));
    expect(refused).toEqual({ acquired: false, holder: first.holder });
    expect(await one.redis.pttl(one.keys.schedulerLease)).toBeGreaterThan(0);

    await sleep(400);
    expect(await two.acquire(candidate("two"))).toMatchObject({ acquired: true, holder: { epoch: 2, id: "two" } });
  });

  it("is renewed by its holder, set again after a lapse nobody used, and refused once another took it", async () => {
    const prefix = freshPrefix();
    const one = new SchedulerLease(connect(), { prefix, ttlMs: 300 });
    const two = new SchedulerLease(connect(), { prefix, ttlMs: 300 });
    const taken = await one.acquire(candidate("one"));
    if (!taken.acquired) throw new Error("not taken");

    for (let i = 0; i < 4; i++) {
      await sleep(150);
      expect(await one.renew(1, taken.lease)).toEqual({ renewed: true });
    }
    expect((await two.acquire(candidate("two"))).acquired).toBe(false);

    // Lapsed, and nobody took it: no other scheduler wrote meanwhile, so the holder goes on.
    await sleep(400);
    expect(await one.holder()).toBeUndefined();
    expect(await one.renew(1, taken.lease)).toEqual({ renewed: true });
    expect(await two.holder()).toEqual(taken.holder);

    await sleep(400);
    const second = await two.acquire(candidate("two"));
    expect(second).toMatchObject({ acquired: true, holder: { epoch: 2 } });
    expect(await one.renew(1, taken.lease)).toEqual({ renewed: false, holder: second.holder });
    expect(await two.holder()).toEqual(second.holder);
  });

  it("released by its holder, is taken by the next scheduler at once; a stale release changes nothing", async () => {
    const prefix = freshPrefix();
    const one = new SchedulerLease(connect(), { prefix, ttlMs: 60_000 });
    const two = new SchedulerLease(connect(), { prefix, ttlMs: 60_000 });
    await one.acquire(candidate("one"));
    expect(await one.release(1)).toBe(true);
    expect((await two.acquire(candidate("two"))).holder.epoch).toBe(2);
    expect(await one.release(1)).toBe(false);
    expect((await one.holder())?.id).toBe("two");
  });

  it("after Redis lost its data, is set again by its holder with its epoch, so epochs keep increasing", async () => {
    const prefix = freshPrefix();
    const one = new SchedulerLease(connect(), { prefix, ttlMs: 60_000 });
    const taken = await one.acquire(candidate("one"));
    if (!taken.acquired) throw new Error("not taken");
    await one.redis.del(one.keys.schedulerLease, one.keys.schedulerEpoch);
    expect(await one.renew(1, taken.lease)).toEqual({ renewed: true });
    expect(await one.redis.get(one.keys.schedulerEpoch)).toBe("1");
    await one.release(1);
    expect((await one.acquire(candidate("next"))).holder.epoch).toBe(2);
  });

  it("refuses a lifetime shorter than 300 ms", () => {
    expect(() => new SchedulerLease(connect(), { ttlMs: 100 })).toThrow(/ttlMs must be an integer >= 300/);
  });
});

describe("the fence", () => {
  /** A cluster whose role went from epoch 1 to epoch 2: one plane per epoch, and one unfenced (a worker's). */
  async function deposedAndCurrent(): Promise<{ stale: ControlPlane; current: ControlPlane; worker: ControlPlane }> {
    const prefix = freshPrefix();
    const lease = new SchedulerLease(connect(), { prefix, ttlMs: 60_000 });
    await lease.acquire(candidate("old"));
    await lease.release(1);
    await lease.acquire(candidate("new"));
    return {
      stale: new ControlPlane(connect(), { prefix, schedulerEpoch: 1 }),
      current: new ControlPlane(connect(), { prefix, schedulerEpoch: 2 }),
      worker: new ControlPlane(connect(), { prefix }),
    };
  }

  it("refuses every write of a stale epoch, atomically: nothing is enqueued, sent, stolen, recovered or taken", async () => {
    const { stale, current, worker } = await deposedAndCurrent();
    await current.enqueueTasks("w1", [task("a"), task("b")]);
    await worker.finishTasks("w1", [], Buffer.from("a report"));
    const before = await dump(current);

    await expect(stale.enqueueTasks("w1", [task("c")])).rejects.toThrow(SchedulerFencedError);
    await expect(stale.enqueueTasks("w2", [task("c")])).rejects.toThrow(/^FENCED weft enqueue-tasks: scheduler epoch 1 is not the current one \(2\)$/);
    await expect(stale.sendToWorker("w1", [Buffer.from("release a")])).rejects.toThrow(SchedulerFencedError);
    await expect(stale.stealTasks("w1", "w2", ["a"])).rejects.toThrow(SchedulerFencedError);
    await expect(stale.rescoreTasks("w1", [{ key: "a", priority: 9 }])).rejects.toThrow(SchedulerFencedError);
    await expect(stale.recoverWorker("w1")).rejects.toThrow(SchedulerFencedError);
    await expect(stale.takeEvents(100)).rejects.toThrow(SchedulerFencedError);
    expect(await dump(current)).toEqual(before);
  });

  it("lets the current epoch's writes through, and a worker's unfenced ones", async () => {
    const { current, worker } = await deposedAndCurrent();
    expect((await current.enqueueTasks("w1", [task("a"), task("b")])).added).toBe(2);
    expect(await current.stealTasks("w1", "w2", ["b"])).toEqual({ accepted: ["b"], refused: [] });
    expect(await current.rescoreTasks("w1", [{ key: "a", priority: 9 }, { key: "gone", priority: 1 }])).toBe(1);
    expect(await current.sendToWorker("w1", [Buffer.from("release x")])).toBe(true);
    await worker.finishTasks("w1", [], Buffer.from("a report"));
    expect((await current.takeEvents(100)).map((entry) => [entry.worker, entry.data?.toString()])).toEqual([["w1", "a report"]]);
    expect(await current.takeEvents(100)).toEqual([]);
    expect(await current.redis.xlen(current.keys.events)).toBe(0);
    expect(await worker.recoverWorker("w2")).toMatchObject({ recovered: true, queued: [{ key: "b" }] });
  });

  it("refuses every epoch once Redis lost its epoch, as lost data rather than a deposition, until the holder's renewal sets it again", async () => {
    const prefix = freshPrefix();
    const lease = new SchedulerLease(connect(), { prefix, ttlMs: 60_000 });
    const taken = await lease.acquire(candidate("one"));
    if (!taken.acquired) throw new Error("not taken");
    const plane = new ControlPlane(connect(), { prefix, schedulerEpoch: 1 });
    await plane.redis.del(lease.keys.schedulerLease, lease.keys.schedulerEpoch);
    await expect(plane.enqueueTasks("w1", [task("a")])).rejects.toThrow(RedisWipedError);
    await expect(plane.enqueueTasks("w1", [task("a")])).rejects.toThrow(/the scheduler epoch is missing \(Redis lost its data\)/);
    await lease.renew(1, taken.lease);
    expect((await plane.enqueueTasks("w1", [task("a")])).accepted).toBe(true);
  });
});

/** Everything a fenced write could change, for comparing before and after. */
async function dump(plane: ControlPlane): Promise<unknown> {
  const k = plane.keys;
  const redis = plane.redis;
  return {
    queues: await Promise.all(["w1", "w2"].map((w) => redis.zrange(k.workerQueue(w), 0, -1, "WITHSCORES"))),
    inboxes: await Promise.all(["w1", "w2"].map((w) => redis.lrange(k.workerInbox(w), 0, -1))),
    states: await Promise.all(["w1", "w2"].map((w) => redis.get(k.workerState(w)))),
    payloads: await redis.hgetall(k.taskPayloads),
    events: (await redis.xrange(k.events, "-", "+")).map(([, fields]) => fields),
  };
}
