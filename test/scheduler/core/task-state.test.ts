import { describe, expect, it } from "vitest";
import { CoreState } from "../../../scheduler/core/core-state.js";
import { TaskPrefix } from "../../../scheduler/core/duration-estimates.js";
import { resolveSchedulerConfig } from "../../../scheduler/core/scheduler-config.js";
import { TaskState, WorkerState } from "../../../scheduler/core/task-state.js";
import { MAX_TRANSITION_DEPTH, transition } from "../../../scheduler/core/transitions.js";

const taskOf = (key: string, nbytes = 0): TaskState => {
  const task = new TaskState(key, new TaskPrefix(key), 0, 0, 0, 0, undefined);
  task.nbytes = nbytes;
  return task;
};

describe("scheduler core: a worker's books of the results it holds", () => {
  it("grow with each replica added: one more result, and its bytes", () => {
    const worker = new WorkerState("w", 1, 0);
    taskOf("a", 100).addReplica(worker);
    taskOf("b", 20).addReplica(worker);
    expect([worker.resultCount, worker.nbytes]).toEqual([2, 120]);
  });

  it("shrink with each replica removed, and not for a worker that held none", () => {
    const [holder, other] = [new WorkerState("w1", 1, 0), new WorkerState("w2", 1, 1)];
    const a = taskOf("a", 100);
    a.addReplica(holder);
    expect(a.removeReplica(other)).toBe(false);
    expect(a.removeReplica(holder)).toBe(true);
    expect([holder.resultCount, holder.nbytes, other.resultCount, other.nbytes]).toEqual([0, 0, 0, 0]);
    expect(a.whoHas).toEqual([]);
  });

  it("lose a result on every holder when all replicas go at once", () => {
    const workers = [new WorkerState("w1", 1, 0), new WorkerState("w2", 1, 1)];
    const a = taskOf("a", 64);
    const b = taskOf("b", 8);
    for (const worker of workers) a.addReplica(worker);
    b.addReplica(workers[0]);
    expect(a.removeAllReplicas()).toEqual(workers);
    expect(workers.map((w) => [w.resultCount, w.nbytes])).toEqual([
      [1, 8],
      [0, 0],
    ]);
  });
});

describe("scheduler core: nested transitions", () => {
  it(`stop past ${MAX_TRANSITION_DEPTH} deep with an error naming the task and the transition`, () => {
    const state = new CoreState(resolveSchedulerConfig(), undefined);
    const task = taskOf("looping");
    state.tasks.set(task.key, task);
    // As if a chain of transitions, each making the next, had reached the bound.
    state.transitionDepth = MAX_TRANSITION_DEPTH;
    expect(() => transition(state, task, "waiting")).toThrow(`transitions nested ${MAX_TRANSITION_DEPTH} deep at released->waiting for task "looping"`);
    expect(task.state).toBe("released");
    expect(state.transitionDepth).toBe(MAX_TRANSITION_DEPTH);
  });

  it("count their depth back to zero once done, also when one throws", () => {
    const state = new CoreState(resolveSchedulerConfig(), undefined);
    const task = taskOf("a");
    state.tasks.set(task.key, task);
    transition(state, task, "waiting");
    expect(state.transitionDepth).toBe(0);
    // waiting->processing without the worker to assign it to fails inside the table's entry.
    expect(() => transition(state, task, "processing")).toThrow(TypeError);
    expect(state.transitionDepth).toBe(0);
  });
});
