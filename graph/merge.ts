/**
 * Merging graphs. Collections built from shared inputs (two arrays derived from one, a dataframe
 * joined with itself) carry the same tasks under the same keys; merging keeps one copy. The same key
 * with a different task is a bug in whoever made the keys, and computing either would silently give
 * the other's users a wrong result, so it is an error.
 */

import { GraphError } from "./graph-error.js";
import { Call, Ref, isPlainObject, type Graph, type Key, type ReadonlyGraph, type TaskSpec } from "./task-spec.js";

/**
 * Merges `graphs` into a new graph (the inputs are not changed). A key may appear in several graphs
 * only with identical specs: same `fn`, same `retries`, `priority` and `timeoutMs`, and deeply equal `args`.
 * Otherwise throws a {@link GraphError} with code `"conflicting-spec"` naming the key and showing
 * both specs briefly.
 *
 * Equality of arguments: primitives by `Object.is` (so `NaN` equals `NaN`, `0` differs from `-0`);
 * `Ref`s by key; `Call`s by function and arguments; arrays and plain objects element by element;
 * typed arrays, `DataView`s and `ArrayBuffer`s by type and bytes; `Date`s by time. Other objects
 * (tables, class instances) are equal only when they are the same object, since weft cannot know
 * what their equality means. The same spec object is accepted without looking inside, which is the
 * common case: collections share task objects rather than copies.
 *
 * Insertion order follows first appearance.
 *
 * @example
 * ```ts
 * const graph = mergeGraphs([xs.graph, ys.graph]);
 * // GraphError: key "x" has two different specs: inc(1) and inc(2)
 * ```
 */
export function mergeGraphs(graphs: Iterable<ReadonlyGraph>): Graph {
  const merged: Graph = new Map();
  for (const graph of graphs) {
    for (const [key, spec] of graph) {
      const existing = merged.get(key);
      if (existing === undefined) {
        merged.set(key, spec);
      } else if (existing !== spec && !sameSpec(existing, spec)) {
        throw conflict(key, existing, spec);
      }
    }
  }
  return merged;
}

/** True when two specs describe the same computation with the same options. */
export function sameSpec(a: TaskSpec, b: TaskSpec): boolean {
  return (
    a.fn === b.fn &&
    (a.retries ?? 0) === (b.retries ?? 0) &&
    (a.priority ?? 0) === (b.priority ?? 0) &&
    a.timeoutMs === b.timeoutMs &&
    deepEqual(a.args, b.args)
  );
}

/** Deep equality of argument values, with an explicit stack since fused `Call`s nest deeply. */
function deepEqual(left: unknown, right: unknown): boolean {
  const pending: unknown[] = [left, right];
  while (pending.length > 0) {
    const b = pending.pop();
    const a = pending.pop();
    if (Object.is(a, b)) continue;
    if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
    if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
    if (a instanceof Ref) {
      if (a.key !== (b as Ref).key) return false;
    } else if (a instanceof Call) {
      const c = b as Call;
      if (a.fn !== c.fn || !pushPairs(pending, a.args, c.args)) return false;
    } else if (Array.isArray(a)) {
      if (!pushPairs(pending, a, b as unknown[])) return false;
    } else if (isPlainObject(a)) {
      const o = b as Record<string, unknown>;
      const keys = Object.keys(a);
      if (keys.length !== Object.keys(o).length) return false;
      for (const k of keys) {
        if (!Object.hasOwn(o, k)) return false;
        pending.push(a[k], o[k]);
      }
    } else if (ArrayBuffer.isView(a)) {
      if (!sameBytes(a, b as ArrayBufferView)) return false;
    } else if (a instanceof ArrayBuffer) {
      if (!sameBytes(new Uint8Array(a), new Uint8Array(b as ArrayBuffer))) return false;
    } else if (a instanceof Date) {
      if (!Object.is(a.getTime(), (b as Date).getTime())) return false;
    } else {
      return false;
    }
  }
  return true;
}

function pushPairs(pending: unknown[], a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    // Settling equal primitives here keeps long numeric arrays off the stack.
    if (Object.is(x, y)) continue;
    if (typeof x !== "object" || typeof y !== "object") return false;
    pending.push(x, y);
  }
  return true;
}

/**
 * Byte comparison, so typed arrays holding NaN compare as their author meant: the same bytes are the
 * same value. Also covers DataViews and views with offsets into a larger buffer.
 */
function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function conflict(key: Key, a: TaskSpec, b: TaskSpec): GraphError {
  const left = renderSpec(a);
  const right = renderSpec(b);
  const shown = left === right ? `${left} and ${right} (they differ deeper than shown)` : `${left} and ${right}`;
  return new GraphError("conflicting-spec", `key "${key}" has two different specs: ${shown}`, [key]);
}

const MAX_RENDER = 80;
const MAX_DEPTH = 3;
const MAX_ITEMS = 4;

/** A short, one-line picture of a spec for error messages: `inc(1)`, `sum([Ref(a), …]) {retries: 2}`. */
export function renderSpec(spec: TaskSpec): string {
  let text = `${spec.fn}(${renderList(spec.args, 0)})`;
  const options: string[] = [];
  if ((spec.retries ?? 0) !== 0) options.push(`retries: ${spec.retries}`);
  if ((spec.priority ?? 0) !== 0) options.push(`priority: ${spec.priority}`);
  if (spec.timeoutMs !== undefined) options.push(`timeoutMs: ${spec.timeoutMs}`);
  if (options.length > 0) text += ` {${options.join(", ")}}`;
  return text.length > MAX_RENDER ? `${text.slice(0, MAX_RENDER - 1)}…` : text;
}

function renderList(items: readonly unknown[], depth: number): string {
  const shown = items.slice(0, MAX_ITEMS).map((item) => renderValue(item, depth + 1));
  if (items.length > MAX_ITEMS) shown.push(`… ${items.length - MAX_ITEMS} more`);
  return shown.join(", ");
}

// Recursion is bounded by MAX_DEPTH, so deep arguments cannot overflow here.
function renderValue(value: unknown, depth: number): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (value === null || typeof value !== "object") return String(value);
  if (value instanceof Ref) return `Ref(${value.key})`;
  if (depth > MAX_DEPTH) return "…";
  if (value instanceof Call) return `${value.fn}(${renderList(value.args, depth)})`;
  if (Array.isArray(value)) return `[${renderList(value, depth)}]`;
  if (ArrayBuffer.isView(value)) {
    const length = "length" in value ? (value as { length: number }).length : value.byteLength;
    return `${value.constructor.name}(${length})`;
  }
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    const shown = keys.slice(0, MAX_ITEMS).map((k) => `${k}: ${renderValue(value[k], depth + 1)}`);
    if (keys.length > MAX_ITEMS) shown.push("…");
    return `{${shown.join(", ")}}`;
  }
  return value.constructor?.name ?? "object";
}
