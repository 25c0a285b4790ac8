import { Table } from "apache-arrow";

/** Elements of a typed array written per step: big enough to be fast, small enough to stop soon after the limit. */
const SLICE = 8192;

/**
 * Most values (counting a string as one per 64 characters) that one `JSON.stringify` call writes: a
 * container holding more is written member by member, so no call builds much more than this, nor
 * nests deeper than this (JSON.stringify recurses, and overflows the stack a few thousand levels down).
 */
const PIECE_VALUES = 1024;

/** A container being written: its members by index (and their names, for an object), and the next to write. */
interface Frame {
  readonly value: object;
  readonly items: ArrayLike<unknown> | Table;
  /** Member names of an object; undefined for an array. */
  readonly names: readonly string[] | undefined;
  index: number;
  /** Whether a member has been written, so the next needs a comma. */
  written: boolean;
}

/**
 * `value` as JSON text, or undefined as soon as the text would pass `maxBytes` bytes of UTF-8: a
 * result too large for JSON is never built whole (a 200 MB typed array is gigabytes as a JS array
 * and then as text), only up to the limit. Values JSON has no type for are written as before:
 * typed arrays become arrays, bigints strings (exact), `Map`s objects, `Set`s arrays, `undefined`
 * null, Arrow tables arrays of row objects; `toJSON` is applied as `JSON.stringify` does. Iterative,
 * so a deep value cannot overflow the stack; throws a `TypeError` on a cycle, as `JSON.stringify` does.
 *
 * @example
 * ```ts
 * stringifyWithin({ a: new Float64Array([0.5]) }, 1024); // '{"a":[0.5]}'
 * stringifyWithin(new Float64Array(1e6), 1024); // undefined
 * ```
 */
export function stringifyWithin(value: unknown, maxBytes: number): string | undefined {
  // Pieces joined once at the end: appending to one string makes a rope of millions of pieces, slow to collect.
  const parts: string[] = [];
  let bytes = 0;
  const sizes = containerSizes(value);
  const open = new Set<object>();
  const stack: Frame[] = [];
  /** Writes one value (already shaped); false once past the limit. */
  const writeValue = (shaped: unknown): boolean => {
    if (typeof shaped === "number") {
      const number = Number.isFinite(shaped) ? String(shaped) : "null";
      parts.push(number);
      return (bytes += number.length) <= maxBytes;
    }
    if (typeof shaped === "string") {
      // Its JSON is at least as long as it is: a string too long is refused before it is copied.
      if (bytes + shaped.length + 2 > maxBytes) return false;
      const quoted = JSON.stringify(shaped);
      parts.push(quoted);
      return (bytes += Buffer.byteLength(quoted)) <= maxBytes;
    }
    if (shaped === null || typeof shaped !== "object") {
      // true, false, null; functions and symbols are null in arrays, as JSON.stringify writes them.
      const literal = typeof shaped === "boolean" ? String(shaped) : "null";
      parts.push(literal);
      return (bytes += literal.length) <= maxBytes;
    }
    if (ArrayBuffer.isView(shaped) && !(shaped instanceof DataView)) {
      const written = typedArrayText(shaped as unknown as ArrayLike<number | bigint>, maxBytes - bytes);
      if (written === undefined) return false;
      parts.push(written);
      return (bytes += written.length) <= maxBytes;
    }
    // Most containers are small: written by JSON.stringify itself, an order of magnitude faster than this loop.
    if ((sizes.get(shaped) ?? 0) <= PIECE_VALUES) {
      const piece = JSON.stringify(shaped, replacer);
      parts.push(piece);
      return (bytes += Buffer.byteLength(piece)) <= maxBytes;
    }
    if (open.has(shaped)) throw new TypeError("Converting circular structure to JSON");
    const frame = frameOf(shaped);
    open.add(shaped);
    stack.push(frame);
    parts.push(frame.names === undefined ? "[" : "{");
    return ++bytes <= maxBytes;
  };
  if (!writeValue(jsonShape("", value))) return undefined;
  while (stack.length > 0) {
    const frame = stack[stack.length - 1];
    const { items, names } = frame;
    const count = names === undefined ? lengthOf(items) : names.length;
    if (frame.index === count) {
      stack.pop();
      open.delete(frame.value);
      parts.push(names === undefined ? "]" : "}");
      if (++bytes > maxBytes) return undefined;
      continue;
    }
    // A run of small members goes in one JSON.stringify call: as fast as writing the whole value natively.
    const end = smallRunEnd(frame, count, sizes);
    if (end > frame.index) {
      const piece = runText(frame, end);
      frame.index = end;
      if (piece === "") continue;
      const text = frame.written ? `,${piece}` : piece;
      frame.written = true;
      parts.push(text);
      if ((bytes += Buffer.byteLength(text)) > maxBytes) return undefined;
      continue;
    }
    const at = frame.index++;
    if (names === undefined) {
      if (frame.written) {
        parts.push(",");
        bytes++;
      }
      frame.written = true;
      if (!writeValue(jsonShape(String(at), itemAt(items, at)))) return undefined;
      continue;
    }
    const name = names[at];
    const shaped = jsonShape(name, (items as unknown as Record<string, unknown>)[name]);
    // As JSON.stringify: members that are functions or symbols are left out of objects.
    if (typeof shaped === "function" || typeof shaped === "symbol") continue;
    const label = `${frame.written ? "," : ""}${JSON.stringify(name)}:`;
    frame.written = true;
    parts.push(label);
    bytes += Buffer.byteLength(label);
    if (!writeValue(shaped)) return undefined;
  }
  return parts.join("");
}

/**
 * A member as JSON sees it: `toJSON` applied (as `JSON.stringify` does), bigints as exact strings,
 * `undefined` as null. Containers (typed arrays, maps, sets, tables) are the writer's to read.
 */
function jsonShape(key: string, value: unknown): unknown {
  const own = value as { toJSON?: (key: string) => unknown } | null | undefined;
  if (own !== null && typeof own === "object" && typeof own.toJSON === "function") value = own.toJSON(key);
  if (typeof value === "bigint") return value.toString();
  if (value === undefined) return null;
  return value;
}

/** How a container's members are read: arrays, sets and tables by index; maps and objects by name. */
function frameOf(value: object): Frame {
  if (Array.isArray(value)) return { value, items: value, names: undefined, index: 0, written: false };
  if (value instanceof Set) return { value, items: [...value], names: undefined, index: 0, written: false };
  if (value instanceof Table) return { value, items: value, names: undefined, index: 0, written: false };
  const object = value instanceof Map ? (Object.fromEntries(value) as object) : value;
  return { value, items: object as ArrayLike<unknown>, names: Object.keys(object), index: 0, written: false };
}

function lengthOf(items: ArrayLike<unknown> | Table): number {
  return items instanceof Table ? items.numRows : items.length;
}

/** An array's item, or a table's row as a plain object. */
function itemAt(items: ArrayLike<unknown> | Table, at: number): unknown {
  if (!(items instanceof Table)) return items[at];
  return (items.get(at) as { toJSON(): unknown } | null)?.toJSON() ?? null;
}

/** A typed array as a JSON array, a slice at a time (bigints as strings); undefined once longer than `budget`. */
function typedArrayText(array: ArrayLike<number | bigint>, budget: number): string | undefined {
  const bigints = typeof array[0] === "bigint";
  let text = "[";
  for (let start = 0; start < array.length; start += SLICE) {
    const slice = Array.prototype.slice.call(array, start, start + SLICE) as (number | bigint)[];
    const items = JSON.stringify(bigints ? slice.map(String) : slice);
    text += start === 0 ? items.slice(1, -1) : `,${items.slice(1, -1)}`;
    if (text.length > budget) return undefined;
  }
  return `${text}]`;
}

/**
 * How many values each container in `root` holds, counting a string as one per 64 characters and a
 * typed array or table as its elements: those holding more than {@link PIECE_VALUES} are written
 * member by member, the others by one `JSON.stringify` call. Iterative, post-order; reads every
 * container once but builds nothing.
 */
function containerSizes(root: unknown): Map<object, number> {
  const sizes = new Map<object, number>();
  const shapedRoot = jsonShape("", root);
  if (shapedRoot === null || typeof shapedRoot !== "object") return sizes;
  // Each entry: a container, and whether its members have been pushed (then it is summed on the way back).
  const pending: [object, boolean][] = [[shapedRoot, false]];
  const onPath = new Set<object>();
  while (pending.length > 0) {
    const top = pending[pending.length - 1];
    const [container, expanded] = top;
    if (!expanded) {
      if (onPath.has(container)) throw new TypeError("Converting circular structure to JSON");
      if (sizes.has(container)) {
        pending.pop();
        continue;
      }
      onPath.add(container);
      top[1] = true;
      const hasMembers = forEachMember(container, (member) => {
        if (member !== null && typeof member === "object") pending.push([member, false]);
      });
      if (hasMembers) continue;
    }
    pending.pop();
    onPath.delete(container);
    let size = 1;
    const hasMembers = forEachMember(container, (member) => {
      size += member !== null && typeof member === "object" ? (sizes.get(member) ?? leafSize(member)) : leafSize(member);
    });
    if (!hasMembers) size = leafSize(container);
    sizes.set(container, size);
  }
  return sizes;
}

/** Values a member counts for (see {@link containerSizes}). */
function memberSize(shaped: unknown, sizes: ReadonlyMap<object, number>): number {
  return shaped !== null && typeof shaped === "object" ? (sizes.get(shaped) ?? leafSize(shaped)) : leafSize(shaped);
}

/**
 * The index after the run of members from `frame.index` that fit in one piece together; `frame.index`
 * itself when the member there is too large and must be written on its own.
 */
function smallRunEnd(frame: Frame, count: number, sizes: ReadonlyMap<object, number>): number {
  const { items, names } = frame;
  if (items instanceof Table) return Math.min(count, frame.index + Math.floor(PIECE_VALUES / Math.max(1, items.numCols)));
  let total = 0;
  let end = frame.index;
  for (; end < count; end++) {
    const shaped =
      names === undefined ? jsonShape(String(end), (items as ArrayLike<unknown>)[end]) : jsonShape(names[end], (items as unknown as Record<string, unknown>)[names[end]]);
    total += memberSize(shaped, sizes);
    if (total > PIECE_VALUES) break;
  }
  return end;
}

/** The members of `frame` from its index to `end` as JSON, without the brackets around them. */
function runText(frame: Frame, end: number): string {
  const { items, names } = frame;
  if (items instanceof Table) return JSON.stringify(items.slice(frame.index, end), replacer).slice(1, -1);
  if (names === undefined) return JSON.stringify(Array.prototype.slice.call(items, frame.index, end), replacer).slice(1, -1);
  // No prototype: a member named __proto__ is a member like any other.
  const run = Object.create(null) as Record<string, unknown>;
  const object = items as unknown as Record<string, unknown>;
  for (let i = frame.index; i < end; i++) run[names[i]] = object[names[i]];
  return JSON.stringify(run, replacer).slice(1, -1);
}

/**
 * Calls `visit` with each member of a container as JSON will see it (shaped); false for values
 * counted whole (typed arrays, tables), which have no members to visit.
 */
function forEachMember(value: object, visit: (member: unknown) => void): boolean {
  if (ArrayBuffer.isView(value) || value instanceof Table) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) visit(jsonShape("", value[i]));
  } else if (value instanceof Set) {
    for (const item of value) visit(jsonShape("", item));
  } else if (value instanceof Map) {
    for (const [name, item] of value) visit(jsonShape(String(name), item));
  } else {
    const object = value as Record<string, unknown>;
    for (const name of Object.keys(object)) visit(jsonShape(name, object[name]));
  }
  return true;
}

/** Values a member counts for, when it is not a container counted already. */
function leafSize(value: unknown): number {
  if (typeof value === "string") return 1 + (value.length >> 6);
  if (value === null || typeof value !== "object") return 1;
  if (value instanceof Table) return 1 + value.numRows * Math.max(1, value.numCols);
  if (ArrayBuffer.isView(value)) return 1 + (value as unknown as ArrayLike<unknown>).length;
  return 1;
}

/** The values JSON has no type for, as they have always been written (see {@link stringifyWithin}). */
function replacer(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value === undefined) return null;
  if (value === null || typeof value !== "object") return value;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number | bigint>, (item) => (typeof item === "bigint" ? item.toString() : item));
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  if (value instanceof Table) return value.toArray().map((row) => (row as { toJSON(): unknown } | null)?.toJSON() ?? null);
  return value;
}
