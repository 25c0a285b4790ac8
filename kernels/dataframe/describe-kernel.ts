import type { Table } from "apache-arrow";
import { registerTask } from "../../protocol/task-registry.js";
import { readColumn, toTable, type Column } from "./column.js";

/**
 * The `describe` kernels: per column, a summary (count, mean, squared deviations, min, max and a
 * sorted sample) that combines exactly for the moments (Chan's parallel variance), and quartiles by
 * linear interpolation as pandas, exact up to {@link EXACT_VALUES} values per column and from a
 * weighted sample of evenly spaced order statistics beyond that.
 */

/** Values kept per column before quartiles turn approximate. */
export const EXACT_VALUES = 10_000;

interface ColumnSummary {
  count: number;
  mean: number;
  m2: number;
  min: number;
  max: number;
  /** Sample values, sorted, and the rows each stands for. */
  sample: Float64Array;
  weight: Float64Array;
}

export const DESCRIBE_PARTIAL = "weft.df.describePartial";
export const DESCRIBE_COMBINE = "weft.df.describeCombine";
export const DESCRIBE_FINAL = "weft.df.describeFinal";
const STATS = ["count", "mean", "std", "min", "25%", "50%", "75%", "max"];

function summarize(column: Column): ColumnSummary {
  const values: number[] = [];
  const { valid } = column;
  for (let i = 0; i < column.values.length; i++) if (valid === null || valid[i] === 1) values.push(column.values[i]);
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const count = sorted.length;
  const mean = count > 0 ? sum / count : 0;
  let m2 = 0;
  for (const v of sorted) m2 += (v - mean) * (v - mean);
  return thin({ count, mean, m2, min: count > 0 ? sorted[0] : Infinity, max: count > 0 ? sorted[count - 1] : -Infinity, sample: sorted, weight: new Float64Array(count).fill(1) });
}

/** Keeps at most EXACT_VALUES sample points: evenly spaced order statistics, each standing for its share. */
function thin(summary: ColumnSummary): ColumnSummary {
  const n = summary.sample.length;
  if (n <= EXACT_VALUES) return summary;
  const total = summary.weight.reduce((a, b) => a + b, 0);
  const cumulative = new Float64Array(n);
  let running = 0;
  for (let i = 0; i < n; i++) cumulative[i] = running += summary.weight[i];
  const sample = new Float64Array(EXACT_VALUES);
  let at = 0;
  for (let s = 0; s < EXACT_VALUES; s++) {
    const target = ((s + 0.5) * total) / EXACT_VALUES;
    while (at < n - 1 && cumulative[at] < target) at++;
    sample[s] = summary.sample[at];
  }
  return { ...summary, sample, weight: new Float64Array(EXACT_VALUES).fill(total / EXACT_VALUES) };
}

function combine(a: ColumnSummary, b: ColumnSummary): ColumnSummary {
  const count = a.count + b.count;
  const delta = b.mean - a.mean;
  const mean = count > 0 ? a.mean + (delta * b.count) / count : 0;
  const m2 = a.m2 + b.m2 + (count > 0 ? (delta * delta * a.count * b.count) / count : 0);
  const order = Array.from({ length: a.sample.length + b.sample.length }, (_, i) => i);
  const valueAt = (i: number) => (i < a.sample.length ? a.sample[i] : b.sample[i - a.sample.length]);
  const weightAt = (i: number) => (i < a.weight.length ? a.weight[i] : b.weight[i - a.weight.length]);
  order.sort((x, y) => valueAt(x) - valueAt(y));
  return thin({
    count,
    mean,
    m2,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
    sample: Float64Array.from(order, valueAt),
    weight: Float64Array.from(order, weightAt),
  });
}

function quantile(summary: ColumnSummary, q: number): number | null {
  const n = summary.sample.length;
  if (n === 0) return null;
  if (summary.weight.every((w) => w === 1)) {
    const position = q * (n - 1);
    const lo = Math.floor(position);
    const hi = Math.ceil(position);
    return summary.sample[lo] + (summary.sample[hi] - summary.sample[lo]) * (position - lo);
  }
  const total = summary.weight.reduce((x, y) => x + y, 0);
  let running = 0;
  for (let i = 0; i < n; i++) {
    running += summary.weight[i];
    if (running >= q * total) return summary.sample[i];
  }
  return summary.sample[n - 1];
}

registerTask(DESCRIBE_PARTIAL, (table: Table, columns: readonly string[]) => columns.map((name) => summarize(readColumn(table, name))), import.meta.url);
registerTask(
  DESCRIBE_COMBINE,
  (parts: readonly ColumnSummary[][]) => parts.reduce((acc, part) => acc.map((summary, c) => combine(summary, part[c]))),
  import.meta.url,
);
registerTask(
  DESCRIBE_FINAL,
  (summaries: readonly ColumnSummary[], columns: readonly string[]): Table => {
    const stat: Column = { kind: "string", values: Int32Array.from(STATS.keys()), dictionary: STATS, valid: null };
    const outputs = summaries.map((s): Column => {
      const figures = [
        s.count,
        s.count > 0 ? s.mean : null,
        s.count > 1 ? Math.sqrt(s.m2 / (s.count - 1)) : null,
        s.count > 0 ? s.min : null,
        quantile(s, 0.25),
        quantile(s, 0.5),
        quantile(s, 0.75),
        s.count > 0 ? s.max : null,
      ];
      const valid = Uint8Array.from(figures, (f) => (f === null ? 0 : 1));
      return { kind: "float", values: Float64Array.from(figures, (f) => f ?? 0), valid: valid.every((v) => v === 1) ? null : valid };
    });
    return toTable(["stat", ...columns], [stat, ...outputs]);
  },
  import.meta.url,
);

