import type { FastifyInstance } from "fastify";
import { isUtf8 } from "node:buffer";
import { Unpackr } from "msgpackr";
import { ApiError } from "./api-error.js";
import { scanMsgpack } from "./msgpack-scan.js";

/** Content types read as MessagePack. */
export const MSGPACK_TYPES = ["application/msgpack", "application/x-msgpack", "application/vnd.msgpack"] as const;

/**
 * How deep arrays and objects (MessagePack maps) may nest in a request body, counting the body
 * itself as level 1: 256. A graph's arguments sit 4 levels down (body, `tasks`, the task, `args`).
 * Deep enough for long dataframe expression trees; far short of the thousands of levels at which a
 * recursive walk of the body (decoding arguments, building the graph, encoding it for Redis) would
 * overflow the stack and fail the request with a 500.
 */
export const MAX_BODY_DEPTH = 256;

/** Charsets a JSON body may declare: JSON is UTF-8 on the wire (RFC 8259). */
const JSON_CHARSETS = new Set(["utf-8", "utf8"]);

/**
 * Maps come back as `Map`s, so that this file, not the decoder, builds the objects and decides
 * which keys are allowed; no records (a msgpackr extension), so the body is plain MessagePack.
 */
const unpackr = new Unpackr({ mapsAsObjects: false, useRecords: false });

/**
 * Reads JSON and MessagePack bodies into the same plain values, so one schema validates both, and
 * refuses, with a 4xx naming what is wrong:
 * - prototype poisoning in both, 400 `prototype-poisoning` naming the path: an object key
 *   `__proto__`, or `constructor` holding a `prototype` (the checks of fastify's
 *   `onProtoPoisoning`/`onConstructorPoisoning: "error"`, whose error replies do not say which it was);
 * - nesting deeper than {@link MAX_BODY_DEPTH}, 400 `too-deep`, found before anything recurses;
 * - a JSON body declaring a charset other than UTF-8, 415 `unsupported-charset` (it is never read
 *   as UTF-8), and bytes that are not UTF-8, in JSON text or in a MessagePack string, 400;
 * - invalid JSON, 400 `invalid-json` with the parser's message; invalid MessagePack, 400 `invalid-msgpack`.
 */
export function installBodyParsers(app: FastifyInstance): void {
  // Only these two: fastify's default text/plain parser would let any text reach the schema.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body, done) => {
    try {
      done(null, readJsonBody(request.headers["content-type"], body as Buffer));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  installMsgpackParser(app);
}

/** A JSON body's value, checked as {@link installBodyParsers} says. */
function readJsonBody(contentType: string | undefined, body: Buffer): unknown {
  const charset = charsetOf(contentType);
  if (charset !== undefined && !JSON_CHARSETS.has(charset)) {
    throw new ApiError(415, "unsupported-charset", `the body is declared as charset=${charset}; JSON bodies are read as utf-8 only: send UTF-8 (charset=utf-8, or no charset)`, {
      charset,
      accepted: ["utf-8"],
    });
  }
  // Decoding would replace bad bytes with U+FFFD, silently changing keys and strings.
  if (!isUtf8(body)) throw new ApiError(400, "invalid-json", "the body is not valid JSON: its bytes are not UTF-8", {});
  let parsed: unknown;
  try {
    // V8's JSON.parse is iterative: deep nesting cannot overflow it, and the walk below comes next.
    parsed = JSON.parse(body.toString("utf8"));
  } catch (error) {
    throw new ApiError(400, "invalid-json", `the body is not valid JSON: ${(error as Error).message}`);
  }
  checkJsonValue(parsed);
  return parsed;
}

/** The `charset` parameter of a content type, lower-cased and unquoted; undefined when there is none. */
function charsetOf(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*("?)([^";\s]*)\1/i.exec(contentType ?? "");
  return match === null ? undefined : match[2].toLowerCase();
}

/** A container met while walking a parsed body: its depth, and how it was reached, for messages. */
interface Visit {
  readonly value: object;
  readonly depth: number;
  readonly parent: Visit | undefined;
  readonly step: string | number;
}

/**
 * Throws on nesting deeper than {@link MAX_BODY_DEPTH}, and on a `__proto__` key or a `constructor`
 * key holding a `prototype`, anywhere in `value`. `JSON.parse` makes such keys own properties,
 * harmless in themselves, but code that later copies or merges the object would set a prototype;
 * they are refused outright. Iterative, in document order, so the first problem is the one reported.
 */
function checkJsonValue(value: unknown): void {
  if (value === null || typeof value !== "object") return;
  const pending: Visit[] = [{ value, depth: 1, parent: undefined, step: "" }];
  for (let visit = pending.pop(); visit !== undefined; visit = pending.pop()) {
    if (visit.depth > MAX_BODY_DEPTH) throw tooDeep(pathOf(visit));
    const depth = visit.depth + 1;
    if (Array.isArray(visit.value)) {
      const items: unknown[] = visit.value;
      for (let i = items.length - 1; i >= 0; i--) {
        const item = items[i];
        if (item !== null && typeof item === "object") pending.push({ value: item, depth, parent: visit, step: i });
      }
      continue;
    }
    const object = visit.value as Record<string, unknown>;
    const keys = Object.keys(object);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i];
      const item = object[key];
      const isObject = item !== null && typeof item === "object";
      if (key === "__proto__" || (key === "constructor" && isObject && Object.hasOwn(item, "prototype"))) throw poisoned(pathOf(visit), key);
      if (isObject) pending.push({ value: item, depth, parent: visit, step: key });
    }
  }
}

/** `body.tasks.a.args[0]` for a visit. */
function pathOf(visit: Visit): string {
  const steps: string[] = [];
  for (let at: Visit | undefined = visit; at?.parent !== undefined; at = at.parent) {
    steps.push(typeof at.step === "number" ? `[${at.step}]` : `.${at.step}`);
  }
  return `body${steps.reverse().join("")}`;
}

function tooDeep(where: string): ApiError {
  // A path hundreds of levels long says nothing more than its start.
  const shown = where.length > 120 ? `${where.slice(0, 120)}...` : where;
  return new ApiError(
    400,
    "too-deep",
    `the body is nested more than ${MAX_BODY_DEPTH} levels deep (arrays and objects inside each other), at ${shown}; ` +
      "send the value flatter, or as bytes ($bytes) for the task to decode",
    { maxDepth: MAX_BODY_DEPTH, path: where },
  );
}

function poisoned(path: string, key: string): ApiError {
  return new ApiError(400, "prototype-poisoning", `the body was refused: ${path} has a forbidden prototype property "${key}"`, { path, key });
}

/**
 * Reads `application/msgpack` bodies: the bytes are scanned first for nesting and for strings that
 * are not UTF-8 (msgpackr decodes recursively, and would replace bad bytes); maps are built into
 * objects here, never by the decoder, with the same poisoning checks as JSON; values JSON has no
 * counterpart for (extension types, timestamps) are refused; binary strings become `Uint8Array`s.
 */
function installMsgpackParser(app: FastifyInstance): void {
  app.addContentTypeParser([...MSGPACK_TYPES], { parseAs: "buffer" }, (_request, body, done) => {
    const bytes = body as Buffer;
    const problem = scanMsgpack(bytes, MAX_BODY_DEPTH);
    if (problem?.kind === "too-deep") {
      done(tooDeep(`byte ${problem.offset}`), undefined);
      return;
    }
    if (problem?.kind === "not-utf8") {
      const message =
        `the body is not valid MessagePack: the string at byte ${problem.offset} (${JSON.stringify(problem.text)}, bad bytes shown as U+FFFD) ` +
        "is not UTF-8, as MessagePack strings must be; a JavaScript string with a lone UTF-16 surrogate encodes so: use whole characters";
      done(new ApiError(400, "invalid-msgpack", message, { offset: problem.offset, text: problem.text }), undefined);
      return;
    }
    let decoded: unknown;
    try {
      decoded = unpackr.unpack(bytes);
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

/**
 * Copies a decoded value into plain objects and arrays, refusing poisoning keys and foreign types.
 * Recursive: only for values no deeper than {@link MAX_BODY_DEPTH}, as scanned bodies are.
 */
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
