import { lengthOf, type Column } from "./column.js";

/**
 * Hashing and grouping of key rows, shared by group-by, joins, shuffles and distinct counts. Hashes
 * depend on values only (a string hashes by its text, not its dictionary code), so the same key
 * hashes alike in every partition, thread and process: what hash partitioning needs.
 */

const NULL_HASH = 0x2c1b3c6d;
const float = new Float64Array(1);
const floatWords = new Int32Array(float.buffer);

function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** A hash of a string's UTF-16 code units (FNV-1a, mixed). */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return mix(h);
}

function hashNumber(value: number): number {
  if (value === (value | 0)) return mix(value);
  float[0] = value === 0 ? 0 : value; // -0 and 0 are one key
  return mix(floatWords[0] ^ mix(floatWords[1]));
}

/** Per row, a hash of the values of `columns` (nulls hash alike). */
export function hashRows(columns: readonly Column[], n: number): Int32Array {
  const hashes = new Int32Array(n);
  for (const column of columns) {
    const valid = column.valid;
    let perValue: ArrayLike<number>;
    if (column.kind === "string") {
      perValue = Int32Array.from(column.dictionary!, hashString);
      const codes = column.values as Int32Array;
      for (let i = 0; i < n; i++) {
        const h = valid !== null && valid[i] === 0 ? NULL_HASH : perValue[codes[i]];
        hashes[i] = mix(Math.imul(hashes[i], 31) + h);
      }
    } else {
      const values = column.values;
      for (let i = 0; i < n; i++) {
        const h = valid !== null && valid[i] === 0 ? NULL_HASH : hashNumber(values[i]);
        hashes[i] = mix(Math.imul(hashes[i], 31) + h);
      }
    }
  }
  return hashes;
}

/** True when row `i` of `a` and row `j` of `b` hold equal keys (null equals null). Columns pair up by position. */
export function keysEqual(a: readonly Column[], i: number, b: readonly Column[], j: number): boolean {
  for (let c = 0; c < a.length; c++) {
    const x = a[c];
    const y = b[c];
    const xNull = x.valid !== null && x.valid[i] === 0;
    const yNull = y.valid !== null && y.valid[j] === 0;
    if (xNull || yNull) {
      if (xNull !== yNull) return false;
      continue;
    }
    if (x.kind === "string") {
      const xc = x.values[i];
      const yc = y.values[j];
      if (x.dictionary === y.dictionary ? xc !== yc : x.dictionary![xc] !== y.dictionary![yc]) return false;
    } else if (x.values[i] !== y.values[j] && !(Number.isNaN(x.values[i]) && Number.isNaN(y.values[j]))) {
      return false;
    }
  }
  return true;
}

/** Rows grouped by key: the group of each row (-1 for a row left out) and the first row of each group. */
export interface Grouping {
  readonly groupOf: Int32Array;
  readonly ngroups: number;
  /** Per group, the first row holding its key. */
  readonly firstRow: Int32Array;
}

/** True when some key column of row `i` is null. */
function hasNullKey(columns: readonly Column[], i: number): boolean {
  for (const column of columns) if (column.valid !== null && column.valid[i] === 0) return true;
  return false;
}

/**
 * Numbers the distinct keys of `columns` in order of first appearance. Rows with a null key get -1
 * when `dropNullKeys` (as pandas' default `dropna=True`).
 */
export function groupRows(columns: readonly Column[], dropNullKeys: boolean): Grouping {
  const n = columns.length === 0 ? 0 : lengthOf(columns[0]);
  if (columns.length === 1 && columns[0].kind === "int") {
    const direct = groupSmallInts(columns[0], n, dropNullKeys);
    if (direct !== undefined) return direct;
  }
  if (columns.length === 1 && columns[0].kind === "string") return groupStrings(columns[0], n, dropNullKeys);
  const hashes = hashRows(columns, n);
  let capacity = 16;
  while (capacity < n * 2) capacity *= 2;
  const mask = capacity - 1;
  const slots = new Int32Array(capacity).fill(-1); // group numbers
  const groupOf = new Int32Array(n);
  const firstRows: number[] = [];
  for (let i = 0; i < n; i++) {
    if (dropNullKeys && hasNullKey(columns, i)) {
      groupOf[i] = -1;
      continue;
    }
    let slot = hashes[i] & mask;
    for (;;) {
      const group = slots[slot];
      if (group === -1) {
        slots[slot] = firstRows.length;
        groupOf[i] = firstRows.length;
        firstRows.push(i);
        break;
      }
      const first = firstRows[group];
      if (hashes[first] === hashes[i] && keysEqual(columns, first, columns, i)) {
        groupOf[i] = group;
        break;
      }
      slot = (slot + 1) & mask;
    }
  }
  return { groupOf, ngroups: firstRows.length, firstRow: Int32Array.from(firstRows) };
}

/** Integer keys in a range not much wider than the row count: a lookup table instead of hashing. */
function groupSmallInts(column: Column, n: number, dropNullKeys: boolean): Grouping | undefined {
  const values = column.values as Int32Array;
  const valid = column.valid;
  if (n === 0) return { groupOf: new Int32Array(0), ngroups: 0, firstRow: new Int32Array(0) };
  if (valid !== null && !dropNullKeys) return undefined;
  // Integer arithmetic throughout (no Infinity sentinels), so V8 keeps these loops on small ints.
  let min = 0x7fffffff;
  let max = -0x80000000;
  for (let i = 0; i < n; i++) {
    if (valid !== null && valid[i] === 0) continue;
    const v = values[i] | 0;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (max < min) return { groupOf: new Int32Array(n).fill(-1), ngroups: 0, firstRow: new Int32Array(0) };
  const span = max - min + 1;
  if (span > Math.max(4 * n, 1 << 16)) return undefined;
  const slots = new Int32Array(span).fill(-1);
  const groupOf = new Int32Array(n);
  const firstRow = new Int32Array(Math.min(span, n));
  let ngroups = 0;
  for (let i = 0; i < n; i++) {
    if (valid !== null && valid[i] === 0) {
      groupOf[i] = -1;
      continue;
    }
    const at = (values[i] - min) | 0;
    let group = slots[at];
    if (group === -1) {
      group = slots[at] = ngroups;
      firstRow[ngroups++] = i;
    }
    groupOf[i] = group;
  }
  return { groupOf, ngroups, firstRow: firstRow.slice(0, ngroups) };
}

/** A string key: its dictionary codes number the groups (entries repeated in the dictionary are merged first). */
function groupStrings(column: Column, n: number, dropNullKeys: boolean): Grouping {
  const dictionary = column.dictionary!;
  const canonical = new Int32Array(dictionary.length);
  const firstCode = new Map<string, number>();
  dictionary.forEach((text, code) => {
    const seen = firstCode.get(text);
    if (seen === undefined) firstCode.set(text, code);
    canonical[code] = seen ?? code;
  });
  const codes = column.values as Int32Array;
  const valid = column.valid;
  // Slot `dictionary.length` stands for null, when nulls form a group.
  const slots = new Int32Array(dictionary.length + 1).fill(-1);
  const groupOf = new Int32Array(n);
  const firstRows: number[] = [];
  for (let i = 0; i < n; i++) {
    const isNull = valid !== null && valid[i] === 0;
    if (isNull && dropNullKeys) {
      groupOf[i] = -1;
      continue;
    }
    const slot = isNull ? dictionary.length : canonical[codes[i]];
    let group = slots[slot];
    if (group === -1) {
      group = slots[slot] = firstRows.length;
      firstRows.push(i);
    }
    groupOf[i] = group;
  }
  return { groupOf, ngroups: firstRows.length, firstRow: Int32Array.from(firstRows) };
}
