import type { Table } from "apache-arrow";
import { registerTask } from "../../protocol/task-registry.js";
import { concatColumns, readColumn, takeColumn, toTable, type Column } from "./column.js";
import { hashRows, keysEqual } from "./hash-keys.js";

/**
 * The hash join of two partitions: a hash table over the right side's keys, probed by each left
 * row. Null keys never match (as in SQL); unmatched rows are kept by left, right and outer joins
 * with nulls on the other side. Key columns appear once, coalesced from whichever side has the row.
 */

/** How rows without a match are kept. */
export type JoinHow = "inner" | "left" | "right" | "outer";

/** The checked form of a join: key columns and the output name of every other column. */
export interface JoinPlan {
  readonly on: readonly string[];
  readonly how: JoinHow;
  /** Left non-key columns: [input name, output name]. */
  readonly left: readonly (readonly [string, string])[];
  /** Right non-key columns: [input name, output name]. */
  readonly right: readonly (readonly [string, string])[];
}

export const JOIN = "weft.df.join";

function hasNull(columns: readonly Column[], i: number): boolean {
  for (const c of columns) if (c.valid !== null && c.valid[i] === 0) return true;
  return false;
}

/** The joined rows of `left` and `right` (as `plan` says). */
export function joinTables(left: Table, right: Table, plan: JoinPlan): Table {
  const leftKeys = plan.on.map((key) => readColumn(left, key));
  const rightKeys = plan.on.map((key) => readColumn(right, key));
  const nl = left.numRows;
  const nr = right.numRows;
  const rightHashes = hashRows(rightKeys, nr);
  let capacity = 16;
  while (capacity < nr * 2) capacity *= 2;
  const mask = capacity - 1;
  const head = new Int32Array(capacity).fill(-1);
  const next = new Int32Array(nr).fill(-1);
  // Chains are built back to front so that probing meets right rows in their order.
  for (let j = nr - 1; j >= 0; j--) {
    if (hasNull(rightKeys, j)) continue;
    const slot = rightHashes[j] & mask;
    next[j] = head[slot];
    head[slot] = j;
  }
  const leftHashes = hashRows(leftKeys, nl);
  const li: number[] = [];
  const ri: number[] = [];
  const matched = plan.how === "right" || plan.how === "outer" ? new Uint8Array(nr) : null;
  const keepLeft = plan.how === "left" || plan.how === "outer";
  for (let i = 0; i < nl; i++) {
    let found = false;
    if (!hasNull(leftKeys, i)) {
      for (let j = head[leftHashes[i] & mask]; j !== -1; j = next[j]) {
        if (rightHashes[j] !== leftHashes[i] || !keysEqual(leftKeys, i, rightKeys, j)) continue;
        li.push(i);
        ri.push(j);
        found = true;
        if (matched !== null) matched[j] = 1;
      }
    }
    if (!found && keepLeft) {
      li.push(i);
      ri.push(-1);
    }
  }
  if (matched !== null) {
    for (let j = 0; j < nr; j++) {
      if (matched[j] === 0) {
        li.push(-1);
        ri.push(j);
      }
    }
  }
  const leftRows = Int32Array.from(li);
  const rightRows = Int32Array.from(ri);
  // A key comes from the left row when there is one, else from the right: rows nl.. of the joined column.
  const keySource = Int32Array.from(li, (i, at) => (i >= 0 ? i : nl + rightRows[at]));
  const keys = leftKeys.map((column, k) => takeColumn(concatColumns([column, rightKeys[k]], column.kind), keySource));
  const names = [...plan.on, ...plan.left.map(([, out]) => out), ...plan.right.map(([, out]) => out)];
  const columns = [
    ...keys,
    ...plan.left.map(([name]) => takeColumn(readColumn(left, name), leftRows)),
    ...plan.right.map(([name]) => takeColumn(readColumn(right, name), rightRows)),
  ];
  return toTable(names, columns);
}

registerTask(JOIN, joinTables, import.meta.url);
