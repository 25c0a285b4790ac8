import { describe, expect, it } from "vitest";
import { ControlPlane, parseEventFields, type ControlPlaneOptions, type PrioritizedTaskEntry, type QueuedTask } from "../../../protocol/redis/control-plane.js";
import { seededRandom } from "../../support/seeded-random.js";
import { redisConnections } from "../../support/redis-connections.js";

const { connect } = redisConnections();

/** Each test gets its own prefix, so tests share the server without seeing each other. */
let prefixSeq = 0;
const freshPrefix = () => `test${++prefixSeq}`;

/** A control plane on its own connection. */
function plane(options: ControlPlaneOptions = {}): ControlPlane {
  return new ControlPlane(connect(), options);
}

const task = (key: string, priority: number, payload: string | Buffer = `payload of ${key}`): QueuedTask => ({
  key,
  priority,
  payload: typeof payload === "string" ? Buffer.from(payload) : payload,
});
const keysOf = (entries: readonly { key: string }[]) => entries.map((entry) => entry.key);
const manyTasks = (n: number) => Array.from({ length: n }, (_, i) => task(`t${i}`, i % 97));

/** Takes from one worker's queue in batches until a take comes back empty. */
async function drain(cp: ControlPlane, worker: string, batch: number): Promise<PrioritizedTaskEntry[]> {
  const taken: PrioritizedTaskEntry[] = [];
  for (;;) {
    const got = await cp.takeTasks(worker, batch);
    if (got.length === 0) return taken;
    taken.push(...got);
  }
}

describe("Redis control plane", () => {
  it("takes the highest-priority tasks first and moves them, payloads included, in flight", async () => {
    const cp = plane({ prefix: freshPrefix() });
    const outcome = await cp.enqueueTasks("w1", [task("c", 3), task("a", -1), task("b", 2.5)]);
    expect(outcome).toEqual({ accepted: true, state: "running", added: 3 });

    const taken = await cp.takeTasks("w1", 2);
    expect(taken).toEqual([
      { key: "a", payload: Buffer.from("payload of a"), priority: -1 },
      { key: "b", payload: Buffer.from("payload of b"), priority: 2.5 },
    ]);
    const { redis, keys } = cp;
    expect(await redis.zrange(keys.workerQueue("w1"), 0, -1)).toEqual(["c"]);
    expect(await redis.hgetall(keys.workerInFlight("w1"))).toEqual({ a: "payload of a", b: "payload of b" });
    expect(await redis.hkeys(keys.taskPayloads)).toEqual(["c"]);
  });

  it("takes at most the number of tasks asked for", async () => {
    const cp = plane({ prefix: freshPrefix() });
    await cp.enqueueTasks("w1", manyTasks(10));
    expect(await cp.takeTasks("w1", 4)).toHaveLength(4);
    expect(await cp.takeTasks("w1", 100)).toHaveLength(6);
    expect(await cp.takeTasks("w1", 100)).toEqual([]);
  });

  it("never gives one task to two concurrent takers, and together they get all", async () => {
    const prefix = freshPrefix();
    const tasks = manyTasks(3000);
    await plane({ prefix }).enqueueTasks("w1", tasks);

    const takers = Array.from({ length: 6 }, () => plane({ prefix }));
    const results = await Promise.all(takers.map((cp) => drain(cp, "w1", 7)));
    const all = results.flatMap(keysOf);
    expect(all).toHaveLength(tasks.length);
    expect(new Set(all)).toEqual(new Set(keysOf(tasks)));
    expect(results.filter((taken) => taken.length > 0).length).toBeGreaterThan(1);
  });

  it("rescores tasks still queued and never queues again one that was taken or never queued", async () => {
    const cp = plane({ prefix: freshPrefix() });
    await cp.enqueueTasks("w1", [task("a", 1), task("b", 2), task("c", 3)]);
    expect(keysOf(await cp.takeTasks("w1", 1))).toEqual(["a"]);
    const rescored = await cp.rescoreTasks("w1", [
      { key: "a", priority: 0 },
      { key: "c", priority: -5 },
      { key: "never-queued", priority: -9 },
    ]);
    expect(rescored).toBe(1);
    expect(await cp.takeTasks("w1", 10)).toEqual([
      { key: "c", payload: Buffer.from("payload of c"), priority: -5 },
      { key: "b", payload: Buffer.from("payload of b"), priority: 2 },
    ]);
  });

  it("steals only queued tasks, with their priority, and refuses tasks in flight", async () => {
    const cp = plane({ prefix: freshPrefix() });
    await cp.enqueueTasks("victim", [task("a", 1), task("b", 2), task("c", 3), task("d", 4)]);
    await cp.takeTasks("victim", 2);

    const outcome = await cp.stealTasks("victim", "thief", ["a", "b", "c", "not-there"]);
    expect(outcome).toEqual({ accepted: ["c"], refused: ["a", "b", "not-there"] });
    expect(await cp.takeTasks("thief", 10)).toEqual([{ key: "c", payload: Buffer.from("payload of c"), priority: 3 }]);
    expect(keysOf(await cp.takeTasks("victim", 10))).toEqual(["d"]);
  });

  it("never lets a task be both stolen and taken, nor lost, when steals race takes", async () => {
    const prefix = freshPrefix();
    const tasks = manyTasks(3000);
    await plane({ prefix }).enqueueTasks("victim", tasks);
    const random = seededRandom(11);
    let stealing = true;

    const victimTakers = Array.from({ length: 3 }, () => drain(plane({ prefix }), "victim", 5));
    const stealers = Array.from({ length: 3 }, async () => {
      const cp = plane({ prefix });
      const accepted: string[] = [];
      for (let round = 0; round < 60; round++) {
        const keys = Array.from({ length: 20 }, () => tasks[Math.floor(random() * tasks.length)].key);
        accepted.push(...(await cp.stealTasks("victim", "thief", [...new Set(keys)])).accepted);
      }
      return accepted;
    });
    const thiefTaker = (async () => {
      const cp = plane({ prefix });
      const taken: PrioritizedTaskEntry[] = [];
      while (stealing) taken.push(...(await cp.takeTasks("thief", 3)));
      return taken;
    })();
    const takenByVictim = (await Promise.all(victimTakers)).flatMap(keysOf);
    const stolen = (await Promise.all(stealers)).flat();
    stealing = false;
    const takenByThief = keysOf(await thiefTaker);

    const { redis, keys } = plane({ prefix });
    const leftOnThief = await redis.zrange(keys.workerQueue("thief"), 0, -1);
    const leftOnVictim = await redis.zrange(keys.workerQueue("victim"), 0, -1);
    const everywhere = [...takenByVictim, ...takenByThief, ...leftOnThief, ...leftOnVictim];
    expect(everywhere.sort()).toEqual(keysOf(tasks).sort());
    expect([...takenByThief, ...leftOnThief].sort()).toEqual([...stolen].sort());
    expect((await redis.hkeys(keys.workerInFlight("victim"))).sort()).toEqual([...takenByVictim].sort());
    expect((await redis.hkeys(keys.workerInFlight("thief"))).sort()).toEqual([...takenByThief].sort());
    // Both sides won some races, or the test proved nothing.
    expect(stolen.length).toBeGreaterThan(0);
    expect(takenByVictim.length).toBeGreaterThan(0);
  });

  it("refuses every steal to a stopping thief, leaving the tasks with the victim", async () => {
    const cp = plane({ prefix: freshPrefix() });
    await cp.enqueueTasks("victim", [task("a", 1)]);
    await cp.markStopping("thief");
    expect(await cp.stealTasks("victim", "thief", ["a"])).toEqual({ accepted: [], refused: ["a"] });
    expect(keysOf(await cp.takeTasks("victim", 1))).toEqual(["a"]);
  });

  it("gives a stopping worker nothing to take, and refuses to queue more on it", async () => {
    const cp = plane({ prefix: freshPrefix() });
    expect(await cp.markStopping("w1")).toEqual({ state: "stopping", returned: 0 });
    expect(await cp.enqueueTasks("w1", [task("b", 1)])).toEqual({ accepted: false, state: "stopping", added: 0 });
    expect(await cp.takeTasks("w1", 10)).toEqual([]);
  });

  it("announces a stop on the events stream with the queued tasks handed back, and leaves in-flight tasks to the worker", async () => {
    const cp = plane({ prefix: freshPrefix() });
    await cp.enqueueTasks("w1", [task("a", 1), task("b", 2), task("c", 3)]);
    expect(keysOf(await cp.takeTasks("w1", 1))).toEqual(["a"]);
    expect(await cp.markStopping("w1")).toEqual({ state: "stopping", returned: 2 });

    const { keys } = cp;
    expect(await cp.redis.zcard(keys.workerQueue("w1"))).toBe(0);
    expect(await cp.redis.exists(keys.taskPayloads)).toBe(0);
    expect(await cp.redis.hkeys(keys.workerInFlight("w1"))).toEqual(["a"]);
    const entries = (await cp.redis.xrangeBuffer(keys.events, "-", "+")).map(([, fields]) => parseEventFields(fields));
    expect(entries).toEqual([{ worker: "w1", returned: ["b", "c"] }]);
    await cp.markStopping("w2");
    expect(parseEventFields((await cp.redis.xrangeBuffer(keys.events, "-", "+"))[1][1])).toEqual({ worker: "w2", returned: [] });
  });

  it("recovers a worker's queued and in-flight tasks, and a second recovery finds nothing", async () => {
    const cp = plane({ prefix: freshPrefix() });
    await cp.enqueueTasks("w1", [task("a", 1), task("b", 2), task("c", 3), task("d", 4)]);
    await cp.takeTasks("w1", 2);

    const first = await cp.recoverWorker("w1");
    expect(first.recovered).toBe(true);
    expect(first.queued).toEqual([
      { key: "c", payload: Buffer.from("payload of c"), priority: 3 },
      { key: "d", payload: Buffer.from("payload of d"), priority: 4 },
    ]);
    expect([...first.inFlight].sort((x, y) => x.key.localeCompare(y.key))).toEqual([
      { key: "a", payload: Buffer.from("payload of a") },
      { key: "b", payload: Buffer.from("payload of b") },
    ]);
    expect(await cp.recoverWorker("w1")).toEqual({ recovered: true, queued: [], inFlight: [] });
    const { keys } = cp;
    expect(await cp.redis.exists(keys.workerQueue("w1"), keys.workerInFlight("w1"), keys.taskPayloads)).toBe(0);
  });

  it("keeps a recovered worker out: it takes nothing, receives nothing and cannot heartbeat back", async () => {
    const cp = plane({ prefix: freshPrefix() });
    const metadata = { id: "w1", nthreads: 2, dataAddress: "127.0.0.1:4000", pid: 123 };
    await cp.heartbeat(metadata);
    await cp.recoverWorker("w1");
    expect(await cp.listWorkers()).toEqual([]);
    expect((await cp.heartbeat(metadata)).state).toBe("dead");
    expect(await cp.listWorkers()).toEqual([]);
    expect((await cp.enqueueTasks("w1", [task("a", 1)])).state).toBe("dead");
    expect(await cp.takeTasks("w1", 1)).toEqual([]);
    expect(await cp.markStopping("w1")).toEqual({ state: "dead", returned: 0 });
  });

  it("with onlyIfSilent, leaves a worker with a live heartbeat untouched", async () => {
    const cp = plane({ prefix: freshPrefix() });
    await cp.heartbeat({ id: "w1", nthreads: 1, dataAddress: "127.0.0.1:4000", pid: 1 });
    await cp.enqueueTasks("w1", [task("a", 1)]);
    expect(await cp.recoverWorker("w1", { onlyIfSilent: true })).toEqual({ recovered: false, queued: [], inFlight: [] });
    expect(keysOf(await cp.takeTasks("w1", 1))).toEqual(["a"]);
  });

  it("clears finished tasks, names those no longer in flight, and appends the report in the same step", async () => {
    const cp = plane({ prefix: freshPrefix() });
    await cp.enqueueTasks("w1", [task("a", 1), task("b", 2)]);
    await cp.takeTasks("w1", 2);
    expect(await cp.finishTasks("w1", ["a", "ghost"], Buffer.from("report"))).toEqual({ finished: ["a"], stale: ["ghost"] });
    expect(await cp.redis.hkeys(cp.keys.workerInFlight("w1"))).toEqual(["b"]);
    const entries = await cp.redis.xrange(cp.keys.events, "-", "+");
    expect(entries.map(([, fields]) => fields)).toEqual([["worker", "w1", "data", "report"]]);
  });

  it("registers a worker with its metadata, and its heartbeat expires after the TTL", async () => {
    const cp = plane({ prefix: freshPrefix(), heartbeatTtlMs: 150 });
    const metadata = { id: "w1", nthreads: 4, dataAddress: "10.0.0.5:40123", pid: 4242 };
    expect(await cp.heartbeat(metadata)).toEqual({ state: "running", generation: "" });
    expect(await cp.liveWorkers()).toEqual([{ ...metadata, state: "running", alive: true }]);
    expect(await cp.redis.pttl(cp.keys.workerHeartbeat("w1"))).toBeGreaterThan(0);

    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await cp.liveWorkers()).toEqual([]);
    expect(await cp.listWorkers()).toEqual([{ ...metadata, state: "running", alive: false }]);
  });

  it("keeps two deployments with different prefixes on one server apart", async () => {
    const one = plane({ prefix: freshPrefix() });
    const two = plane({ prefix: freshPrefix() });
    await one.enqueueTasks("w1", [task("a", 1)]);
    await one.heartbeat({ id: "w1", nthreads: 1, dataAddress: "127.0.0.1:1", pid: 1 });

    expect(await two.takeTasks("w1", 10)).toEqual([]);
    expect(await two.stealTasks("w1", "w2", ["a"])).toEqual({ accepted: [], refused: ["a"] });
    expect(await two.listWorkers()).toEqual([]);
    expect(await two.recoverWorker("w1")).toEqual({ recovered: true, queued: [], inFlight: [] });
    expect(keysOf(await one.takeTasks("w1", 10))).toEqual(["a"]);
    expect((await one.liveWorkers()).map((worker) => worker.id)).toEqual(["w1"]);
    expect(await two.redis.keys(`${two.keys.prefix}:*`)).toEqual([two.keys.workerState("w1")]);
  });

  it("returns binary payloads byte for byte, through takes, recovery and reports", async () => {
    const cp = plane({ prefix: freshPrefix() });
    const random = seededRandom(3);
    const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
    const special = Buffer.from([0x00, 0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0x00, 0x0d, 0x0a]);
    const payloads = [special, randomBytes(1), randomBytes(1000), randomBytes(70_000), Buffer.concat([randomBytes(5), special])];
    const typedArrayView = new Uint8Array(randomBytes(64).buffer, 7, 33);

    await cp.enqueueTasks("w1", [...payloads.map((payload, i) => task(`t${i}`, i, payload)), { key: "view", priority: 99, payload: typedArrayView }]);
    const taken = await cp.takeTasks("w1", 3);
    expect(taken.map((t) => t.payload)).toEqual(payloads.slice(0, 3));
    const recovered = await cp.recoverWorker("w1");
    expect(recovered.queued.map((t) => t.payload)).toEqual([...payloads.slice(3), Buffer.from(typedArrayView)]);
    const inFlight = new Map(recovered.inFlight.map((t) => [t.key, t.payload]));
    expect(taken.every((t) => inFlight.get(t.key)!.equals(t.payload))).toBe(true);

    await cp.finishTasks("w2", [], special);
    const [[, fields]] = await cp.redis.xrangeBuffer(cp.keys.events, "-", "+");
    expect(fields[3]).toEqual(special);
  });

  it("wakes a worker waiting for work when tasks are enqueued, even if the wake-up came first", async () => {
    const prefix = freshPrefix();
    const scheduler = plane({ prefix });
    const waiter = plane({ prefix });
    const woken = waiter.waitForWork("w1", 5_000);
    await scheduler.enqueueTasks("w1", [task("a", 1)]);
    expect(await woken).toBe(true);

    await scheduler.enqueueTasks("w1", [task("b", 1)]);
    expect(await waiter.waitForWork("w1", 5_000)).toBe(true);
    expect(await waiter.waitForWork("w1", 50)).toBe(false);
  });

  it("delivers inbox messages in order, wakes the worker, and drops them when it is recovered", async () => {
    const cp = plane({ prefix: freshPrefix() });
    const waiter = plane({ prefix: cp.keys.prefix });
    expect(await cp.sendToWorker("w1", [Buffer.from("release a"), Buffer.from("release b")])).toBe(true);
    expect(await waiter.waitForWork("w1", 1_000)).toBe(true);
    expect((await cp.takeWorkerMessages("w1", 10)).map((m) => m.toString())).toEqual(["release a", "release b"]);
    expect(await cp.takeWorkerMessages("w1", 10)).toEqual([]);
    await cp.sendToWorker("w1", [Buffer.from("never read")]);
    await cp.recoverWorker("w1");
    expect(await cp.redis.exists(cp.keys.workerInbox("w1"))).toBe(0);
    expect(await cp.sendToWorker("w1", [Buffer.from("too late")])).toBe(false);
  });
});
