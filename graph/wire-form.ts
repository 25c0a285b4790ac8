import { Table } from "apache-arrow";
import { Call, Ref, isPlainObject } from "./task-spec.js";
import { VIEW_CLASSES } from "./view-classes.js";

// The first half of the wire codec (see `codec.ts`): a value is walked once before packing. The walk
// refuses what cannot go on the wire, naming the path of the offending part, and swaps in the small
// wrapper objects below for the types msgpackr needs an extension for.

// ---------------------------------------------------------------------------------------------
// Wire wrappers: what the walk swaps in, so msgpackr sees a class it has an extension for.

/** A `Map`, flattened, because msgpackr writes a `Map` before consulting extensions. */
export class WireMap {
  constructor(readonly flat: unknown[]) {}
}

/** `-0`, because msgpackr writes integral numbers as MessagePack integers, which have no sign bit. */
export class NegativeZero {}
const NEGATIVE_ZERO = new NegativeZero();

/** Raw bytes of a typed array, `DataView` or `ArrayBuffer`, with the code of the class to rebuild. */
export class WireBytes {
  constructor(
    readonly classCode: number,
    readonly bytes: Uint8Array,
  ) {}
}

/** An Arrow table, as its IPC stream bytes. */
export class WireTable {
  constructor(readonly table: Table) {}
}

/** Class codes on the wire are positions in `VIEW_CLASSES`; `ArrayBuffer` is handled apart because it is not a view. */
export const DATA_VIEW_CODE = VIEW_CLASSES.indexOf(DataView);
export const ARRAY_BUFFER_CODE = VIEW_CLASSES.length;
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

// ---------------------------------------------------------------------------------------------
// The walk: checks a value and builds its wire form.

/** Refusal of a value by the walk; carries the description, path included. */
export class Unserializable extends Error {}

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

/** A value as messages quote it: strings in JSON quotes, everything else as `String` gives it. */
export function describeKey(key: unknown): string {
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
export function aTypeName(value: unknown): string {
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
export function wireOf(value: unknown, root: string): unknown {
  try {
    return toWire(value, { root, segments: [], ancestors: [], onPath: new Set(), trackFrom: TRACK_FROM });
  } catch (error) {
    if (error !== CYCLE_SUSPECTED) throw error;
    return toWire(value, { root, segments: [], ancestors: [], onPath: new Set(), trackFrom: 0 });
  }
}

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
