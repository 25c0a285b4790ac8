import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Table } from "apache-arrow";
import { col, lit } from "../client/dataframe/expression.js";
import { fromRecords } from "../client/dataframe/from-arrow.js";
import { readCsv } from "../client/dataframe/read-csv.js";
import type { Workload, WorkloadDefinition } from "./workloads.js";

/** Products in the small table, and the categories they fall in. */
const PRODUCTS = 50;
const CATEGORIES = ["tea", "coffee", "cocoa", "jam", "honey", "bread", "cheese"];
/** Customers the orders are grouped by. */
const CUSTOMERS = 10_000;

/** The generated CSV and what the pipeline must compute from it. */
interface PipelineData {
  readonly dir: string;
  readonly path: string;
  /** Per customer: the revenue of its orders with a quantity above 0, and their count. */
  readonly revenue: Float64Array;
  readonly orders: Float64Array;
}

/** Row `i` of the orders file; the Dask comparison (`bench/dask-df-pipeline.py`) generates the same rows. */
function orderRow(i: number): { customer: number; product: number; quantity: number; discount: number } {
  return { customer: (i * 7919) % CUSTOMERS, product: (i * 31 + (i >> 3)) % PRODUCTS, quantity: (i * 13) % 11, discount: ((i * 17) % 100) / 100 };
}

function unitPrice(product: number): number {
  return 1 + ((product * 37) % 100) / 4;
}

/** Writes `rows` orders as CSV, keeping the per-customer sums the pipeline must reproduce. */
function writeOrders(rows: number): PipelineData {
  const dir = mkdtempSync(join(tmpdir(), "weft-df-pipeline-"));
  const path = join(dir, "orders.csv");
  const revenue = new Float64Array(CUSTOMERS);
  const orders = new Float64Array(CUSTOMERS);
  const fd = openSync(path, "w");
  try {
    let chunk = "order_id,customer,product,quantity,discount\n";
    for (let i = 0; i < rows; i++) {
      const { customer, product, quantity, discount } = orderRow(i);
      chunk += `${i},${customer},product-${product},${quantity},${discount}\n`;
      if (quantity > 0) {
        revenue[customer] += quantity * unitPrice(product) * (1 - discount);
        orders[customer]++;
      }
      if (chunk.length > 1 << 20) {
        writeSync(fd, chunk);
        chunk = "";
      }
    }
    writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
  return { dir, path, revenue, orders };
}

/**
 * The pipeline a newcomer writes first, from a CSV file of N orders (default 1,000,000, about 35 MB,
 * written to a temporary directory before timing and removed after): read it, drop the orders with a
 * quantity of 0, merge with a 50-row product table, compute each order's revenue, sum revenue and
 * count orders per customer (10,000 groups), and sort customers by revenue, largest first. Reading the
 * file is timed; every option is left at its default, as a newcomer leaves it.
 */
export const dfPipeline: WorkloadDefinition = {
  defaultTasks: 1_000_000,
  describe: "readCsv -> filter -> merge (50-row table) -> assign -> groupBy(10,000 keys).agg -> sortValues, over an N-row CSV file",
  prepare: async (_computer, rows) => writeOrders(rows),
  cleanup: (inputs) => rmSync((inputs as PipelineData).dir, { recursive: true, force: true }),
  build: (_rows: number, inputs?: unknown): Workload => {
    const data = inputs as PipelineData;
    const products = fromRecords(
      Array.from({ length: PRODUCTS }, (_, p) => ({ product: `product-${p}`, category: CATEGORIES[p % CATEGORIES.length], unit_price: unitPrice(p) })),
    );
    const output = readCsv(data.path)
      .filter(col("quantity").gt(0))
      .merge(products, { on: "product" })
      .assign({ revenue: col("quantity").mul(col("unit_price")).mul(lit(1).sub(col("discount"))) })
      .groupBy("customer")
      .agg({ revenue: "sum", order_id: "count" })
      .sortValues("revenue", { ascending: false });
    return { output, tasks: output.graph.size, check: (result) => checkPipeline(result as Table, data) };
  },
};

/** Compares every customer's revenue and order count, and the order, with the sums kept while writing. */
function checkPipeline(result: Table, data: PipelineData): void {
  const expectedGroups = data.orders.filter((n) => n > 0).length;
  if (result.numRows !== expectedGroups) throw new Error(`df-pipeline gave ${result.numRows} customers, expected ${expectedGroups}`);
  const customers = result.getChild("customer")!.toArray() as ArrayLike<number>;
  const revenue = result.getChild("revenue")!.toArray() as Float64Array;
  const counts = result.getChild("order_id")!.toArray() as ArrayLike<number | bigint>;
  for (let row = 0; row < result.numRows; row++) {
    const customer = Number(customers[row]);
    const expected = data.revenue[customer];
    if (Math.abs(revenue[row] - expected) > 1e-9 * Math.max(1, Math.abs(expected))) {
      throw new Error(`df-pipeline: customer ${customer} has revenue ${revenue[row]}, expected ${expected}`);
    }
    if (Number(counts[row]) !== data.orders[customer]) throw new Error(`df-pipeline: customer ${customer} has ${counts[row]} orders, expected ${data.orders[customer]}`);
    if (row > 0 && revenue[row] > revenue[row - 1]) throw new Error(`df-pipeline: row ${row} is not sorted by revenue, largest first`);
  }
}
