import { describe, expect, it } from "vitest";
import { main } from "../../examples/quickstart.js";
import { loadDay, summarize } from "../../examples/quickstart-tasks.js";

/** The same numbers, computed directly without weft. */
function expected() {
  const all = Array.from({ length: 365 }, (_, day) => loadDay(day)).flat();
  return {
    count: all.length,
    min: Math.min(...all),
    max: Math.max(...all),
    mean: all.reduce((a, b) => a + b, 0) / all.length,
    day5max: summarize(loadDay(5)).max,
  };
}

describe("examples/quickstart", () => {
  it.each(["sync", "threads"] as const)("summarizes the year correctly on the %s executor", async (executor) => {
    const { year, day5max } = await main(executor);
    const want = expected();
    expect(year.count).toBe(want.count);
    expect(year.min).toBe(want.min);
    expect(year.max).toBe(want.max);
    expect(year.mean).toBeCloseTo(want.mean, 10);
    expect(day5max).toBe(want.day5max);
  });
});
