import type { Table } from "apache-arrow";
import { registerTask } from "../../protocol/task-registry.js";
import { concatColumns, lengthOf, readColumn, takeColumn, toTable, type Column, type ColumnKind } from "./column.js";
import { groupRows, hashRows, type Grouping } from "./hash-keys.js";
import { directPartial } from "./direct-aggregate.js";
import { sortIndices } from "./sort-kernel.js";

/**
 * The group-by kernels. A partition is reduced to a partial result per group (sums, counts, running
 * means and squared deviations, chosen rows, distinct pairs); partials combine associatively, in
 * partition order, so a tree of combines gives the same answer as one pass; the last step turns the
 * partial into the output table. Partials are plain objects of typed arrays, which cross threads and
 * processes without any conversion.
 */

/** The aggregations `groupBy().agg()` offers. */
export type AggName = "sum" | "mean" | "count" | "min" | "max" | "std" | "var" | "first" | "last" | "nunique";

export const AGG_NAMES: readonly AggName[] = ["sum", "mean", "count", "min", "max", "std", "var", "first", "last", "nunique"];

/** One aggregation, checked: which column, how, and the output column's name. */
export interface AggSpec {
  readonly column: string;
  readonly agg: AggName;
  readonly output: string;
  /** The input column's kind. */
  readonly kind: ColumnKind;
}

/** The partial state of one aggregation; which fields are set depends on the aggregation. */
export interface AggState {
  /** count, mean, var, std: valid values per group. */
  readonly count?: Float64Array;
  /** sum, mean: sum per group. */
  readonly sum?: Float64Array;
  /** var, std: mean per group (for Chan's parallel variance). */
  readonly mean?: Float64Array;
  /** var, std: sum of squared deviations from the mean per group. */
  readonly m2?: Float64Array;
  /** min, max, first, last: the chosen value per group (null where the group has none). */
  readonly value?: Column;
  /** nunique: distinct (group, value) pairs. */
  readonly pairGroup?: Int32Array;
  readonly pairValue?: Column;
}

/** A partial group-by result: one row per group of `keys`, one state per aggregation. */
export interface GroupPartial {
  readonly keys: readonly Column[];
  readonly states: readonly AggState[];
}

export const GROUP_PARTIAL = "weft.df.groupPartial";
export const GROUP_COMBINE = "weft.df.groupCombine";
export const GROUP_FINALIZE = "weft.df.groupFinalize";
export const GROUP_SPLIT = "weft.df.groupSplit";

/** Output kind of an aggregation over an input kind. */
export function outputKind(agg: AggName, kind: ColumnKind): ColumnKind {
  switch (agg) {
    case "count":
    case "nunique":
      return "int";
    case "sum":
    case "mean":
    case "std":
    case "var":
      return "float";
    default:
      return kind;
  }
}

/** Reduces a partition to its partial result. */
export function groupPartial(table: Table, keyNames: readonly string[], specs: readonly AggSpec[]): GroupPartial {
  const keyColumns = keyNames.map((name) => readColumn(table, name));
  const direct = keyColumns.length === 1 ? directPartial(keyColumns[0], table, specs) : undefined;
  if (direct !== undefined) return direct;
  const grouping = groupRows(keyColumns, true);
  const inputs = new Map<string, Column>();
  const states = specs.map((spec) => {
    let column = inputs.get(spec.column);
    if (column === undefined) inputs.set(spec.column, (column = readColumn(table, spec.column)));
    return reduceRaw(spec.agg, column, grouping);
  });
  return { keys: keyColumns.map((c) => takeColumn(c, grouping.firstRow)), states };
}

function reduceRaw(agg: AggName, column: Column, { groupOf, ngroups }: Grouping): AggState {
  const values = column.values;
  const valid = column.valid;
  const n = groupOf.length;
  switch (agg) {
    case "count":
    case "sum":
    case "mean": {
      const count = new Float64Array(ngroups);
      const sum = new Float64Array(ngroups);
      if (valid === null) {
        for (let i = 0; i < n; i++) {
          const g = groupOf[i];
          if (g < 0) continue;
          count[g]++;
          sum[g] += values[i];
        }
      } else {
        for (let i = 0; i < n; i++) {
          const g = groupOf[i];
          if (g < 0 || valid[i] === 0) continue;
          count[g]++;
          sum[g] += values[i];
        }
      }
      return agg === "count" ? { count } : agg === "sum" ? { sum } : { sum, count };
    }
    case "var":
    case "std": {
      const { sum, count } = reduceRaw("mean", column, { groupOf, ngroups, firstRow: new Int32Array(0) });
      const mean = new Float64Array(ngroups);
      for (let g = 0; g < ngroups; g++) mean[g] = count![g] > 0 ? sum![g] / count![g] : 0;
      const m2 = new Float64Array(ngroups);
      for (let i = 0; i < n; i++) {
        const g = groupOf[i];
        if (g < 0 || (valid !== null && valid[i] === 0)) continue;
        const d = values[i] - mean[g];
        m2[g] += d * d;
      }
      return { count, mean, m2 };
    }
    case "nunique":
      return distinctPairs(groupOf, column);
    default:
      return { value: takeColumn(column, pickRows(agg, column, groupOf, ngroups)) };
  }
}

/** Per group, the row holding its min, max, first or last valid value (-1 when it has none). */
function pickRows(agg: "min" | "max" | "first" | "last", column: Column, groupOf: Int32Array, ngroups: number): Int32Array {
  const picked = new Int32Array(ngroups).fill(-1);
  const valid = column.valid;
  const n = groupOf.length;
  let order: ArrayLike<number> = column.values;
  if (column.kind === "string" && (agg === "min" || agg === "max")) {
    const dictionary = column.dictionary!;
    const byText = Array.from(dictionary.keys()).sort((a, b) => (dictionary[a] < dictionary[b] ? -1 : dictionary[a] > dictionary[b] ? 1 : 0));
    const rank = new Int32Array(dictionary.length);
    byText.forEach((code, position) => (rank[code] = position));
    order = Int32Array.from(column.values as Int32Array, (code) => rank[code] ?? 0);
  }
  for (let i = 0; i < n; i++) {
    const g = groupOf[i];
    if (g < 0 || (valid !== null && valid[i] === 0)) continue;
    const best = picked[g];
    if (
      best === -1 ||
      agg === "last" ||
      (agg === "min" && order[i] < order[best]) ||
      (agg === "max" && order[i] > order[best])
    ) {
      picked[g] = i;
    }
  }
  return picked;
}

/** The distinct (group, value) pairs among rows, leaving out null values and rows in no group. */
function distinctPairs(groups: Int32Array, values: Column): AggState {
  const n = groups.length;
  const keep: number[] = [];
  for (let i = 0; i < n; i++) if (groups[i] >= 0 && (values.valid === null || values.valid[i] === 1)) keep.push(i);
  const rows = Int32Array.from(keep);
  const groupColumn: Column = { kind: "int", values: Int32Array.from(rows, (i) => groups[i]), valid: null };
  const valueColumn = takeColumn(values, rows);
  const { firstRow } = groupRows([groupColumn, valueColumn], false);
  return { pairGroup: Int32Array.from(firstRow, (i) => groupColumn.values[i]), pairValue: takeColumn(valueColumn, firstRow) };
}

/** Partials one after another (groups may repeat). */
function concatPartials(partials: readonly GroupPartial[], specs: readonly AggSpec[]): GroupPartial {
  if (partials.length === 1) return partials[0];
  const keys = partials[0].keys.map((first, k) => concatColumns(partials.map((p) => p.keys[k]), first.kind));
  const offsets: number[] = [];
  let total = 0;
  for (const p of partials) {
    offsets.push(total);
    total += p.keys.length === 0 ? 0 : lengthOf(p.keys[0]);
  }
  const states = specs.map((_spec, s) => {
    const parts = partials.map((p) => p.states[s]);
    const out: { -readonly [K in keyof AggState]: AggState[K] } = {};
    for (const field of ["count", "sum", "mean", "m2"] as const) {
      if (parts[0][field] === undefined) continue;
      const joined = new Float64Array(total);
      parts.forEach((part, i) => joined.set(part[field]!, offsets[i]));
      out[field] = joined;
    }
    if (parts[0].value !== undefined) out.value = concatColumns(parts.map((p) => p.value!), parts[0].value.kind);
    if (parts[0].pairGroup !== undefined) {
      const pairCount = parts.reduce((sum, p) => sum + p.pairGroup!.length, 0);
      const pairGroup = new Int32Array(pairCount);
      let at = 0;
      parts.forEach((part, i) => {
        for (const g of part.pairGroup!) pairGroup[at++] = g + offsets[i];
      });
      out.pairGroup = pairGroup;
      out.pairValue = concatColumns(parts.map((p) => p.pairValue!), parts[0].pairValue!.kind);
    }
    return out;
  });
  return { keys, states };
}

/** Combines partials (in partition order) into one with a row per distinct key. */
export function groupCombine(partials: readonly GroupPartial[], specs: readonly AggSpec[]): GroupPartial {
  const joined = concatPartials(partials, specs);
  const grouping = groupRows(joined.keys, false);
  const { groupOf, ngroups } = grouping;
  const states = specs.map((spec, s) => combineState(spec.agg, joined.states[s], groupOf, ngroups));
  return { keys: joined.keys.map((c) => takeColumn(c, grouping.firstRow)), states };
}

/** One aggregation's states merged by group: `groupOf[i]` is the new group of old row `i`. */
function combineState(agg: AggName, state: AggState, groupOf: Int32Array, ngroups: number): AggState {
  const out: { -readonly [K in keyof AggState]: AggState[K] } = {};
  if (agg === "var" || agg === "std") {
    const count = new Float64Array(ngroups);
    const mean = new Float64Array(ngroups);
    const m2 = new Float64Array(ngroups);
    for (let i = 0; i < groupOf.length; i++) {
      const target = groupOf[i];
      const nb = state.count![i];
      if (nb === 0) continue;
      const na = count[target];
      const n = na + nb;
      const delta = state.mean![i] - mean[target];
      mean[target] += (delta * nb) / n;
      m2[target] += state.m2![i] + (delta * delta * na * nb) / n;
      count[target] = n;
    }
    return { count, mean, m2 };
  }
  for (const field of ["count", "sum"] as const) {
    const from = state[field];
    if (from === undefined) continue;
    const to = new Float64Array(ngroups);
    for (let i = 0; i < groupOf.length; i++) to[groupOf[i]] += from[i];
    out[field] = to;
  }
  if (state.value !== undefined) {
    out.value = takeColumn(state.value, pickRows(agg as "min" | "max" | "first" | "last", state.value, groupOf, ngroups));
  }
  if (state.pairGroup !== undefined) {
    const regrouped = Int32Array.from(state.pairGroup, (old) => groupOf[old]);
    return distinctPairs(regrouped, state.pairValue!);
  }
  return out;
}

/** The output table of a partial: key columns, then one column per aggregation; rows sorted by key. */
export function groupFinalize(partial: GroupPartial, keyNames: readonly string[], specs: readonly AggSpec[]): Table {
  const ngroups = partial.keys.length === 0 ? 0 : lengthOf(partial.keys[0]);
  const outputs = specs.map((spec, s) => finalColumn(spec.agg, partial.states[s], ngroups));
  const order = sortIndices(partial.keys, partial.keys.map(() => true));
  return toTable(
    [...keyNames, ...specs.map((s) => s.output)],
    [...partial.keys, ...outputs].map((column) => takeColumn(column, order)),
  );
}

function finalColumn(agg: AggName, state: AggState, ngroups: number): Column {
  switch (agg) {
    case "count":
      return { kind: "int", values: Int32Array.from(state.count!), valid: null };
    case "sum":
      return { kind: "float", values: state.sum!, valid: null };
    case "mean":
    case "var":
    case "std": {
      const values = new Float64Array(ngroups);
      const valid = new Uint8Array(ngroups);
      for (let g = 0; g < ngroups; g++) {
        const n = state.count![g];
        if (agg === "mean") {
          if (n > 0) (values[g] = state.sum![g] / n), (valid[g] = 1);
        } else if (n > 1) {
          const variance = state.m2![g] / (n - 1);
          values[g] = agg === "var" ? variance : Math.sqrt(variance);
          valid[g] = 1;
        }
      }
      return { kind: "float", values, valid: valid.every((v) => v === 1) ? null : valid };
    }
    case "nunique": {
      const counts = new Int32Array(ngroups);
      for (const g of state.pairGroup!) counts[g]++;
      return { kind: "int", values: counts, valid: null };
    }
    default:
      return state.value!;
  }
}

/** Splits a partial into `parts` partials by a hash of the keys: output part `j` gets the keys hashing to `j`. */
export function groupSplit(partial: GroupPartial, specs: readonly AggSpec[], parts: number): GroupPartial[] {
  const ngroups = partial.keys.length === 0 ? 0 : lengthOf(partial.keys[0]);
  const hashes = hashRows(partial.keys, ngroups);
  const members: number[][] = Array.from({ length: parts }, () => []);
  const newIndex = new Int32Array(ngroups);
  for (let g = 0; g < ngroups; g++) {
    const part = (hashes[g] >>> 0) % parts;
    newIndex[g] = members[part].length;
    members[part].push(g);
  }
  return members.map((list, part) => {
    const rows = Int32Array.from(list);
    const states = specs.map((_spec, s) => {
      const state = partial.states[s];
      const out: { -readonly [K in keyof AggState]: AggState[K] } = {};
      for (const field of ["count", "sum", "mean", "m2"] as const) {
        const from = state[field];
        if (from !== undefined) out[field] = Float64Array.from(rows, (g) => from[g]);
      }
      if (state.value !== undefined) out.value = takeColumn(state.value, rows);
      if (state.pairGroup !== undefined) {
        const kept: number[] = [];
        state.pairGroup.forEach((g, j) => {
          if ((hashes[g] >>> 0) % parts === part) kept.push(j);
        });
        const keptRows = Int32Array.from(kept);
        out.pairGroup = Int32Array.from(keptRows, (j) => newIndex[state.pairGroup![j]]);
        out.pairValue = takeColumn(state.pairValue!, keptRows);
      }
      return out;
    });
    return { keys: partial.keys.map((c) => takeColumn(c, rows)), states };
  });
}

const here = import.meta.url;
registerTask(GROUP_PARTIAL, groupPartial, here);
registerTask(GROUP_COMBINE, groupCombine, here);
registerTask(GROUP_FINALIZE, groupFinalize, here);
registerTask(GROUP_SPLIT, groupSplit, here);
