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
 * Reads `application/msgpack` bodies into the same plain values a JSON body gives, so one schema
 * validates both. As safe as fastify's JSON parser set to refuse poisoning: a map key `__proto__`,
 * or `constructor` holding a `prototype`, is refused (400 `prototype-poisoning`), as are values JSON
 * has no counterpart for (extension types, timestamps); binary strings become `Uint8Array`s.
 */
export function installMsgpackParser(app: FastifyInstance): void {
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
        throw new ApiError(400, "prototype-poisoning", `the body was refused: ${path} has a forbidden prototype property "${key}"`, { path });
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
