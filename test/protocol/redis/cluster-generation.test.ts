import { describe, expect, it } from "vitest";
import { ControlPlane, parseEventFields, type ControlPlaneOptions } from "../../../protocol/redis/control-plane.js";
import { RedisWipedError, SchedulerFencedError } from "../../../protocol/redis/scheduler-lease.js";
import { decodeWorkerAccount, encodeWorkerAccount, taskFingerprint } from "../../../protocol/worker-account.js";
import { redisConnections } from "../../support/redis-connections.js";

const { connect } = redisConnections();

let prefixSeq = 0;
const freshPrefix = () => `generation${++prefixSeq}`;

function plane(options: ControlPlaneOptions = {}): ControlPlane {
  return new ControlPlane(connect(), options);
}

const worker = { id: "w1", nthreads: 1, dataAddress: "http://127.0.0.1:9", pid: 1 };
const task = (key: string) => ({ key, priority: 1, payload: Buffer.from(`payload of ${key}`) });

describe("the cluster generation", () => {
  it("reaches workers with every heartbeat, empty until a scheduler begins one", async () => {
    const cp = plane({ prefix: freshPrefix() });
    expect((await cp.heartbeat(worker)).generation).toBe("");
    await cp.beginGeneration("g1");
    expect(await cp.heartbeat(worker)).toEqual({ state: "running", generation: "g1" });
    expect(await cp.generation()).toBe("g1");
  });

  it("empties the named workers' queues, their payloads and the events stream when a new scheduler begins one, and leaves taken tasks", async () => {
    const cp = plane({ prefix: freshPrefix() });
    await cp.enqueueTasks("w1", [task("a"), task("b")]);
    await cp.enqueueTasks("w2", [task("c")]);
    await cp.takeTasks("w1", 1);
    await cp.finishTasks("w1", [], Buffer.from("a report for the previous scheduler"));
    expect(await cp.beginGeneration("g2", { takeover: ["w1", "w2"] })).toBe(2);
    expect(await cp.redis.xlen(cp.keys.events)).toBe(0);
    expect(await cp.redis.zcard(cp.keys.workerQueue("w1"))).toBe(0);
    expect(await cp.redis.zcard(cp.keys.workerQueue("w2"))).toBe(0);
    expect(await cp.redis.hkeys(cp.keys.taskPayloads)).toEqual([]);
    expect(await cp.redis.hkeys(cp.keys.workerInFlight("w1"))).toEqual(["a"]);
  });

  it("keeps queues and reports when begun again after Redis lost its data", async () => {
    const cp = plane({ prefix: freshPrefix() });
    await cp.enqueueTasks("w1", [task("a")]);
    await cp.finishTasks("w1", [], Buffer.from("a report"));
    expect(await cp.beginGeneration("g3")).toBe(0);
    expect(await cp.redis.zcard(cp.keys.workerQueue("w1"))).toBe(1);
    expect(await cp.redis.xlen(cp.keys.events)).toBe(1);
  });

  it("is refused to a deposed scheduler, and after Redis lost the epoch with a distinct error", async () => {
    const prefix = freshPrefix();
    const deposed = plane({ prefix, schedulerEpoch: 1 });
    await expect(deposed.beginGeneration("g")).rejects.toThrow(RedisWipedError);
    await deposed.redis.set(deposed.keys.schedulerEpoch, "2");
    await expect(deposed.beginGeneration("g")).rejects.toThrow(SchedulerFencedError);
    await expect(deposed.enqueueTasks("w1", [task("a")])).rejects.toThrow(SchedulerFencedError);
    expect(await deposed.generation()).toBeUndefined();
  });
});

describe("a worker's account", () => {
  it("reaches the events stream with the tasks Redis holds for the worker, queued and taken", async () => {
    const cp = plane({ prefix: freshPrefix() });
    await cp.enqueueTasks("w1", [task("queued"), task("taken")]);
    await cp.takeTasks("w1", 1);
    const account = { generation: "g1", held: [{ key: "r", nbytes: 8, fingerprint: taskFingerprint("inc", [1]) }], running: ["running"] };
    expect(await cp.sendAccount("w1", encodeWorkerAccount(account))).toBe(2);
    const [entry] = (await cp.redis.xrangeBuffer(cp.keys.events, "-", "+")).map(([, fields]) => parseEventFields(fields));
    expect(entry.worker).toBe("w1");
    expect(decodeWorkerAccount(entry.account!)).toEqual(account);
    expect(new Set(entry.assigned)).toEqual(new Set(["queued", "taken"]));
  });

  it("names no task when Redis holds none for the worker", async () => {
    const cp = plane({ prefix: freshPrefix() });
    await cp.sendAccount("w1", encodeWorkerAccount({ generation: "g1", held: [], running: [] }));
    const [entry] = (await cp.redis.xrangeBuffer(cp.keys.events, "-", "+")).map(([, fields]) => parseEventFields(fields));
    expect(entry.assigned).toEqual([]);
  });
});

describe("task fingerprints", () => {
  it("are equal for the same function and arguments, and differ otherwise", () => {
    expect(taskFingerprint("inc", [1, { ref: "a" }])).toBe(taskFingerprint("inc", [1, { ref: "a" }]));
    expect(taskFingerprint("inc", [1])).not.toBe(taskFingerprint("inc", [2]));
    expect(taskFingerprint("inc", [1])).not.toBe(taskFingerprint("dec", [1]));
    expect(taskFingerprint("inc", [new Float64Array([1, 2])])).not.toBe(taskFingerprint("inc", [new Float64Array([1, 3])]));
  });
});

describe("cancelling tasks given to a worker", () => {
  it("removes those still queued, payloads included, and sends the cancel only for those taken", async () => {
    const cp = plane({ prefix: freshPrefix() });
    await cp.enqueueTasks("w1", [{ ...task("taken"), priority: 0 }, task("queued")]);
    await cp.takeTasks("w1", 1);
    expect(await cp.cancelTasks("w1", ["queued", "taken"], Buffer.from("cancel both"))).toEqual(["queued"]);
    expect(await cp.takeTasks("w1", 10)).toEqual([]);
    expect(await cp.redis.hexists(cp.keys.taskPayloads, "queued")).toBe(0);
    expect((await cp.takeWorkerMessages("w1", 10)).map(String)).toEqual(["cancel both"]);
  });

  it("sends nothing when every task was still queued", async () => {
    const cp = plane({ prefix: freshPrefix() });
    await cp.enqueueTasks("w1", [task("a")]);
    expect(await cp.cancelTasks("w1", ["a"], Buffer.from("cancel a"))).toEqual(["a"]);
    expect(await cp.takeWorkerMessages("w1", 10)).toEqual([]);
  });

  it("is refused to a deposed scheduler", async () => {
    const prefix = freshPrefix();
    const current = plane({ prefix });
    await current.redis.set(current.keys.schedulerEpoch, "2");
    await current.enqueueTasks("w1", [task("a")]);
    await expect(plane({ prefix, schedulerEpoch: 1 }).cancelTasks("w1", ["a"], Buffer.from("cancel"))).rejects.toThrow(SchedulerFencedError);
    expect(await current.redis.zcard(current.keys.workerQueue("w1"))).toBe(1);
  });
});
