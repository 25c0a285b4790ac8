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
  const pairs = new RowPairs(nl);
  const matched = plan.how === "right" || plan.how === "outer" ? new Uint8Array(nr) : null;
  const keepLeft = plan.how === "left" || plan.how === "outer";
  if (leftKeys.length === 1 && leftKeys[0].kind === "string" && rightKeys[0].kind === "string") {
    matchByDictionary(leftKeys[0], rightKeys[0], nl, nr, pairs, matched, keepLeft);
  } else {
    matchByHash(leftKeys, rightKeys, nl, nr, pairs, matched, keepLeft);
  }
  if (matched !== null) {
    for (let j = 0; j < nr; j++) if (matched[j] === 0) pairs.push(-1, j);
  }
  const leftRows = pairs.left.subarray(0, pairs.length);
  const rightRows = pairs.right.subarray(0, pairs.length);
  // Every left row once, in order (an inner or left join that found at most one match per row): the
  // left columns are the output's as they are.
  const allLeft = pairs.length === nl && isIdentity(leftRows);
  const takeLeft = (column: Column) => (allLeft ? column : takeColumn(column, leftRows));
  // A key comes from the left row when there is one, else from the right: rows nl.. of the joined column.
  const keys =
    matched === null
      ? leftKeys.map(takeLeft)
      : leftKeys.map((column, k) => {
          const keySource = Int32Array.from(leftRows, (i, at) => (i >= 0 ? i : nl + rightRows[at]));
          return takeColumn(concatColumns([column, rightKeys[k]], column.kind), keySource);
        });
  const names = [...plan.on, ...plan.left.map(([, out]) => out), ...plan.right.map(([, out]) => out)];
  const columns = [
    ...keys,
    ...plan.left.map(([name]) => takeLeft(readColumn(left, name))),
    ...plan.right.map(([name]) => takeColumn(readColumn(right, name), rightRows)),
  ];
  return toTable(names, columns);
}

/** The row pairs a join makes, (left row, right row), -1 for a missing side; grown as needed. */
class RowPairs {
  left: Int32Array;
  right: Int32Array;
  length = 0;

  constructor(expected: number) {
    this.left = new Int32Array(Math.max(16, expected));
    this.right = new Int32Array(this.left.length);
  }

  push(i: number, j: number): void {
    if (this.length === this.left.length) {
      const left = new Int32Array(this.left.length * 2);
      left.set(this.left);
      const right = new Int32Array(left.length);
      right.set(this.right);
      this.left = left;
      this.right = right;
    }
    this.left[this.length] = i;
    this.right[this.length++] = j;
  }
}

/**
 * Matches rows on one string key without hashing rows: each distinct right text gets a number, each
 * left dictionary entry is mapped to it once, and a left row finds its right rows through its code.
 */
function matchByDictionary(
  leftKey: Column,
  rightKey: Column,
  nl: number,
  nr: number,
  pairs: RowPairs,
  matched: Uint8Array | null,
  keepLeft: boolean,
): void {
  const idOfText = new Map<string, number>();
  const rightIds = Int32Array.from(rightKey.dictionary!, (text) => {
    let id = idOfText.get(text);
    if (id === undefined) idOfText.set(text, (id = idOfText.size));
    return id;
  });
  const leftIds = Int32Array.from(leftKey.dictionary!, (text) => idOfText.get(text) ?? -1);
  // Per id, its right rows in order: chains built back to front.
  const head = new Int32Array(idOfText.size).fill(-1);
  const next = new Int32Array(nr).fill(-1);
  const rightCodes = rightKey.values as Int32Array;
  const rightValid = rightKey.valid;
  for (let j = nr - 1; j >= 0; j--) {
    if (rightValid !== null && rightValid[j] === 0) continue;
    const id = rightIds[rightCodes[j]];
    next[j] = head[id];
    head[id] = j;
  }
  const leftCodes = leftKey.values as Int32Array;
  const leftValid = leftKey.valid;
  for (let i = 0; i < nl; i++) {
    const id = leftValid !== null && leftValid[i] === 0 ? -1 : leftIds[leftCodes[i]];
    let j = id < 0 ? -1 : head[id];
    if (j === -1) {
      if (keepLeft) pairs.push(i, -1);
      continue;
    }
    for (; j !== -1; j = next[j]) {
      pairs.push(i, j);
      if (matched !== null) matched[j] = 1;
    }
  }
}

/** Matches rows on any keys: a hash table over the right side's keys, probed by each left row. */
function matchByHash(
  leftKeys: readonly Column[],
  rightKeys: readonly Column[],
  nl: number,
  nr: number,
  pairs: RowPairs,
  matched: Uint8Array | null,
  keepLeft: boolean,
): void {
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
  for (let i = 0; i < nl; i++) {
    let found = false;
    if (!hasNull(leftKeys, i)) {
      for (let j = head[leftHashes[i] & mask]; j !== -1; j = next[j]) {
        if (rightHashes[j] !== leftHashes[i] || !keysEqual(leftKeys, i, rightKeys, j)) continue;
        pairs.push(i, j);
        found = true;
        if (matched !== null) matched[j] = 1;
      }
    }
    if (!found && keepLeft) pairs.push(i, -1);
  }
}

function isIdentity(rows: Int32Array): boolean {
  for (let i = 0; i < rows.length; i++) if (rows[i] !== i) return false;
  return true;
}

registerTask(JOIN, joinTables, import.meta.url);
