/**
 * Dataframes: a month of shop orders in daily CSV files, read by glob, cleaned, joined with a small
 * product table, aggregated per category and written to Parquet, all as one lazy task graph.
 *
 * Run it with `npm run build && node dist/examples/dataframe.js`.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Table } from "apache-arrow";
import { Client } from "../client/client.js";
import { col, fromRecords, readCsv, readParquet } from "../client/dataframe/index.js";

export const PRODUCTS = [
  { product: "tea", category: "drinks", price: 3.5 },
  { product: "coffee", category: "drinks", price: 4.25 },
  { product: "scone", category: "bakery", price: 2.75 },
  { product: "bagel", category: "bakery", price: 2.25 },
  { product: "jam", category: "pantry", price: 6 },
];

/** Order `i` of day `day`: deterministic, with a missing quantity now and then. */
export function order(day: number, i: number): { day: number; product: string; quantity: number | null } {
  const product = PRODUCTS[(day * 7 + i * 3) % PRODUCTS.length].product;
  return { day, product, quantity: (day + i) % 17 === 0 ? null : 1 + ((day * i) % 5) };
}

/** Writes one CSV file per day into `dir`. */
export function writeOrders(dir: string, days = 30, perDay = 200): void {
  for (let day = 1; day <= days; day++) {
    const lines = Array.from({ length: perDay }, (_, i) => {
      const o = order(day, i);
      return `${o.day},${o.product},${o.quantity ?? ""}`;
    });
    writeFileSync(join(dir, `orders-${String(day).padStart(2, "0")}.csv`), `day,product,quantity\n${lines.join("\n")}\n`);
  }
}

/** Revenue, order count and distinct products per category, largest revenue first; also read back from Parquet. */
export async function main(executor: "sync" | "threads" = "threads"): Promise<{ byCategory: Table; fromParquet: Table }> {
  const dir = mkdtempSync(join(tmpdir(), "weft-dataframe-example-"));
  const client = await Client.local({ executor });
  try {
    writeOrders(dir);
    const orders = readCsv(join(dir, "orders-*.csv")); // one partition per file (each is small)
    const products = fromRecords(PRODUCTS); // one partition: broadcast to every orders partition
    const byCategory = orders
      .filter(col("quantity").notNull())
      .merge(products, { on: "product" })
      .assign({ revenue: col("quantity").mul(col("price")) })
      .groupBy("category")
      .agg({ revenue: "sum", quantity: "count", product: "nunique" })
      .sortValues("revenue", { ascending: false });
    const [table, written] = await client.compute(byCategory, byCategory.toParquet(join(dir, "out", "categories-*.parquet")));
    const [fromParquet] = await client.compute(await readParquet(written));
    return { byCategory: table, fromParquet };
  } finally {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = performance.now();
  const { byCategory } = await main();
  for (const row of byCategory.toArray()) {
    const { category, revenue, quantity, product } = row.toJSON() as { category: string; revenue: number; quantity: number; product: number };
    console.log(`${category.padEnd(8)} revenue ${revenue.toFixed(2).padStart(9)}  orders ${String(quantity).padStart(5)}  products ${product}`);
  }
  console.log(`computed in ${(performance.now() - started).toFixed(0)} ms on the threads executor`);
}
