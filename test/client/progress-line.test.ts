import { describe, expect, it } from "vitest";
import { formatDuration, renderProgressLine } from "../../client/progress-line.js";

const counts = { total: 10, waiting: 3, queued: 0, processing: 2, finished: 5, erred: 0, released: 0 };

describe("renderProgressLine", () => {
  it("fills the bar in proportion to the tasks finished and counts those running", () => {
    expect(renderProgressLine(counts, { width: 10 })).toBe("[#####·····]  50% 5/10 tasks, 2 running");
  });

  it("says 0 running when none runs", () => {
    expect(renderProgressLine({ ...counts, processing: 0 }, { width: 10 })).toBe("[#####·····]  50% 5/10 tasks, 0 running");
  });

  it("shows the elapsed time and the estimate of the time left while the computation runs", () => {
    expect(renderProgressLine(counts, { width: 10, elapsedMs: 1200, etaMs: 1250 })).toBe("[#####·····]  50% 5/10 tasks, 2 running | 1.2 s elapsed, ETA 1.3 s");
  });

  it("says a computation completed, with its time", () => {
    const done = { ...counts, waiting: 0, processing: 0, finished: 10 };
    expect(renderProgressLine(done, { width: 10, elapsedMs: 2500, etaMs: 0, state: "completed" })).toBe("[##########] 100% 10/10 tasks, 0 running | 2.5 s, completed");
  });

  it("shows erred tasks apart, and a failed computation's bar never full, with its failure's first line", () => {
    const failed = { ...counts, waiting: 0, processing: 0, finished: 9, erred: 1 };
    const line = renderProgressLine(failed, { width: 10, elapsedMs: 800, state: "failed", error: { message: 'task "x" failed: TypeError: boom\n  at somewhere' } });
    expect(line).toBe('[#########X]  90% 9/10 tasks, 0 running, 1 erred | 0.8 s, FAILED: task "x" failed: TypeError: boom');
  });

  it("rounds the percentage down, so 100% means every task finished", () => {
    expect(renderProgressLine({ ...counts, total: 1000, finished: 999, processing: 1 }, { width: 10 })).toMatch(/^\[#{9}·\]  99% /);
  });

  it("shows an empty graph as complete", () => {
    expect(renderProgressLine({ ...counts, total: 0, waiting: 0, processing: 0, finished: 0 }, { width: 4 })).toBe("[####] 100% 0/0 tasks, 0 running");
  });
});

describe("formatDuration", () => {
  it.each([
    [400, "0.4 s"],
    [12_340, "12.3 s"],
    [59_990, "1m00s"],
    [125_000, "2m05s"],
    [3_720_000, "1h02m"],
  ])("writes %i ms as %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
