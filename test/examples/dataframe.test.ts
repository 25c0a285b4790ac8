import { describe, expect, it } from "vitest";
import { main, order, PRODUCTS } from "../../examples/dataframe.js";
import { rowsOf } from "../support/dataframe-reference.js";

/** The same figures, computed directly from the orders without weft. */
function expected() {
  const totals = new Map<string, { revenue: number; quantity: number; products: Set<string> }>();
  for (let day = 1; day <= 30; day++) {
    for (let i = 0; i < 200; i++) {
      const o = order(day, i);
      if (o.quantity === null) continue;
      const product = PRODUCTS.find((p) => p.product === o.product)!;
      const total = totals.get(product.category) ?? { revenue: 0, quantity: 0, products: new Set<string>() };
      total.revenue += o.quantity * product.price;
      total.quantity += 1;
      total.products.add(o.product);
      totals.set(product.category, total);
    }
  }
  return [...totals]
    .map(([category, t]) => ({ category, revenue: t.revenue, quantity: t.quantity, product: t.products.size }))
    .sort((a, b) => b.revenue - a.revenue);
}

describe("examples/dataframe", () => {
  it.each(["sync", "threads"] as const)("computes revenue per category and reads it back from Parquet on the %s executor", async (executor) => {
    const { byCategory, fromParquet } = await main(executor);
    const want = expected();
    const got = rowsOf(byCategory);
    expect(got.map((r) => r.category)).toEqual(want.map((r) => r.category));
    got.forEach((row, i) => {
      expect(row.revenue).toBeCloseTo(want[i].revenue, 9);
      expect(row.quantity).toBe(want[i].quantity);
      expect(row.product).toBe(want[i].product);
    });
    expect(rowsOf(fromParquet)).toEqual(got);
  });
});
