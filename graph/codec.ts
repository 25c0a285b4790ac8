/**
 * The wire codec: how values and graphs travel between client, scheduler and workers.
 *
 * Built on msgpackr, with weft's own MessagePack extensions for what msgpackr cannot carry as we need
 * it. Before packing, a value is walked once: the walk rejects what cannot go on the wire (with the
 * path of the offending part) and swaps in small wrapper objects for the types that need an
 * extension. Only weft's own classes are registered with msgpackr (its registry is process-wide), so
 * other users of msgpackr in the same process see no change for built-in types.
 *
 * Supported values: `undefined`, `null`, booleans, numbers (including `-0`, `NaN`, `±Infinity`),
 * bigints of any size, strings, arrays (holes become `undefined`), plain objects (a null prototype
 * comes back as `Object.prototype`), `Map`, `Set`, `Date` (including invalid dates), `RegExp`
 * (source and flags), every typed-array class, `DataView`, `ArrayBuffer`, apache-arrow `Table`
 * (as Arrow IPC), {@link Ref} and {@link Call}. Typed-array subclasses such as Node's `Buffer` travel as their base class. Everything
 * else is refused: functions, symbols, class instances (including `Error`, whose class, stack and
 * extra fields msgpackr would lose), circular references, and objects with an own `__proto__` key
 * (msgpackr renames it when decoding).
 *
 * Extension type codes (MessagePack "ext" types) used by weft:
 *
 * | code | carries |
 * |---|---|
 * | 65 (`A`) | apache-arrow `Table`: padding, then its Arrow IPC stream bytes (8-byte aligned) |
 * | 67 (`C`) | {@link Call}: `[fn, args]` |
 * | 77 (`M`) | `Map`: `[k1, v1, k2, v2, …]` |
 * | 82 (`R`) | {@link Ref}: its key |
 * | 84 (`T`) | typed array, `DataView` or `ArrayBuffer`: class code, padding, bytes (little-endian) |
 * | 90 (`Z`) | the number `-0` |
 *
 * msgpackr's own codes (`Set` 0x73, `RegExp` 0x78, large bigints 0x42, timestamps -1, `undefined` 0)
 * are used as msgpackr writes them.
 */
import { Table, tableFromIPC, tableToIPC } from "apache-arrow";
import { addExtension, Packr } from "msgpackr";
import { GraphError } from "./graph-error.js";
import {
  Call,
  Ref,
  isPlainObject,
  taskSpec,
  type Graph,
  type Key,
  type ReadonlyGraph,
  type TaskOptions,
  type TaskSpec,
} from "./task-spec.js";
import { VIEW_CLASSES } from "./view-classes.js";

// ---------------------------------------------------------------------------------------------
// Wire wrappers: what the walk swaps in, so msgpackr sees a class it has an extension for.

/** A `Map`, flattened, because msgpackr writes a `Map` before consulting extensions. */
class WireMap {
  constructor(readonly flat: unknown[]) {}
}

/** `-0`, because msgpackr writes integral numbers as MessagePack integers, which have no sign bit. */
class NegativeZero {}
const NEGATIVE_ZERO = new NegativeZero();

/** Raw bytes of a typed array, `DataView` or `ArrayBuffer`, with the code of the class to rebuild. */
class WireBytes {
  constructor(
    readonly classCode: number,
    readonly bytes: Uint8Array,
  ) {}
}

/** An Arrow table, as its IPC stream bytes. */
class WireTable {
  constructor(readonly table: Table) {}
}

const EXT_ARROW_TABLE = 0x41;
const EXT_CALL = 0x43;
const EXT_MAP = 0x4d;
const EXT_REF = 0x52;
const EXT_BYTES = 0x54;
const EXT_NEGATIVE_ZERO = 0x5a;

/** Class codes on the wire are positions in `VIEW_CLASSES`; `ArrayBuffer` is handled apart because it is not a view. */
const DATA_VIEW_CODE = VIEW_CLASSES.indexOf(DataView);
const ARRAY_BUFFER_CODE = VIEW_CLASSES.length;
const viewCodes = new Map<unknown, number>(VIEW_CLASSES.map((cls, code) => [cls, code]));

/** The wire class code of a view; a subclass (e.g. `Buffer`) gets its base class's code. */
function viewCode(view: ArrayBufferView): number {
  let ctor: unknown = view.constructor;
  const direct = viewCodes.get(ctor);
  if (direct !== undefined) return direct;
  for (let proto = Object.getPrototypeOf(view); proto !== null; proto = Object.getPrototypeOf(proto)) {
    ctor = proto.constructor;
    const code = viewCodes.get(ctor);
    if (code !== undefined) {
      viewCodes.set(view.constructor, code);
      return code;
    }
  }
  // Only reachable for a view class newer than this list (e.g. Float16Array).
  return -1;
}

// Bytes reserved in every typed-array extension for padding, so the payload can start on an 8-byte
// boundary (a Float64Array view needs that) whatever the position. Reserving a fixed amount lets the
// extension's size be known before its position is, which msgpackr's allocation API requires.
const PAD_BUDGET = 7;
const BYTES_HEADER = 2; // class code, pad length

type AllocateForWrite = (size: number) => { target: Uint8Array; targetView: DataView; position: number };

function packBytes(wire: WireBytes, allocateForWrite: AllocateForWrite): undefined {
  return packAligned(EXT_BYTES, wire, allocateForWrite);
}

function packTable(wire: WireTable, allocateForWrite: AllocateForWrite): undefined {
  return packAligned(EXT_ARROW_TABLE, new WireBytes(0, tableToIPC(wire.table, "stream")), allocateForWrite);
}

/** Writes an extension of `type` holding a class code, padding and `wire`'s bytes, aligned to 8 bytes. */
function packAligned(type: number, wire: WireBytes, allocateForWrite: AllocateForWrite): undefined {
  const length = BYTES_HEADER + PAD_BUDGET + wire.bytes.byteLength;
  const headerSize = length < 0x100 ? 3 : length < 0x10000 ? 4 : 6;
  const { target, targetView, position } = allocateForWrite(headerSize + length);
  let at = position;
  if (headerSize === 3) {
    target[at++] = 0xc7;
    target[at++] = length;
  } else if (headerSize === 4) {
    target[at++] = 0xc8;
    targetView.setUint16(at, length);
    at += 2;
  } else {
    target[at++] = 0xc9;
    targetView.setUint32(at, length);
    at += 4;
  }
  target[at++] = type;
  // msgpackr starts every message on an 8-byte boundary of its buffer, so aligning the absolute
  // position aligns the offset within the message too, which is what a receiver sees.
  const pad = (8 - ((target.byteOffset + at + BYTES_HEADER) & 7)) & 7;
  target[at++] = wire.classCode;
  target[at++] = pad;
  target.fill(0, at, at + pad);
  at += pad;
  target.set(wire.bytes, at);
  at += wire.bytes.byteLength;
  target.fill(0, at, at + PAD_BUDGET - pad);
  return undefined;
}

/** The payload of an aligned extension (see {@link packAligned}). */
function alignedPayload(data: Uint8Array, what: string): Uint8Array {
  if (data.length < BYTES_HEADER + PAD_BUDGET) throw new Error(`${what} extension is too short`);
  const pad = data[1];
  if (pad > PAD_BUDGET) throw new Error(`${what} extension has padding ${pad} (at most ${PAD_BUDGET})`);
  const byteLength = data.length - BYTES_HEADER - PAD_BUDGET;
  return data.subarray(BYTES_HEADER + pad, BYTES_HEADER + pad + byteLength);
}

function unpackTable(data: Uint8Array): Table {
  const payload = alignedPayload(data, "Arrow table");
  // The table's columns are views onto the payload, as typed arrays are; Arrow needs them 8-byte aligned.
  return tableFromIPC(payload.byteOffset % 8 === 0 ? payload : copyOf(payload));
}

function unpackBytes(data: Uint8Array): unknown {
  const classCode = data[0];
  const payload = alignedPayload(data, "typed-array");
  const byteLength = payload.byteLength;
  // Uint8Array's slice copies; Buffer's (what msgpackr hands over in Node) would not.
  if (classCode === ARRAY_BUFFER_CODE) return copyOf(payload).buffer;
  const View = VIEW_CLASSES[classCode];
  if (View === undefined) throw new Error(`unknown typed-array class code ${classCode}`);
  if (classCode === DATA_VIEW_CODE) return new DataView(payload.buffer, payload.byteOffset, byteLength);
  const elementSize = (View as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  if (byteLength % elementSize !== 0) {
    throw new Error(`${View.name} payload of ${byteLength} bytes is not a whole number of elements`);
  }
  // A view onto the input avoids copying; unaligned input (copied to an odd offset) needs a copy.
  const source = payload.byteOffset % elementSize === 0 ? payload : copyOf(payload);
  return new View(source.buffer as ArrayBuffer, source.byteOffset, byteLength / elementSize);
}

function copyOf(bytes: Uint8Array): Uint8Array {
  return Uint8Array.prototype.slice.call(bytes);
}

addExtension({
  Class: Ref,
  type: EXT_REF,
  write: (ref: Ref) => ref.key,
  read: (key: unknown) => {
    if (typeof key !== "string") throw new Error(`a Ref holds ${aTypeName(key)}, not a string key`);
    return new Ref(key);
  },
});
addExtension({
  Class: Call,
  type: EXT_CALL,
  write: (call: Call) => [call.fn, call.args],
  read: (data: unknown) => {
    if (!Array.isArray(data) || data.length !== 2 || typeof data[0] !== "string" || !Array.isArray(data[1])) {
      throw new Error("a Call must hold [fn: string, args: array]");
    }
    return new Call(data[0], data[1]);
  },
});
addExtension({
  Class: WireMap,
  type: EXT_MAP,
  write: (map: WireMap) => map.flat,
  read: (flat: unknown) => {
    if (!Array.isArray(flat) || flat.length % 2 !== 0) throw new Error("a Map must hold [key, value, …] pairs");
    const map = new Map<unknown, unknown>();
    for (let i = 0; i < flat.length; i += 2) map.set(flat[i], flat[i + 1]);
    return map;
  },
});
addExtension({
  Class: NegativeZero,
  type: EXT_NEGATIVE_ZERO,
  write: () => 0,
  read: () => -0,
});
addExtension({ Class: WireBytes, type: EXT_BYTES, pack: packBytes as never, unpack: unpackBytes });
addExtension({ Class: WireTable, type: EXT_ARROW_TABLE, pack: packTable as never, unpack: unpackTable });

/**
 * One configured codec for the process. `useRecords: false` writes objects as plain MessagePack maps,
 * so any MessagePack reader can decode them without shared structure definitions;
 * `structuredClone: false` refuses reference extensions in input, so decoded data can never be cyclic;
 * `variableMapSize` is needed for objects with more than 65,535 keys.
 */
const packr = new Packr({
  useRecords: false,
  moreTypes: true,
  structuredClone: false,
  mapsAsObjects: true,
  variableMapSize: true,
  int64AsType: "bigint",
});

/**
 * msgpackr writes each message after the previous one in a shared buffer and grows that buffer to
 * 4x a large message. Without a reset, every later small message would be a view keeping the grown
 * buffer (tens of MB after one large block) alive; so after a message that left a large buffer
 * behind, msgpackr is handed a fresh small one.
 */
const LARGE_BUFFER = 1 << 20;
const FRESH_BUFFER = 8192;

function pack(wire: unknown): Uint8Array {
  const bytes = packr.pack(wire);
  if (bytes.buffer.byteLength > LARGE_BUFFER) packr.useBuffer(Buffer.allocUnsafeSlow(FRESH_BUFFER));
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// The walk: checks a value and builds its wire form.

/** Refusal of a value by the walk; carries the description, path included. */
class Unserializable extends Error {}

/** How to reach a child from its container, kept raw so paths are only formatted on failure. */
type Segment = number | string | { readonly kind: "map-key" | "map-value" | "set-item"; readonly at: unknown };

interface Walk {
  readonly root: string;
  readonly segments: Segment[];
  /** Containers from the root to the current one; `ancestors[i]` is reached by `segments[0..i)`. */
  readonly ancestors: object[];
  /** Those of `ancestors` at depth `trackFrom` or deeper, for finding cycles. */
  readonly onPath: Set<object>;
  readonly trackFrom: number;
}

/**
 * Depth from which the first walk tracks containers. Keeping a set of every container on the path
 * made checking a value cost as much as packing it; a cycle drives the depth past any bound, so it
 * is still found, and then a second walk that tracks from the root reports where it first closes.
 */
const TRACK_FROM = 64;
const CYCLE_SUSPECTED = new Unserializable("a cycle, to be located by tracking from the root");

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function formatPath(root: string, segments: readonly Segment[]): string {
  let path = root;
  for (const segment of segments) {
    if (typeof segment === "number") path += `[${segment}]`;
    else if (typeof segment === "string") path += IDENTIFIER.test(segment) ? `.${segment}` : `[${JSON.stringify(segment)}]`;
    else if (segment.kind === "map-value") path += `.get(${describeKey(segment.at)})`;
    else if (segment.kind === "map-key") path += `.keys()[${segment.at as number}]`;
    else path += `.values()[${segment.at as number}]`;
  }
  return path;
}

function describeKey(key: unknown): string {
  if (typeof key === "string") return JSON.stringify(key);
  if (typeof key === "number" || typeof key === "boolean" || key === null || key === undefined) return String(key);
  if (typeof key === "bigint") return `${key}n`;
  return `<${typeName(key)} key>`;
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  const ctor = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor;
  return ctor?.name || "object";
}

/** `value`'s type with an article, for messages: "a number", "an array", "an object", "a Map". */
function aTypeName(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return "an array";
  const name = typeof value === "object" && isPlainObject(value) ? "object" : typeName(value);
  return /^[aeiou]/i.test(name) ? `an ${name}` : `a ${name}`;
}

function refuse(walk: Walk, what: string): Unserializable {
  return new Unserializable(`${formatPath(walk.root, walk.segments)} ${what}`);
}

function child(walk: Walk, segment: Segment, value: unknown): unknown {
  walk.segments.push(segment);
  const wire = toWire(value, walk);
  walk.segments.pop();
  return wire;
}

function enter(walk: Walk, container: object): void {
  if (walk.ancestors.length >= walk.trackFrom) {
    if (walk.onPath.has(container)) {
      if (walk.trackFrom > 0) throw CYCLE_SUSPECTED;
      const target = walk.ancestors.indexOf(container);
      throw refuse(walk, `is a circular reference to ${formatPath(walk.root, walk.segments.slice(0, target))}`);
    }
    walk.onPath.add(container);
  }
  walk.ancestors.push(container);
}

function leave(walk: Walk, container: object): void {
  walk.ancestors.pop();
  if (walk.ancestors.length >= walk.trackFrom) walk.onPath.delete(container);
}

/** The wire form of `value`: itself where msgpackr handles it, otherwise a copy with wrappers inside. */
function toWire(value: unknown, walk: Walk): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
    case "bigint":
    case "undefined":
      return value;
    case "number":
      return value === 0 && 1 / value < 0 ? NEGATIVE_ZERO : value;
    case "function":
      throw refuse(walk, "is a function");
    case "symbol":
      throw refuse(walk, "is a symbol");
  }
  if (value === null) return null;
  const object = value as object;
  const proto: unknown = Object.getPrototypeOf(object);
  if (proto === Array.prototype) return arrayToWire(object as unknown[], walk);
  if (proto === Object.prototype || proto === null) return objectToWire(object as Record<string, unknown>, walk);
  if (ArrayBuffer.isView(object)) {
    const code = viewCode(object);
    if (code < 0) throw refuse(walk, `is a ${typeName(object)}, which weft cannot send yet`);
    return new WireBytes(code, new Uint8Array(object.buffer, object.byteOffset, object.byteLength));
  }
  if (proto === Ref.prototype) {
    const key = (object as Ref).key;
    if (typeof key !== "string") throw refuse(walk, `is a Ref whose key is ${aTypeName(key)}, not a string`);
    return object;
  }
  if (proto === Call.prototype) return callToWire(object as Call, walk);
  if (proto === Map.prototype) return mapToWire(object as Map<unknown, unknown>, walk);
  if (proto === Set.prototype) return setToWire(object as Set<unknown>, walk);
  if (proto === Date.prototype || proto === RegExp.prototype) return object;
  if (object instanceof Table) return new WireTable(object);
  if (proto === ArrayBuffer.prototype) {
    return new WireBytes(ARRAY_BUFFER_CODE, new Uint8Array(object as ArrayBuffer));
  }
  throw refuse(walk, `is an instance of class ${typeName(object)}`);
}

function arrayToWire(array: readonly unknown[], walk: Walk): readonly unknown[] {
  enter(walk, array);
  let copy: unknown[] | undefined;
  for (let i = 0; i < array.length; i++) {
    const item = array[i];
    // Skip the call for the common leaves; a long numeric array is the case this is for.
    if ((typeof item === "number" && item !== 0) || typeof item === "string" || typeof item === "boolean") continue;
    const wire = child(walk, i, item);
    if (wire !== item) {
      copy ??= array.slice();
      copy[i] = wire;
    }
  }
  leave(walk, array);
  return copy ?? array;
}

function objectToWire(object: Record<string, unknown>, walk: Walk): Record<string, unknown> {
  enter(walk, object);
  let copy: Record<string, unknown> | undefined;
  for (const key in object) {
    if (key === "__proto__") throw refuse(walk, `has an own "__proto__" key, which msgpackr renames when decoding`);
    const item = object[key];
    const wire = child(walk, key, item);
    if (wire !== item) {
      copy ??= { ...object };
      copy[key] = wire;
    }
  }
  leave(walk, object);
  return copy ?? object;
}

function callToWire(call: Call, walk: Walk): Call {
  if (typeof call.fn !== "string") throw refuse(walk, `is a Call whose fn is ${aTypeName(call.fn)}, not a string`);
  if (!Array.isArray(call.args)) throw refuse(walk, `is a Call whose args are ${aTypeName(call.args)}, not an array`);
  enter(walk, call);
  walk.segments.push("args");
  const args = arrayToWire(call.args, walk);
  walk.segments.pop();
  leave(walk, call);
  return args === call.args ? call : new Call(call.fn, args);
}

function mapToWire(map: Map<unknown, unknown>, walk: Walk): WireMap {
  enter(walk, map);
  const flat: unknown[] = [];
  let index = 0;
  for (const [key, item] of map) {
    flat.push(child(walk, { kind: "map-key", at: index }, key), child(walk, { kind: "map-value", at: key }, item));
    index++;
  }
  leave(walk, map);
  return new WireMap(flat);
}

function setToWire(set: Set<unknown>, walk: Walk): Set<unknown> {
  enter(walk, set);
  let changed = false;
  const items: unknown[] = [];
  let index = 0;
  for (const item of set) {
    const wire = child(walk, { kind: "set-item", at: index++ }, item);
    if (wire !== item) changed = true;
    items.push(wire);
  }
  leave(walk, set);
  return changed ? new Set(items) : set;
}

/** The wire form of `value`, named `root` in messages; throws {@link Unserializable}. */
function wireOf(value: unknown, root: string): unknown {
  try {
    return toWire(value, { root, segments: [], ancestors: [], onPath: new Set(), trackFrom: TRACK_FROM });
  } catch (error) {
    if (error !== CYCLE_SUSPECTED) throw error;
    return toWire(value, { root, segments: [], ancestors: [], onPath: new Set(), trackFrom: 0 });
  }
}

// ---------------------------------------------------------------------------------------------
// Public API

/**
 * Describes the first part of `value` that cannot go on the wire, or returns `undefined` when all of
 * it can. The description starts with `path` followed by the way to the offending part, so callers
 * can report it as is. Typed arrays are checked by class only, never element by element, so a large
 * block costs the same as a small one.
 *
 * See the module comment for what is supported.
 *
 * @param value - the value to check (a task's argument list, a result, …)
 * @param path - how the caller names `value`, e.g. `"args"` or `'task "x" args'`
 * @returns a sentence such as `args[1].callback is a function`, or `undefined`
 *
 * @example
 * ```ts
 * checkSerializable([1, { callback: () => 0 }], "args"); // 'args[1].callback is a function'
 * checkSerializable([new Ref("a"), new Float64Array(1e6)], "args"); // undefined
 * ```
 */
export function checkSerializable(value: unknown, path: string): string | undefined {
  try {
    wireOf(value, path);
    return undefined;
  } catch (error) {
    if (error instanceof Unserializable) return error.message;
    throw error;
  }
}

/**
 * Encodes one value (a task result, an argument) as MessagePack.
 *
 * The bytes are a view onto a buffer msgpackr shares between calls; they stay valid (msgpackr never
 * writes over a message it has returned), but holding them keeps that buffer alive.
 *
 * @throws TypeError naming the path (rooted at `value`) of the first part that cannot go on the wire;
 *   see {@link checkSerializable}.
 *
 * @example
 * ```ts
 * const bytes = encodeValue({ block: new Float64Array([1, 2]), shape: [2] });
 * decodeValue(bytes); // { block: Float64Array [1, 2], shape: [2] }
 * ```
 */
export function encodeValue(value: unknown): Uint8Array {
  let wire: unknown;
  try {
    wire = wireOf(value, "value");
  } catch (error) {
    if (error instanceof Unserializable) throw new TypeError(error.message);
    throw error;
  }
  return pack(wire);
}

/**
 * Decodes bytes written by {@link encodeValue}; also reads plain MessagePack from other languages
 * (maps become plain objects, binary becomes a `Buffer`).
 *
 * Typed arrays are views onto `bytes` when their payload is suitably aligned there, which it is when
 * `bytes` starts on an 8-byte boundary of its `ArrayBuffer` (as fresh buffers do); otherwise they are
 * copies. So do not modify or reuse `bytes` while decoded arrays are in use.
 *
 * @throws Error whose message says what is malformed, with msgpackr's error as `cause`.
 */
export function decodeValue(bytes: Uint8Array): unknown {
  try {
    return packr.unpack(bytes);
  } catch (error) {
    throw new Error(`cannot decode value: ${messageOf(error)}`, { cause: error });
  }
}

/** Identifies weft graph bytes, so other MessagePack given as a graph fails with a clear message. */
const GRAPH_FORMAT = "weft-graph";
const GRAPH_VERSION = 1;

/**
 * Encodes a graph as MessagePack. The format (version 1), for readers in other languages:
 *
 * ```
 * { format: "weft-graph", version: 1, tasks: [ [key, fn, args] | [key, fn, args, { retries?, priority? }], … ] }
 * ```
 *
 * where `args` is an array of values (see the module comment for the extensions inside). `deps` is
 * not written: {@link decodeGraph} recomputes it from `args`.
 *
 * @throws GraphError `"unserializable-argument"` naming the task and the path inside its arguments,
 *   or `"invalid-graph"` when a graph entry's key differs from its task's key.
 *
 * @example
 * ```ts
 * const graph: Graph = new Map([
 *   ["a", taskSpec("a", "load", ["s3://bucket/a.csv"])],
 *   ["b", taskSpec("b", "clean", [new Ref("a")], { retries: 2 })],
 * ]);
 * const copy = decodeGraph(encodeGraph(graph)); // equal to graph
 * ```
 */
export function encodeGraph(graph: ReadonlyGraph): Uint8Array {
  const tasks: unknown[] = [];
  for (const [key, spec] of graph) {
    if (spec.key !== key) {
      throw new GraphError("invalid-graph", `graph entry ${JSON.stringify(key)} holds task ${JSON.stringify(spec.key)}`, [key]);
    }
    let args: unknown;
    try {
      args = wireOf(spec.args, "args");
    } catch (error) {
      if (error instanceof Unserializable) {
        throw new GraphError("unserializable-argument", `task ${JSON.stringify(key)}: ${error.message}`, [key]);
      }
      throw error;
    }
    const options = optionsOf(spec);
    tasks.push(options === undefined ? [key, spec.fn, args] : [key, spec.fn, args, options]);
  }
  return pack({ format: GRAPH_FORMAT, version: GRAPH_VERSION, tasks });
}

function optionsOf(spec: TaskSpec): TaskOptions | undefined {
  const hasRetries = spec.retries !== undefined && spec.retries !== 0;
  const hasPriority = spec.priority !== undefined && spec.priority !== 0;
  if (!hasRetries && !hasPriority) return undefined;
  const options: { retries?: number; priority?: number } = {};
  if (hasRetries) options.retries = spec.retries;
  if (hasPriority) options.priority = spec.priority;
  return options;
}

/**
 * Decodes bytes written by {@link encodeGraph}. Every task is rebuilt with {@link taskSpec}, so
 * `deps` comes from the arguments, never from the wire. Structure is checked (format, version, task
 * shape, option types, duplicate keys, and that arguments hold only what {@link checkSerializable}
 * accepts); whether dependencies exist or form a cycle is for graph validation to judge. As with
 * {@link decodeValue}, typed arrays in arguments may be views onto `bytes`.
 *
 * @throws GraphError `"invalid-graph"` saying what is wrong, with the task's key in `keys` when the
 *   fault lies in one task.
 */
export function decodeGraph(bytes: Uint8Array): Graph {
  let decoded: unknown;
  try {
    decoded = packr.unpack(bytes);
  } catch (error) {
    throw invalid(`graph bytes are not valid weft MessagePack: ${messageOf(error)}`);
  }
  if (decoded === null || typeof decoded !== "object" || Array.isArray(decoded)) {
    throw invalid(`graph bytes hold ${aTypeName(decoded)}, not a weft graph`);
  }
  const envelope = decoded as Record<string, unknown>;
  if (envelope.format !== GRAPH_FORMAT) throw invalid(`graph bytes are not a weft graph (format is ${describeKey(envelope.format)})`);
  if (envelope.version !== GRAPH_VERSION) {
    throw invalid(`unsupported weft graph version ${describeKey(envelope.version)} (this reader knows ${GRAPH_VERSION})`);
  }
  const tasks = envelope.tasks;
  if (!Array.isArray(tasks)) throw invalid(`graph "tasks" is ${aTypeName(tasks)}, not an array`);
  const graph: Graph = new Map();
  for (let i = 0; i < tasks.length; i++) {
    const spec = decodeTask(tasks[i], i);
    if (graph.has(spec.key)) throw invalid(`duplicate task key ${JSON.stringify(spec.key)}`, [spec.key]);
    graph.set(spec.key, spec);
  }
  return graph;
}

function decodeTask(task: unknown, index: number): TaskSpec {
  if (!Array.isArray(task) || task.length < 3 || task.length > 4) {
    throw invalid(`task ${index} is not [key, fn, args] or [key, fn, args, options]`);
  }
  const [key, fn, args, options] = task as [unknown, unknown, unknown, unknown];
  if (typeof key !== "string" || key === "") throw invalid(`task ${index} has a key that is not a non-empty string`);
  const where = `task ${JSON.stringify(key)}`;
  if (typeof fn !== "string" || fn === "") throw invalid(`${where} has a fn that is not a non-empty string`, [key]);
  if (!Array.isArray(args)) throw invalid(`${where} has args that are ${aTypeName(args)}, not an array`, [key]);
  // msgpackr also decodes things weft would never send (Error, the 0xC1 marker); refusing them here
  // means every decoded graph can be encoded, tokenized and run like one built in process.
  const problem = checkSerializable(args, "args");
  if (problem !== undefined) throw invalid(`${where}: ${problem}`, [key]);
  return taskSpec(key, fn, args, task.length === 4 ? decodeOptions(options, where, key) : {});
}

function decodeOptions(options: unknown, where: string, key: Key): TaskOptions {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw invalid(`${where} has options that are ${aTypeName(options)}, not an object`, [key]);
  }
  const result: { retries?: number; priority?: number } = {};
  for (const [name, value] of Object.entries(options)) {
    if (name === "retries") {
      if (!Number.isSafeInteger(value) || (value as number) < 0) {
        throw invalid(`${where} has retries ${describeKey(value)}, not a non-negative integer`, [key]);
      }
      result.retries = value as number;
    } else if (name === "priority") {
      if (typeof value !== "number" || !Number.isFinite(value)) {
        throw invalid(`${where} has priority ${describeKey(value)}, not a finite number`, [key]);
      }
      result.priority = value;
    } else {
      throw invalid(`${where} has an unknown option ${JSON.stringify(name)}`, [key]);
    }
  }
  return result;
}

function invalid(message: string, keys: readonly Key[] = []): GraphError {
  return new GraphError("invalid-graph", message, keys);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
