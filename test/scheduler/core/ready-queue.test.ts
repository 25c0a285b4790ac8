import { describe, expect, it } from "vitest";
import { DurationEstimates } from "../../../scheduler/core/duration-estimates.js";
import { ReadyQueue } from "../../../scheduler/core/ready-queue.js";
import { comparePriority, TaskState } from "../../../scheduler/core/task-state.js";
import { seededRandom } from "../../support/seeded-random.js";

const prefix = new DurationEstimates(1).prefix("t");
/** A task with negated user priority `userRank`, of submission `generation`, at queue sequence `seq` (its graph order too). */
const task = (key: string, userRank: number, generation: number, seq: number) => {
  const t = new TaskState(key, prefix, userRank, generation, seq, 0, undefined);
  t.queueSeq = seq;
  return t;
};

describe("ready queue", () => {
  it("pops by user priority, then queue sequence, then submission", () => {
    const queue = new ReadyQueue();
    const tasks = [
      task("late-graph-second", 0, 2, 1),
      task("urgent", -5, 9, 9),
      task("early-graph-second", 0, 1, 1),
      task("late-graph-first", 0, 2, 0),
      task("early-graph-first", 0, 1, 0),
    ];
    for (const t of tasks) queue.push(t);
    const popped: string[] = [];
    for (let t = queue.pop(); t !== undefined; t = queue.pop()) popped.push(t.key);
    expect(popped).toEqual(["urgent", "early-graph-first", "late-graph-first", "early-graph-second", "late-graph-second"]);
  });

  it("sorts a task pushed after a renumbering among the renumbered ones", () => {
    const queue = new ReadyQueue();
    const old = [task("a", 0, 1, 1000), task("b", 0, 1, 1001), task("c", 0, 1, 1002)];
    for (const t of old) queue.push(t);
    // A renumbering moves the sequences down, keeping their order; the queue reads them again.
    old.forEach((t, i) => (t.queueSeq = i));
    queue.resequence();
    expect(queue.staleEntry()).toBeUndefined();
    queue.push(task("new", 0, 2, 1));
    const popped: string[] = [];
    for (let t = queue.pop(); t !== undefined; t = queue.pop()) popped.push(t.key);
    expect(popped).toEqual(["a", "b", "new", "c"]);
  });

  it("removes a task from the middle and keeps the rest in order", () => {
    const queue = new ReadyQueue();
    const tasks = Array.from({ length: 10 }, (_, i) => task(`t${i}`, 0, 0, i));
    for (const t of tasks) queue.push(t);
    queue.remove(tasks[4]);
    expect(queue.has(tasks[4])).toBe(false);
    expect(tasks[4].heapIndex).toBe(-1);
    const popped: string[] = [];
    for (let t = queue.pop(); t !== undefined; t = queue.pop()) popped.push(t.key);
    expect(popped).toEqual(["t0", "t1", "t2", "t3", "t5", "t6", "t7", "t8", "t9"]);
  });

  it("agrees with sorting under random pushes, pops and removals, past its initial capacity", () => {
    const random = seededRandom(7);
    const queue = new ReadyQueue();
    const live = new Set<TaskState>();
    for (let step = 0; step < 5000; step++) {
      const roll = random();
      if (roll < 0.6 || live.size === 0) {
        const t = task(`t${step}`, -Math.floor(random() * 3), Math.floor(random() * 4), Math.floor(random() * 1000));
        queue.push(t);
        live.add(t);
      } else if (roll < 0.8) {
        const expected = [...live].sort(comparePriority)[0];
        const popped = queue.pop()!;
        expect(comparePriority(popped, expected)).toBe(0);
        live.delete(popped);
      } else {
        const victim = [...live][Math.floor(random() * live.size)];
        queue.remove(victim);
        live.delete(victim);
      }
      expect(queue.size).toBe(live.size);
    }
  });
});
