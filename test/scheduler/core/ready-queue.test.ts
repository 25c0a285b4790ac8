import { describe, expect, it } from "vitest";
import { DurationEstimates } from "../../../scheduler/core/duration-estimates.js";
import { ReadyQueue } from "../../../scheduler/core/ready-queue.js";
import { comparePriority, TaskState } from "../../../scheduler/core/task-state.js";
import { seededRandom } from "../../support/seeded-random.js";

const prefix = new DurationEstimates(1).prefix("t");
const task = (key: string, userRank: number, generation: number, order: number) =>
  new TaskState(key, prefix, userRank, generation, order, 0, undefined);

describe("ready queue", () => {
  it("pops by user priority, then submission, then graph order", () => {
    const queue = new ReadyQueue();
    const tasks = [task("late-graph", 0, 2, 0), task("urgent", -5, 9, 9), task("second", 0, 1, 1), task("first", 0, 1, 0)];
    for (const t of tasks) queue.push(t);
    const popped: string[] = [];
    for (let t = queue.pop(); t !== undefined; t = queue.pop()) popped.push(t.key);
    expect(popped).toEqual(["urgent", "first", "second", "late-graph"]);
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
