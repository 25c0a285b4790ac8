/**
 * The graph format of the HTTP API: plain JSON (or the same structure in MessagePack), so that any
 * language can build a graph. `docs/graph-format.md` is its specification; this file turns it into
 * the task-graph model ({@link TaskSpec}, {@link Ref}, {@link Call}) and back. Nothing in it is ever
 * evaluated: a function is a name that must be registered on the workers.
 *
 * ```json
 * { "tasks": { "a": { "fn": "weft.add", "args": [1, 2] },
 *              "b": { "fn": "weft.mul", "args": [{ "$ref": "a" }, 10] } },
 *   "outputs": ["b"] }
 * ```
 *
 * Inside `args`, objects whose first key starts with `$` are markers:
 *
 * | marker | stands for |
 * |---|---|
 * | `{"$ref": "key"}` | the result of task `key` |
 * | `{"$call": "fn", "args": [...]}` | `fn` applied inline to `args` (as fusion nests calls) |
 * | `{"$bytes": "<base64>" or <bin>}` | a `Uint8Array` |
 * | `{"$typed": "float64", "data": "<base64>" or <bin>}` | a typed array, little-endian bytes |
 * | `{"$literal": value}` | `value` exactly as given, markers inside not read |
 */

import { GraphError } from "./graph-error.js";
import { checkKeyText } from "./key-text.js";
import { Call, isPlainObject, Ref, taskSpec, type Graph, type Key, type ReadonlyGraph } from "./task-spec.js";

/** One task in the wire format. */
export interface WireTask {
  /** Name of a function registered on the workers. */
  readonly fn: string;
  /** Arguments: JSON values with `$` markers (see the module's table). Default `[]`. */
  readonly args?: readonly unknown[];
  /** Reruns when the function throws. Default 0. */
  readonly retries?: number;
  /** Higher runs first among ready tasks. Default 0. */
  readonly priority?: number;
  /** Longest the task may run, in ms (see `TaskOptions.timeoutMs`). Default: the job's, else none. */
  readonly timeoutMs?: number;
}

/** A graph in the wire format: tasks by key, and the keys whose results are wanted. */
export interface WireGraph {
  readonly tasks: Readonly<Record<string, WireTask>>;
  readonly outputs: readonly Key[];
}

/** Element types `$typed` accepts, by name. */
const TYPED_ARRAYS = {
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  float32: Float32Array,
  float64: Float64Array,
  bigint64: BigInt64Array,
  biguint64: BigUint64Array,
} as const;

/** The `$typed` names, for schemas and messages. */
export const TYPED_ARRAY_NAMES = Object.keys(TYPED_ARRAYS) as readonly (keyof typeof TYPED_ARRAYS)[];

type TypedArrayName = keyof typeof TYPED_ARRAYS;
type AnyTypedArray = InstanceType<(typeof TYPED_ARRAYS)[TypedArrayName]>;

/**
 * Turns a wire graph into the task-graph model. Throws a {@link GraphError} with code
 * `"invalid-graph"` naming the task and the path of a malformed marker. Structure only: run
 * `validateGraph` afterwards for cycles, missing dependencies and unknown functions.
 *
 * @example
 * ```ts
 * const { graph, outputs } = decodeWireGraph(JSON.parse(body));
 * validateGraph(graph, { isKnownFunction });
 * ```
 */
export function decodeWireGraph(wire: WireGraph): { graph: Graph; outputs: Key[] } {
  const graph: Graph = new Map();
  for (const key of Object.keys(wire.tasks)) {
    const task = wire.tasks[key];
    const where: Where = { key, owner: `task "${key}" has`, references: true };
    const args = (task.args ?? []).map((arg, i) => decodeArg(arg, where, `args[${i}]`));
    graph.set(key, taskSpec(key, task.fn, args, { retries: task.retries, priority: task.priority, timeoutMs: task.timeoutMs }));
  }
  return { graph, outputs: [...wire.outputs] };
}

/**
 * Reads one value sent as data under `key` (what `POST /v1/data` receives): the argument format,
 * markers and all, except that data refers to nothing, so `$ref` and `$call` are refused. Throws a
 * {@link GraphError} `"invalid-graph"` naming the key and the path of a malformed marker.
 *
 * @example
 * ```ts
 * decodeWireValue({ $typed: "float64", data: "AAAAAAAA8D8=" }, "weights"); // Float64Array [1]
 * ```
 */
export function decodeWireValue(value: unknown, key: Key): unknown {
  return decodeArg(value, { key, owner: `the data under "${key}" has`, references: false }, "data");
}

/** Whose value is being read, for messages, and whether it may refer to other results. */
interface Where {
  readonly key: Key;
  readonly owner: string;
  readonly references: boolean;
}

function decodeArg(value: unknown, where: Where, path: string): unknown {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map((item, i) => decodeArg(item, where, `${path}[${i}]`));
  const object = value as Record<string, unknown>;
  const [first] = Object.keys(object);
  if (first !== undefined && first.startsWith("$")) return decodeMarker(object, first, where, path);
  const copy: Record<string, unknown> = {};
  for (const name of Object.keys(object)) copy[name] = decodeArg(object[name], where, `${path}.${name}`);
  return copy;
}

function decodeMarker(object: Record<string, unknown>, marker: string, where: Where, path: string): unknown {
  const fields = Object.keys(object);
  const bad = (what: string) => new GraphError("invalid-graph", `${where.owner} a malformed ${marker} at ${path}: ${what}`, [where.key]);
  if ((marker === "$ref" || marker === "$call") && !where.references) throw bad("data cannot refer to results or call functions");
  const only = (...allowed: string[]) => {
    const extra = fields.filter((field) => !allowed.includes(field));
    if (extra.length > 0) throw bad(`unexpected field ${extra.map((f) => JSON.stringify(f)).join(", ")}`);
  };
  switch (marker) {
    case "$ref": {
      only("$ref");
      if (typeof object.$ref !== "string" || object.$ref === "") throw bad("the key must be a non-empty string");
      return new Ref(object.$ref);
    }
    case "$call": {
      only("$call", "args");
      if (typeof object.$call !== "string" || object.$call === "") throw bad("the function name must be a non-empty string");
      const args = object.args ?? [];
      if (!Array.isArray(args)) throw bad("args must be an array");
      return new Call(object.$call, args.map((arg, i) => decodeArg(arg, where, `${path}.args[${i}]`)));
    }
    case "$bytes": {
      only("$bytes");
      return bytesOf(object.$bytes, bad);
    }
    case "$typed": {
      only("$typed", "data");
      const type = object.$typed;
      if (typeof type !== "string" || !(type in TYPED_ARRAYS)) throw bad(`the type must be one of ${TYPED_ARRAY_NAMES.join(", ")}`);
      const bytes = bytesOf(object.data, bad);
      const Class = TYPED_ARRAYS[type as TypedArrayName];
      if (bytes.byteLength % Class.BYTES_PER_ELEMENT !== 0) {
        throw bad(`${bytes.byteLength} bytes is not a whole number of ${type} elements`);
      }
      // Copied into a fresh, aligned buffer: the body's bytes may start at any offset.
      const aligned = new Uint8Array(bytes.byteLength);
      aligned.set(bytes);
      return new Class(aligned.buffer, 0, bytes.byteLength / Class.BYTES_PER_ELEMENT);
    }
    case "$literal":
      only("$literal");
      return object.$literal;
    default:
      throw bad(`unknown marker; use $ref, $call, $bytes, $typed or $literal (or $literal to pass an object with $ keys)`);
  }
}

function bytesOf(value: unknown, bad: (what: string) => GraphError): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === "string" && /^[A-Za-z0-9+/]*={0,2}$/.test(value) && value.length % 4 === 0) {
    return new Uint8Array(Buffer.from(value, "base64"));
  }
  throw bad("bytes must be base64 text (in JSON) or binary (in MessagePack)");
}

/** How {@link encodeWireGraph} writes bytes: base64 text for JSON, raw binary for MessagePack. */
export type WireBytes = "base64" | "binary";

/**
 * Turns a task graph into the wire format: what `Client.connect` sends. Throws a `TypeError` naming
 * the task and path of an argument the format cannot carry (a function, a class instance, a `Map`,
 * `undefined`, a bigint outside a typed array, a non-finite number), and a {@link GraphError}
 * `"invalid-key"` for a key that is not text (see `keyTextProblem`), which the wire would change.
 */
export function encodeWireGraph(graph: ReadonlyGraph, outputs: readonly Key[], bytes: WireBytes = "binary"): WireGraph {
  checkKeyText(outputs, "output");
  checkKeyText(graph.keys(), "task");
  const tasks: Record<string, WireTask> = {};
  for (const [key, spec] of graph) {
    const owner = `task "${key}": the argument at`;
    const task: { fn: string; args: unknown[]; retries?: number; priority?: number; timeoutMs?: number } = {
      fn: spec.fn,
      args: spec.args.map((arg, i) => encodeArg(arg, owner, `args[${i}]`, bytes)),
    };
    if (spec.retries !== undefined && spec.retries !== 0) task.retries = spec.retries;
    if (spec.priority !== undefined && spec.priority !== 0) task.priority = spec.priority;
    if (spec.timeoutMs !== undefined) task.timeoutMs = spec.timeoutMs;
    tasks[key] = task;
  }
  return { tasks, outputs: [...outputs] };
}

/**
 * One value in the argument format, as data sent under `key` (what `Client.connect`'s `scatter`
 * sends to `POST /v1/data`). Throws a `TypeError` naming the key and path of a part the format
 * cannot carry, and a {@link GraphError} `"invalid-key"` for a key that is not text, as {@link encodeWireGraph} does.
 *
 * @example
 * ```ts
 * encodeWireValue(new Float64Array([1]), "weights", "base64"); // { $typed: "float64", data: "AAAAAAAA8D8=" }
 * ```
 */
export function encodeWireValue(value: unknown, key: Key, bytes: WireBytes = "binary"): unknown {
  checkKeyText([key], "data");
  return encodeArg(value, `the data under "${key}": the value at`, "data", bytes);
}

function encodeArg(value: unknown, owner: string, path: string, bytes: WireBytes): unknown {
  const cannot = (what: string) => new TypeError(`${owner} ${path} is ${what}, which the HTTP graph format cannot carry`);
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value) || Object.is(value, -0)) throw cannot(String(Object.is(value, -0) ? "-0" : value));
    return value;
  }
  if (typeof value !== "object") throw cannot(typeof value === "undefined" ? "undefined" : `a ${typeof value}`);
  if (value instanceof Ref) return { $ref: value.key };
  if (value instanceof Call) return { $call: value.fn, args: value.args.map((arg, i) => encodeArg(arg, owner, `${path}.args[${i}]`, bytes)) };
  if (Array.isArray(value)) return value.map((item, i) => encodeArg(item, owner, `${path}[${i}]`, bytes));
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const name = typedArrayName(value as AnyTypedArray);
    if (name === undefined) throw cannot(`a ${value.constructor.name}`);
    const raw = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    const data = bytes === "base64" ? Buffer.from(raw).toString("base64") : raw;
    return name === "uint8" ? { $bytes: data } : { $typed: name, data };
  }
  if (isPlainObject(value)) {
    const names = Object.keys(value);
    const copy: Record<string, unknown> = {};
    for (const name of names) copy[name] = encodeArg(value[name], owner, `${path}.${name}`, bytes);
    // An object whose first key looks like a marker would be read as one: wrap it. Its values
    // are then taken as they are, so they must not need markers themselves.
    if (names.length > 0 && names[0].startsWith("$")) {
      if (JSON.stringify(copy) !== JSON.stringify(value)) throw cannot("an object with $ keys holding references or bytes");
      return { $literal: copy };
    }
    return copy;
  }
  throw cannot(`a ${(value as object).constructor?.name ?? "class instance"}`);
}

function typedArrayName(value: AnyTypedArray): TypedArrayName | undefined {
  if (Buffer.isBuffer(value)) return "uint8";
  for (const name of TYPED_ARRAY_NAMES) if (value.constructor === TYPED_ARRAYS[name]) return name;
  return undefined;
}
