import { Table, tableFromIPC, tableToIPC } from "apache-arrow";
import { isPlainObject } from "../graph/task-spec.js";

/**
 * How Arrow tables cross between worker threads. Structured cloning keeps a table's buffers but not
 * its classes (a `Table` arrives as a plain object, and its closures cannot be cloned at all), so a
 * table travels as its Arrow IPC stream bytes in a `SharedArrayBuffer`: encoded once, posted to any
 * number of threads without a copy, and read back as a `Table` whose columns are views onto the
 * shared bytes (no copy either).
 *
 * A table that was itself read from shared bytes remembers them, so a partition made in one thread
 * and consumed by tasks in others is encoded once, however often it travels.
 */

/**
 * The key under which a packed table holds its bytes. An object whose only property is this key,
 * holding a `Uint8Array`, stands for a table; the key is not an identifier, so ordinary data does not
 * take that shape by accident.
 */
const PACKED = "weft:arrow-ipc";

/** What a table becomes for `postMessage`: a tagged holder of its IPC stream bytes. */
interface PackedTable {
  readonly [PACKED]: Uint8Array;
}

/** Tables this thread read from shared bytes (or packed), and those bytes. */
const sharedBytesOf = new WeakMap<Table, PackedTable>();

/** Containers are searched this deep and, for arrays, this far: the shapes task arguments and results take. */
const MAX_DEPTH = 4;
const MAX_ITEMS = 1024;

function isPackedTable(value: object): value is PackedTable {
  const bytes = (value as { [PACKED]?: unknown })[PACKED];
  return bytes instanceof Uint8Array && Object.keys(value).length === 1;
}

/** The shared IPC form of `table`, made once per table. */
function packTable(table: Table): PackedTable {
  let packed = sharedBytesOf.get(table);
  if (packed === undefined) {
    const bytes = tableToIPC(table, "stream");
    const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
    shared.set(bytes);
    packed = { [PACKED]: shared };
    sharedBytesOf.set(table, packed);
  }
  return packed;
}

function unpackTable(packed: PackedTable): Table {
  const table = tableFromIPC(packed[PACKED]);
  sharedBytesOf.set(table, packed);
  return table;
}

/**
 * `value` with every Arrow `Table` in it (itself, or inside arrays and plain objects) replaced by its
 * shared IPC bytes, ready for `postMessage`. Containers holding tables are copied; the rest is shared.
 */
export function packTables(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== "object" || ArrayBuffer.isView(value)) return value;
  if (value instanceof Table) return packTable(value);
  if (depth >= MAX_DEPTH) return value;
  return mapContainer(value, (item) => packTables(item, depth + 1));
}

/** The inverse of {@link packTables}: tables are rebuilt (as views onto the shared bytes). */
export function unpackTables(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== "object" || ArrayBuffer.isView(value)) return value;
  if (isPackedTable(value)) return unpackTable(value);
  if (depth >= MAX_DEPTH) return value;
  return mapContainer(value, (item) => unpackTables(item, depth + 1));
}

/** `container` with `change` applied to its items, copied only when some item changed. */
function mapContainer(container: object, change: (item: unknown) => unknown): unknown {
  if (Array.isArray(container)) {
    let copy: unknown[] | undefined;
    const n = Math.min(container.length, MAX_ITEMS);
    for (let i = 0; i < n; i++) {
      const item: unknown = container[i];
      if (item === null || typeof item !== "object") continue;
      const changed = change(item);
      if (changed !== item) (copy ??= container.slice())[i] = changed;
    }
    return copy ?? container;
  }
  if (isPlainObject(container)) {
    let copy: Record<string, unknown> | undefined;
    const record = container as Record<string, unknown>;
    for (const k in record) {
      const item = record[k];
      if (item === null || typeof item !== "object") continue;
      const changed = change(item);
      if (changed !== item) (copy ??= { ...record })[k] = changed;
    }
    return copy ?? container;
  }
  return container;
}
