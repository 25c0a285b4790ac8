import { describe, expect, it } from "vitest";
import { MAX_USER_PRIORITY, MIN_USER_PRIORITY, taskSpec, userPriorityProblem } from "../../graph/task-spec.js";

describe("task priority", () => {
  it("accepts integers from -1,000,000 to 1,000,000", () => {
    expect([MIN_USER_PRIORITY, MAX_USER_PRIORITY]).toEqual([-1_000_000, 1_000_000]);
    for (const priority of [-1_000_000, -1, 0, 7, 1_000_000]) expect(userPriorityProblem(priority)).toBeUndefined();
    expect(taskSpec("a", "f", [], { priority: 1_000_000 }).priority).toBe(1_000_000);
  });

  it("refuses a task whose priority is outside the range or not an integer, naming the task and the range", () => {
    for (const priority of [1_000_001, -1_000_001, 1e13, 2.5, Number.POSITIVE_INFINITY]) {
      expect(() => taskSpec("a", "f", [], { priority })).toThrow(
        new RangeError(`priority of task "a" must be an integer from -1000000 to 1000000, got ${priority}`),
      );
    }
  });
});
