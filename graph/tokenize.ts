/**
 * Deterministic tokens for values, from which task keys are made (`inc-<token>`): the same function
 * applied to equal arguments gets the same key, so a graph built twice merges and a result computed
 * once is reused.
 *
 * A value is written into a canonical string (type tag, then content; strings length-prefixed, so no
 * two different values write the same string) and that string is hashed once, with MurmurHash3
 * (x86, 128-bit) over its UTF-16 code units. The hash runs in JavaScript because a call into
 * node:crypto costs microseconds, which dominated tokenizing small arguments; tokens identify values,
 * they are not a security boundary. Typed arrays and buffers contribute a SHA-1 of their bytes
 * (native, one update over their memory) instead of their elements.
 *
 * Tokens are stable for a given weft version; every process of a cluster must run the same one.
 */
import { VIEW_CLASSES } from "./view-classes.js";
import { createHash } from "node:crypto";
import { Call, Ref } from "./task-spec.js";

/**
 * A short hex token (20 characters, 80 bits) that is equal for equal values and, with overwhelming
 * probability, different for different ones.
 *
 * Equality is deep and by content: plain objects regardless of key order; arrays in order; `Map`
 * and `Set` regardless of insertion order; typed arrays, `DataView` and `ArrayBuffer` by class and
 * bytes (a `Buffer` counts as a `Uint8Array`); `Date` by time; `RegExp` by source and flags;
 * {@link Ref} by key; {@link Call} by function name and arguments. Types are told apart: `1`, `"1"`
 * and `1n`; `[1]` and `{ 0: 1 }`; a `Float64Array` and a `Float32Array` with the same bytes; `-0`
 * and `0` (the wire codec keeps the sign, so they are different arguments). A value tokenizes the
 * same before and after a trip through the wire codec.
 *
 * @throws TypeError naming the path of the first part that cannot be tokenized: a function, a
 *   symbol, a class instance other than those above, or a circular reference.
 *
 * @example
 * ```ts
 * tokenize("inc", 5) === tokenize("inc", 5); // true
 * tokenize({ a: 1, b: 2 }) === tokenize({ b: 2, a: 1 }); // true
 * const key = `inc-${tokenize("inc", 5)}`; // "inc-3f1c…"
 * ```
 */
export function tokenize(...values: unknown[]): string {
  const state: State = { out: "", segments: [], onPath: undefined };
  writeArray(values, state);
  return murmur3x86_128(state.out);
}

/** How to reach a child from its container, kept raw so paths are only formatted on failure. */
type Segment = number | string | { readonly kind: "map-key" | "map-value" | "set-item"; readonly at: unknown };

interface State {
  out: string;
  /** The way from the arguments to the current value, for error messages. */
  readonly segments: Segment[];
  /** Containers being written; made on first need, as most calls tokenize only primitives. */
  onPath: Set<object> | undefined;
}

function write(value: unknown, state: State): void {
  switch (typeof value) {
    case "string":
      state.out += `s${value.length}:${value}`;
      return;
    case "number":
      // String() of a double is its shortest round-trip form, so distinct numbers stay distinct.
      state.out += value === 0 && 1 / value < 0 ? "n-0;" : `n${value};`;
      return;
    case "boolean":
      state.out += value ? "T" : "F";
      return;
    case "undefined":
      state.out += "U";
      return;
    case "bigint":
      state.out += `b${value};`;
      return;
    case "function":
      throw refuse(state, "is a function");
    case "symbol":
      throw refuse(state, "is a symbol");
  }
  if (value === null) {
    state.out += "N";
    return;
  }
  const object = value as object;
  const proto: unknown = Object.getPrototypeOf(object);
  if (proto === Array.prototype) {
    enter(object, state);
    writeArray(object as unknown[], state);
    leave(object, state);
  } else if (proto === Object.prototype || proto === null) {
    enter(object, state);
    writeObject(object as Record<string, unknown>, state);
    leave(object, state);
  } else if (ArrayBuffer.isView(object)) {
    writeBytes(viewClassName(object), new Uint8Array(object.buffer, object.byteOffset, object.byteLength), state);
  } else if (proto === Ref.prototype) {
    state.out += "r";
    write((object as Ref).key, state);
  } else if (proto === Call.prototype) {
    enter(object, state);
    state.out += "c";
    state.segments.push("fn");
    write((object as Call).fn, state);
    state.segments[state.segments.length - 1] = "args";
    write((object as Call).args, state);
    state.segments.pop();
    leave(object, state);
  } else if (proto === Map.prototype) {
    enter(object, state);
    writeMap(object as Map<unknown, unknown>, state);
    leave(object, state);
  } else if (proto === Set.prototype) {
    enter(object, state);
    writeSet(object as Set<unknown>, state);
    leave(object, state);
  } else if (proto === Date.prototype) {
    state.out += `D${(object as Date).getTime()};`;
  } else if (proto === RegExp.prototype) {
    state.out += "R";
    write((object as RegExp).source, state);
    write((object as RegExp).flags, state);
  } else if (proto === ArrayBuffer.prototype) {
    writeBytes("ArrayBuffer", new Uint8Array(object as ArrayBuffer), state);
  } else {
    const name = (proto as { constructor?: { name?: string } }).constructor?.name || "object";
    throw refuse(state, `is an instance of class ${name}`);
  }
}

function writeArray(array: readonly unknown[], state: State): void {
  state.out += `[${array.length};`;
  const segments = state.segments;
  segments.push(0);
  const last = segments.length - 1;
  for (let i = 0; i < array.length; i++) {
    segments[last] = i;
    write(array[i], state);
  }
  segments.pop();
  state.out += "]";
}

function writeObject(object: Record<string, unknown>, state: State): void {
  const keys = Object.keys(object).sort();
  state.out += `{${keys.length};`;
  const segments = state.segments;
  for (const key of keys) {
    state.out += `s${key.length}:${key}`;
    segments.push(key);
    write(object[key], state);
    segments.pop();
  }
  state.out += "}";
}

/** Entries are written apart and sorted, so insertion order does not change the token. */
function writeMap(map: Map<unknown, unknown>, state: State): void {
  const entries: string[] = [];
  let index = 0;
  for (const [key, item] of map) {
    state.segments.push({ kind: "map-key", at: index });
    const keyText = writeApart(key, state);
    state.segments[state.segments.length - 1] = { kind: "map-value", at: key };
    entries.push(keyText + writeApart(item, state));
    state.segments.pop();
    index++;
  }
  state.out += `M${entries.length};${entries.sort().join("")}}`;
}

function writeSet(set: Set<unknown>, state: State): void {
  const items: string[] = [];
  let index = 0;
  for (const item of set) {
    state.segments.push({ kind: "set-item", at: index++ });
    items.push(writeApart(item, state));
    state.segments.pop();
  }
  state.out += `S${items.length};${items.sort().join("")}}`;
}

/** The canonical text of `value` alone, for sorting. */
function writeApart(value: unknown, state: State): string {
  const outer = state.out;
  state.out = "";
  write(value, state);
  const text = state.out;
  state.out = outer;
  return text;
}

function writeBytes(className: string, bytes: Uint8Array, state: State): void {
  const digest = createHash("sha1").update(bytes).digest("hex");
  state.out += `t${className}:${bytes.byteLength}:${digest};`;
}


/** The built-in class a view belongs to; a subclass such as `Buffer` counts as its base class. */
function viewClassName(view: ArrayBufferView): string {
  for (let proto = Object.getPrototypeOf(view); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const ctor = (proto as { constructor: Function }).constructor;
    if ((VIEW_CLASSES as readonly unknown[]).includes(ctor)) return ctor.name;
  }
  // A view class newer than the list (e.g. Float16Array) is still told apart by its own name.
  return (view.constructor as Function).name;
}

function enter(container: object, state: State): void {
  state.onPath ??= new Set();
  if (state.onPath.has(container)) throw refuse(state, "is a circular reference");
  state.onPath.add(container);
}

function leave(container: object, state: State): void {
  state.onPath!.delete(container);
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function refuse(state: State, what: string): TypeError {
  // The first segment indexes the argument list of tokenize itself.
  let path = "values";
  for (const segment of state.segments) {
    if (typeof segment === "number") path += `[${segment}]`;
    else if (typeof segment === "string") path += IDENTIFIER.test(segment) ? `.${segment}` : `[${JSON.stringify(segment)}]`;
    else if (segment.kind === "map-value") path += `.get(${describeKey(segment.at)})`;
    else if (segment.kind === "map-key") path += `.keys()[${segment.at as number}]`;
    else path += `.values()[${segment.at as number}]`;
  }
  return new TypeError(`cannot tokenize ${path}: it ${what}`);
}

function describeKey(key: unknown): string {
  if (typeof key === "string") return JSON.stringify(key);
  if (typeof key === "bigint") return `${key}n`;
  if (key === null || typeof key !== "object") return String(key);
  return "<object key>";
}

// ---------------------------------------------------------------------------------------------
// MurmurHash3 x86 128-bit (Austin Appleby, public domain), reading two UTF-16 code units per 32-bit
// word instead of four bytes, so strings are hashed without encoding them first.

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** MurmurHash3's 32-bit finalizer: mixes every input bit into every output bit. */
export function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

// Building the token with one fromCharCode call makes one flat string; converting each word with
// toString(16) or concatenating per-byte pieces was a large share of tokenizing a small value.
const HEX_CODE = Array.from("0123456789abcdef", (digit) => digit.charCodeAt(0));

function nibble(h: number, shift: number): number {
  return HEX_CODE[(h >>> shift) & 15];
}

/** The first 80 bits of the hash, as 20 hex characters. */
function murmur3x86_128(text: string): string {
  const n = text.length;
  let h1 = 0;
  let h2 = 0;
  let h3 = 0;
  let h4 = 0;
  const blockEnd = n - (n & 7);
  let i = 0;
  for (; i < blockEnd; i += 8) {
    let k1 = text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16);
    let k2 = text.charCodeAt(i + 2) | (text.charCodeAt(i + 3) << 16);
    let k3 = text.charCodeAt(i + 4) | (text.charCodeAt(i + 5) << 16);
    let k4 = text.charCodeAt(i + 6) | (text.charCodeAt(i + 7) << 16);
    k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2);
    h1 ^= k1;
    h1 = (Math.imul((rotl(h1, 19) + h2) | 0, 5) + 0x561ccd1b) | 0;
    k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3);
    h2 ^= k2;
    h2 = (Math.imul((rotl(h2, 17) + h3) | 0, 5) + 0x0bcaa747) | 0;
    k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4);
    h3 ^= k3;
    h3 = (Math.imul((rotl(h3, 15) + h4) | 0, 5) + 0x96cd1c35) | 0;
    k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1);
    h4 ^= k4;
    h4 = (Math.imul((rotl(h4, 13) + h1) | 0, 5) + 0x32ac3b17) | 0;
  }
  // Tail: the 0–7 code units left, zero-padded into words (past the end charCodeAt gives NaN, which
  // bitwise operators read as 0); the length folded in below keeps "a" and "a\0" apart.
  const t1 = text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16);
  const t2 = text.charCodeAt(i + 2) | (text.charCodeAt(i + 3) << 16);
  const t3 = text.charCodeAt(i + 4) | (text.charCodeAt(i + 5) << 16);
  const t4 = text.charCodeAt(i + 6) | (text.charCodeAt(i + 7) << 16);
  h4 ^= Math.imul(rotl(Math.imul(t4, C4), 18), C1);
  h3 ^= Math.imul(rotl(Math.imul(t3, C3), 17), C4);
  h2 ^= Math.imul(rotl(Math.imul(t2, C2), 16), C3);
  h1 ^= Math.imul(rotl(Math.imul(t1, C1), 15), C2);

  const bytes = n * 2;
  h1 ^= bytes;
  h2 ^= bytes;
  h3 ^= bytes;
  h4 ^= bytes;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  // prettier-ignore
  return String.fromCharCode(
    nibble(h1, 28), nibble(h1, 24), nibble(h1, 20), nibble(h1, 16), nibble(h1, 12), nibble(h1, 8), nibble(h1, 4), nibble(h1, 0),
    nibble(h2, 28), nibble(h2, 24), nibble(h2, 20), nibble(h2, 16), nibble(h2, 12), nibble(h2, 8), nibble(h2, 4), nibble(h2, 0),
    nibble(h3, 28), nibble(h3, 24), nibble(h3, 20), nibble(h3, 16),
  );
}
