import { lengthOf, type Column } from "./column.js";

/**
 * Row orders: the indices that sort rows by several columns, each ascending or descending, nulls
 * last (pandas' default), ties kept in their original order (the sort is stable).
 */

/** Per column, numbers that order its rows as its values do: strings become their rank in the sorted dictionary. */
function orderKeys(column: Column): ArrayLike<number> {
  if (column.kind !== "string") return column.values;
  const dictionary = column.dictionary!;
  const byText = Array.from(dictionary.keys()).sort((a, b) => (dictionary[a] < dictionary[b] ? -1 : dictionary[a] > dictionary[b] ? 1 : 0));
  const rank = new Int32Array(dictionary.length);
  byText.forEach((code, position) => {
    rank[code] = position;
  });
  const codes = column.values as Int32Array;
  return Int32Array.from(codes, (code) => rank[code] ?? 0);
}

/** The row indices of `columns` in sorted order. */
export function sortIndices(columns: readonly Column[], ascending: readonly boolean[]): Int32Array {
  const n = columns.length === 0 ? 0 : lengthOf(columns[0]);
  const keys = columns.map(orderKeys);
  const valids = columns.map((c) => c.valid);
  const indices = new Int32Array(n);
  for (let i = 0; i < n; i++) indices[i] = i;
  if (columns.length === 1 && valids[0] === null) {
    const k = keys[0];
    const sign = ascending[0] ? 1 : -1;
    return indices.sort((a, b) => sign * (k[a] - k[b]) || a - b);
  }
  return indices.sort((a, b) => {
    for (let c = 0; c < keys.length; c++) {
      const valid = valids[c];
      if (valid !== null) {
        const va = valid[a];
        const vb = valid[b];
        if (va !== vb) return vb - va; // nulls last
        if (va === 0) continue;
      }
      const d = keys[c][a] - keys[c][b];
      if (d !== 0 && !Number.isNaN(d)) return ascending[c] ? d : -d;
    }
    return a - b;
  });
}
