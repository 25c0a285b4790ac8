import type { Table } from "apache-arrow";
import type { AggName, AggSpec, AggState, GroupPartial } from "./aggregate-kernel.js";
import { readColumn, type Column } from "./column.js";

/**
 * The group-by fast path: sums, counts and means by a single int key of narrow range, accumulated
 * straight into one slot per key value in a single pass over the rows (no hashing, no per-row group
 * numbers). It gives the same partial result as the general kernel, groups in key order.
 */

const ADDITIVE = new Set<AggName>(["sum", "count", "mean"]);

/**
 * The partial result of a partition grouped by `key`, or undefined when the fast path does not apply
 * (another key kind, another aggregation, keys spread wider than twice the rows).
 */
export function directPartial(key: Column, table: Table, specs: readonly AggSpec[]): GroupPartial | undefined {
  if (key.kind !== "int" || !specs.every((s) => ADDITIVE.has(s.agg))) return undefined;
  const keys = key.values as Int32Array;
  const n = keys.length;
  // Keys are usually small non-negative codes: try slots 0..1023, then 0..65535, which need no pass
  // to find the range (accumulating checks each key and gives up at the first one outside); only
  // keys outside both cost a pass for their min and max. Small slot arrays first keep the common
  // case from allocating (and collecting) megabytes per partition.
  for (const slots of SLOT_TIERS) {
    const attempt = accumulateColumns(key, table, specs, 0, slots);
    if (attempt !== undefined) return attempt;
  }
  let min = 0x7fffffff;
  let max = -0x80000000;
  for (let i = 0; i < n; i++) {
    if (key.valid !== null && key.valid[i] === 0) continue;
    const k = keys[i] | 0;
    if (k < min) min = k;
    if (k > max) max = k;
  }
  if (max < min) return undefined;
  const span = max - min + 1;
  if (span > Math.max(2 * n, SMALL_KEYS)) return undefined;
  return accumulateColumns(key, table, specs, min, span);
}

/** Sums and counts per slot `key - min` for every column of `specs`; undefined when a key falls outside the `span` slots. */
function accumulateColumns(key: Column, table: Table, specs: readonly AggSpec[], min: number, span: number): GroupPartial | undefined {
  const keys = key.values as Int32Array;
  const rowsPerSlot = new Float64Array(span);
  const columns = new Map<string, { counts: Float64Array; sums: Float64Array }>();
  for (const spec of specs) {
    if (columns.has(spec.column)) continue;
    const column = readColumn(table, spec.column);
    const counts = new Float64Array(span);
    const sums = new Float64Array(span);
    const inRange =
      column.values instanceof Float64Array
        ? accumulate(keys, key.valid, min, span, column.values, column.valid, counts, sums, rowsPerSlot)
        : accumulateAny(keys, key.valid, min, span, column.values, column.valid, counts, sums, rowsPerSlot);
    if (!inRange) return undefined;
    columns.set(spec.column, { counts, sums });
  }
  const present: number[] = [];
  for (let slot = 0; slot < span; slot++) if (rowsPerSlot[slot] > 0) present.push(slot);
  const ngroups = present.length;
  const pick = (from: Float64Array) => {
    const out = new Float64Array(ngroups);
    for (let g = 0; g < ngroups; g++) out[g] = from[present[g]];
    return out;
  };
  const states = specs.map((spec): AggState => {
    const { counts, sums } = columns.get(spec.column)!;
    return spec.agg === "count" ? { count: pick(counts) } : spec.agg === "sum" ? { sum: pick(sums) } : { sum: pick(sums), count: pick(counts) };
  });
  return { keys: [{ kind: "int", values: Int32Array.from(present, (slot) => slot + min), valid: null }], states };
}

const SMALL_KEYS = 1 << 16;
const SLOT_TIERS = [1 << 10, SMALL_KEYS];

/**
 * Adds each valid value into its key's slot; `rowsPerSlot` marks slots with a valid key (whether or
 * not the value is valid). False as soon as a key has no slot (`key - min` outside 0..span-1). Float values get this monomorphic copy (the hot case); others use
 * {@link accumulateAny}.
 */
function accumulate(
  keys: Int32Array,
  keyValid: Uint8Array | null,
  min: number,
  span: number,
  values: Float64Array,
  valid: Uint8Array | null,
  counts: Float64Array,
  sums: Float64Array,
  rowsPerSlot: Float64Array,
): boolean {
  const n = keys.length;
  if (keyValid === null && valid === null) {
    for (let i = 0; i < n; i++) {
      const slot = (keys[i] - min) | 0;
      if (slot >>> 0 >= span) return false;
      counts[slot]++;
      sums[slot] += values[i];
    }
    rowsPerSlot.set(counts);
    return true;
  }
  for (let i = 0; i < n; i++) {
    if (keyValid !== null && keyValid[i] === 0) continue;
    const slot = (keys[i] - min) | 0;
    if (slot >>> 0 >= span) return false;
    rowsPerSlot[slot] = 1;
    if (valid !== null && valid[i] === 0) continue;
    counts[slot]++;
    sums[slot] += values[i];
  }
  return true;
}

function accumulateAny(
  keys: Int32Array,
  keyValid: Uint8Array | null,
  min: number,
  span: number,
  values: ArrayLike<number>,
  valid: Uint8Array | null,
  counts: Float64Array,
  sums: Float64Array,
  rowsPerSlot: Float64Array,
): boolean {
  for (let i = 0; i < keys.length; i++) {
    if (keyValid !== null && keyValid[i] === 0) continue;
    const slot = (keys[i] - min) | 0;
    if (slot >>> 0 >= span) return false;
    rowsPerSlot[slot] = 1;
    if (valid !== null && valid[i] === 0) continue;
    counts[slot]++;
    sums[slot] += values[i];
  }
  return true;
}

