/**
 * The wire codec: how values and graphs travel between client, scheduler and workers.
 *
 * Built on msgpackr, with weft's own MessagePack extensions for what msgpackr cannot carry as we need
 * it. Before packing, a value is walked once (`wire-form.ts`): the walk rejects what cannot go on the
 * wire (with the path of the offending part) and swaps in small wrapper objects for the types that
 * need an extension. Only weft's own classes are registered with msgpackr (its registry is process-wide), so
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
  isTimeoutMs,
  MAX_TIMEOUT_MS,
  Ref,
  taskSpec,
  userPriorityProblem,
  type Graph,
  type Key,
  type ReadonlyGraph,
  type TaskOptions,
  type TaskSpec,
} from "./task-spec.js";
import { VIEW_CLASSES } from "./view-classes.js";
import { ARRAY_BUFFER_CODE, aTypeName, checkSerializable, DATA_VIEW_CODE, describeKey, NegativeZero, Unserializable, WireBytes, WireMap, WireTable, wireOf } from "./wire-form.js";

const EXT_ARROW_TABLE = 0x41;
const EXT_CALL = 0x43;
const EXT_MAP = 0x4d;
const EXT_REF = 0x52;
const EXT_BYTES = 0x54;
const EXT_NEGATIVE_ZERO = 0x5a;

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
// Public API

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
 * { format: "weft-graph", version: 1, tasks: [ [key, fn, args] | [key, fn, args, { retries?, priority?, timeoutMs? }], … ] }
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
  if (!hasRetries && !hasPriority && spec.timeoutMs === undefined) return undefined;
  const options: { retries?: number; priority?: number; timeoutMs?: number } = {};
  if (hasRetries) options.retries = spec.retries;
  if (hasPriority) options.priority = spec.priority;
  if (spec.timeoutMs !== undefined) options.timeoutMs = spec.timeoutMs;
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
  const result: { retries?: number; priority?: number; timeoutMs?: number } = {};
  for (const [name, value] of Object.entries(options)) {
    if (name === "retries") {
      if (!Number.isSafeInteger(value) || (value as number) < 0) {
        throw invalid(`${where} has retries ${describeKey(value)}, not a non-negative integer`, [key]);
      }
      result.retries = value as number;
    } else if (name === "priority") {
      const problem = userPriorityProblem(value);
      if (problem !== undefined) throw invalid(`${where} has priority ${describeKey(value)}: it ${problem}`, [key]);
      result.priority = value as number;
    } else if (name === "timeoutMs") {
      if (!isTimeoutMs(value)) throw invalid(`${where} has timeoutMs ${describeKey(value)}, not a whole number from 1 to ${MAX_TIMEOUT_MS}`, [key]);
      result.timeoutMs = value;
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
