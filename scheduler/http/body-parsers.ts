import type { FastifyInstance } from "fastify";
import { Unpackr } from "msgpackr";
import { ApiError } from "./api-error.js";

/** Content types read as MessagePack. */
export const MSGPACK_TYPES = ["application/msgpack", "application/x-msgpack", "application/vnd.msgpack"] as const;

/**
 * Maps come back as `Map`s, so that this file, not the decoder, builds the objects and decides
 * which keys are allowed; no records (a msgpackr extension), so the body is plain MessagePack.
 */
const unpackr = new Unpackr({ mapsAsObjects: false, useRecords: false });

/**
 * Reads JSON and MessagePack bodies into the same plain values, so one schema validates both, and
 * refuses prototype poisoning in both with a 400 `prototype-poisoning` naming the path: an object
 * key `__proto__`, or `constructor` holding a `prototype` (the checks of fastify's
 * `onProtoPoisoning`/`onConstructorPoisoning: "error"`, whose error replies do not say which it was).
 * Invalid JSON is a 400 `invalid-json` with the parser's message.
 */
export function installBodyParsers(app: FastifyInstance): void {
  // Only these two: fastify's default text/plain parser would let any text reach the schema.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body as string);
    } catch (error) {
      done(new ApiError(400, "invalid-json", `the body is not valid JSON: ${(error as Error).message}`), undefined);
      return;
    }
    try {
      checkPoisoning(parsed, "body");
      done(null, parsed);
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  installMsgpackParser(app);
}

/**
 * Throws on a `__proto__` key or a `constructor` key holding a `prototype`, anywhere in `value`.
 * `JSON.parse` makes such keys own properties, harmless in themselves, but code that later copies
 * or merges the object would set a prototype; they are refused outright.
 */
function checkPoisoning(value: unknown, path: string): void {
  if (value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => checkPoisoning(item, `${path}[${i}]`));
    return;
  }
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object)) {
    const item = object[key];
    if (key === "__proto__" || (key === "constructor" && item !== null && typeof item === "object" && Object.hasOwn(item, "prototype"))) {
      throw poisoned(path, key);
    }
    checkPoisoning(item, `${path}.${key}`);
  }
}

function poisoned(path: string, key: string): ApiError {
  return new ApiError(400, "prototype-poisoning", `the body was refused: ${path} has a forbidden prototype property "${key}"`, { path, key });
}

/**
 * Reads `application/msgpack` bodies: maps are built into objects here, never by the decoder, with
 * the same poisoning checks as JSON; values JSON has no counterpart for (extension types, timestamps)
 * are refused; binary strings become `Uint8Array`s.
 */
function installMsgpackParser(app: FastifyInstance): void {
  app.addContentTypeParser([...MSGPACK_TYPES], { parseAs: "buffer" }, (_request, body, done) => {
    let decoded: unknown;
    try {
      decoded = unpackr.unpack(body as Buffer);
    } catch (error) {
      done(new ApiError(400, "invalid-msgpack", `the body is not valid MessagePack: ${(error as Error).message}`), undefined);
      return;
    }
    try {
      done(null, toPlain(decoded, "body"));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}

/** Copies a decoded value into plain objects and arrays, refusing poisoning keys and foreign types. */
export function toPlain(value: unknown, path: string): unknown {
  if (value === null || typeof value !== "object") {
    if (typeof value === "bigint") return value >= Number.MIN_SAFE_INTEGER && value <= Number.MAX_SAFE_INTEGER ? Number(value) : refuse(path, "an integer beyond 2^53");
    if (value === undefined) return null;
    return value;
  }
  if (value instanceof Uint8Array) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return value.map((item, i) => toPlain(item, `${path}[${i}]`));
  if (value instanceof Map) {
    const object: Record<string, unknown> = {};
    for (const [key, item] of value) {
      if (typeof key !== "string") refuse(path, `a map key of type ${typeof key}; keys must be strings`);
      if (key === "__proto__" || (key === "constructor" && item instanceof Map && item.has("prototype"))) {
        throw poisoned(path, key);
      }
      object[key] = toPlain(item, `${path}.${key}`);
    }
    return object;
  }
  return refuse(path, `a ${value.constructor?.name ?? "value"}, which has no JSON counterpart`);
}

function refuse(path: string, what: string): never {
  throw new ApiError(400, "invalid-msgpack", `${path} is ${what}`, { path });
}
