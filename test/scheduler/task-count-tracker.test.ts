import { describe, expect, it } from "vitest";
import type { TaskStateName } from "../../scheduler/core/task-state.js";
import { TaskCountTracker } from "../../scheduler/task-count-tracker.js";
import type { TaskCounts } from "../../protocol/job-api.js";

/** A pretend core: task states by key, and how often the tracker asked for one. */
function pretendCore() {
  const states = new Map<string, TaskStateName>();
  let reads = 0;
  const tracker = new TaskCountTracker((key) => {
    reads++;
    return states.get(key);
  });
  const move = (key: string, to: TaskStateName) => {
    const from = states.get(key) ?? "released";
    if (to === "forgotten") states.delete(key);
    else states.set(key, to);
    tracker.transitioned(key, from, to);
  };
  return { states, tracker, move, reads: () => reads };
}

/** The counts by a full recount, as they were computed before: reported ends first, then the core's states. */
function recount(keys: readonly string[], states: ReadonlyMap<string, TaskStateName>, finished: ReadonlySet<string>, erred: ReadonlySet<string>): TaskCounts {
  const counts = { total: keys.length, waiting: 0, queued: 0, processing: 0, finished: 0, erred: 0, released: 0 };
  for (const key of keys) {
    const state = states.get(key);
    if (finished.has(key) || state === "memory") counts.finished++;
    else if (erred.has(key) || state === "erred") counts.erred++;
    else if (state === "waiting" || state === "queued" || state === "processing") counts[state]++;
    else counts.released++;
  }
  return counts;
}

describe("TaskCountTracker", () => {
  it("keeps a computation's counts equal to a full recount through every state change and report, reading each state once", () => {
    const core = pretendCore();
    const keys = Array.from({ length: 300 }, (_, i) => `t-${i}`);
    for (const key of keys.slice(0, 100)) core.move(key, "waiting");
    const tally = core.tracker.follow();
    tally.setKeys(keys);
    expect(core.reads()).toBe(keys.length);
    const finished = new Set<string>();
    const erred = new Set<string>();
    const check = () => expect(tally.counts()).toEqual(recount(keys, core.states, finished, erred));
    check();
    // Every task goes waiting -> queued -> processing; most finish (reported, then held, then released
    // once their dependents ran, then forgotten), every tenth errs.
    for (const [i, key] of keys.entries()) {
      core.move(key, "waiting");
      check();
      core.move(key, "queued");
      core.move(key, "processing");
      check();
      if (i % 10 === 0) {
        erred.add(key);
        core.tracker.reported(key, "erred");
        check();
        core.move(key, "erred");
      } else {
        finished.add(key);
        core.tracker.reported(key, "finished");
        check();
        core.move(key, "memory");
        core.move(key, "released");
        check();
        core.move(key, "forgotten");
      }
      check();
    }
    expect(tally.counts()).toMatchObject({ total: 300, finished: 270, erred: 30, waiting: 0, processing: 0 });
    // Reading the counts, however often, never visits the tasks.
    for (let i = 0; i < 1000; i++) tally.counts();
    expect(core.reads()).toBe(keys.length);
  });

  it("counts a task two computations share in both, and forgets a computation's keys once it stops", () => {
    const core = pretendCore();
    const first = core.tracker.follow();
    first.setKeys(["a", "shared"]);
    const second = core.tracker.follow();
    second.setKeys(["shared", "b"]);
    core.move("shared", "processing");
    expect(first.counts()).toMatchObject({ total: 2, processing: 1, released: 1 });
    expect(second.counts()).toMatchObject({ total: 2, processing: 1, released: 1 });
    first.stop();
    core.tracker.reported("shared", "finished");
    expect(first.counts()).toMatchObject({ processing: 1, finished: 0 });
    expect(second.counts()).toMatchObject({ processing: 0, finished: 1 });
    second.stop();
    expect(core.tracker.following).toBe(false);
  });

  it("counts reports that came while the computation was being submitted, before its keys were known", () => {
    const core = pretendCore();
    const tally = core.tracker.follow();
    expect(core.tracker.following).toBe(true);
    // The sync executor ran "a" during submission; its result was released before the keys came.
    core.tracker.reported("a", "finished");
    core.tracker.reported("elsewhere", "erred");
    tally.setKeys(["a", "b"]);
    expect(tally.counts()).toEqual({ total: 2, waiting: 0, queued: 0, processing: 0, finished: 1, erred: 0, released: 1 });
  });

  it("keeps a reported end when the task runs again (its result lost with a worker): the computation saw it end", () => {
    const core = pretendCore();
    const tally = core.tracker.follow();
    tally.setKeys(["x"]);
    core.move("x", "processing");
    core.tracker.reported("x", "finished");
    core.move("x", "memory");
    core.move("x", "released");
    core.move("x", "waiting");
    core.move("x", "processing");
    expect(tally.counts()).toMatchObject({ finished: 1, processing: 0, waiting: 0 });
  });
});
