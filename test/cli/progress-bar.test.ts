import { describe, expect, it } from "vitest";
import { renderProgressBar } from "../../cli/progress-bar.js";

const counts = { total: 10, waiting: 3, queued: 0, processing: 2, finished: 5, erred: 0, released: 0 };

describe("renderProgressBar", () => {
  it("fills the bar in proportion to the tasks done and counts those running", () => {
    expect(renderProgressBar(counts, 10)).toBe("[#####·····] 5/10 tasks, 2 running");
  });

  it("counts erred tasks as done and names them", () => {
    expect(renderProgressBar({ ...counts, processing: 0, finished: 8, erred: 2 }, 10)).toBe("[##########] 8/10 tasks, 2 erred");
  });

  it("shows an empty graph as complete", () => {
    expect(renderProgressBar({ ...counts, total: 0, processing: 0, finished: 0 }, 4)).toBe("[####] 0/0 tasks");
  });
});
