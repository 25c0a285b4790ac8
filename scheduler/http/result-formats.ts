import { Table, tableToIPC } from "apache-arrow";
import { encodeValue } from "../../graph/codec.js";
import { ApiError } from "./api-error.js";

/** How a result is sent. */
export type ResultFormat = "msgpack" | "json" | "arrow";

/** Content types of the result formats. */
export const RESULT_CONTENT_TYPES: Readonly<Record<ResultFormat, string>> = {
  msgpack: "application/msgpack",
  json: "application/json",
  arrow: "application/vnd.apache.arrow.stream",
};

/**
 * The format asked for: `?format=` if given, else the first Accept type weft serves, else
 * MessagePack (the default: exact for typed arrays, see graph/codec.ts).
 */
export function chooseResultFormat(format: ResultFormat | undefined, accept: string | undefined): ResultFormat {
  if (format !== undefined) return format;
  for (const part of (accept ?? "").split(",")) {
    const type = part.split(";")[0].trim().toLowerCase();
    if (type === "application/json") return "json";
    if (type === "application/vnd.apache.arrow.stream" || type === "application/vnd.apache.arrow.file") return "arrow";
    if (type === "application/msgpack" || type === "application/x-msgpack" || type === "application/vnd.msgpack") return "msgpack";
  }
  return "msgpack";
}

/** A result rendered in a format: the bytes or text to send, with its content type. */
export function renderResult(value: unknown, format: ResultFormat): { contentType: string; body: Buffer | string } {
  switch (format) {
    case "msgpack": {
      const bytes = encodeValue(value);
      return { contentType: RESULT_CONTENT_TYPES.msgpack, body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
    }
    case "json":
      return { contentType: RESULT_CONTENT_TYPES.json, body: JSON.stringify(value, jsonReplacer) };
    case "arrow": {
      if (!(value instanceof Table)) {
        throw new ApiError(406, "not-a-table", "Arrow IPC is served for results that are Arrow tables; ask for msgpack or json", {
          accepted: [RESULT_CONTENT_TYPES.msgpack, RESULT_CONTENT_TYPES.json],
        });
      }
      const bytes = tableToIPC(value, "stream");
      return { contentType: RESULT_CONTENT_TYPES.arrow, body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
    }
  }
}

/**
 * JSON for values JSON has no type for: typed arrays become arrays, bigints strings (exact),
 * `Map`s objects, `Set`s arrays, `undefined` null, Arrow tables arrays of row objects.
 */
function jsonReplacer(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value === undefined) return null;
  if (value === null || typeof value !== "object") return value;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number | bigint>);
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  if (value instanceof Table) return value.toArray().map((row) => row?.toJSON());
  return value;
}
