import { describe, expect, it } from "vitest";
import { Client } from "../../client/client.js";
import { correlation, main } from "../../examples/array-correlation.js";

/** The correlation matrix of the same data, computed densely from the raw samples. */
async function denseCorrelation(samples: number, signals: number): Promise<Float64Array> {
  const client = await Client.local({ executor: "sync" });
  try {
    const [raw] = await client.compute(correlation({ samples, signals, rowsPerBlock: 300 }).data);
    const columns = Array.from({ length: signals }, (_, j) => Array.from({ length: samples }, (_, i) => raw.data[i * signals + j]));
    const standardized = columns.map((column) => {
      const mean = column.reduce((a, b) => a + b, 0) / samples;
      const std = Math.sqrt(column.reduce((a, b) => a + (b - mean) ** 2, 0) / samples);
      return column.map((v) => (v - mean) / std);
    });
    const out = new Float64Array(signals * signals);
    for (let i = 0; i < signals; i++) {
      for (let j = 0; j < signals; j++) out[i * signals + j] = standardized[i].reduce((a, v, k) => a + v * standardized[j][k], 0) / samples;
    }
    return out;
  } finally {
    await client.close();
  }
}

describe("examples/array-correlation", () => {
  it.each(["sync", "threads"] as const)("computes the correlation matrix of the dense data on the %s executor", async (executor) => {
    const { corr } = await main(executor, { samples: 2_000, signals: 6, rowsPerBlock: 300 });
    const expected = await denseCorrelation(2_000, 6);
    expect(corr.shape).toEqual([6, 6]);
    corr.data.forEach((value, i) => expect(Math.abs(value - expected[i])).toBeLessThan(1e-12));
  });

  it("finds neighbours correlated at 0.48 (0.75 / 1.5625) and the others near 0 at full size", async () => {
    const { corr, neighbour, largestOther } = await main("threads");
    expect(corr.shape).toEqual([40, 40]);
    expect(Math.abs(neighbour - 0.48)).toBeLessThan(0.01);
    expect(largestOther).toBeLessThan(0.02);
    for (let i = 0; i < 40; i++) expect(Math.abs(corr.data[i * 41] - 1)).toBeLessThan(1e-12);
  });
});
