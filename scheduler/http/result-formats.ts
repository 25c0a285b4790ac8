import { Table, tableToIPC } from "apache-arrow";
import { encodeValue } from "../../graph/codec.js";
import { ApiError } from "./api-error.js";
import { stringifyWithin } from "./bounded-json.js";

/** Default {@link RenderLimits.maxJsonBytes}: 64 MiB. */
export const DEFAULT_JSON_RESULT_LIMIT = 64 * 1024 * 1024;

/** Limits on rendering a result. */
export interface RenderLimits {
  /**
   * Largest result sent as JSON, in bytes of JSON text; larger ones get 406 `result-too-large`
   * (MessagePack and Arrow carry them). JSON text is built whole before it is sent, and numbers take
   * two to three times their binary size as text. Default {@link DEFAULT_JSON_RESULT_LIMIT} (64 MiB).
   */
  readonly maxJsonBytes?: number;
}

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

/**
 * A result rendered in a format: the bytes or text to send, with its content type. Throws an
 * {@link ApiError} 406 for Arrow of a value that is not a table, and for JSON longer than
 * `limits.maxJsonBytes` (never building more of it than that).
 *
 * @example
 * ```ts
 * renderResult({ total: 6 }, "json"); // { contentType: "application/json", body: '{"total":6}' }
 * ```
 */
export function renderResult(value: unknown, format: ResultFormat, limits: RenderLimits = {}): { contentType: string; body: Buffer | string } {
  switch (format) {
    case "msgpack": {
      const bytes = encodeValue(value);
      return { contentType: RESULT_CONTENT_TYPES.msgpack, body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
    }
    case "json": {
      const maxJsonBytes = limits.maxJsonBytes ?? DEFAULT_JSON_RESULT_LIMIT;
      const text = stringifyWithin(value, maxJsonBytes);
      if (text === undefined) {
        throw new ApiError(
          406,
          "result-too-large",
          `the result is more than ${maxJsonBytes} bytes as JSON, the most the scheduler sends as JSON; ask for MessagePack ` +
            `(Accept: ${RESULT_CONTENT_TYPES.msgpack}, or ?format=msgpack), or Arrow IPC for a table (Accept: ${RESULT_CONTENT_TYPES.arrow})`,
          { maxJsonResultBytes: maxJsonBytes, accepted: [RESULT_CONTENT_TYPES.msgpack, RESULT_CONTENT_TYPES.arrow] },
        );
      }
      return { contentType: RESULT_CONTENT_TYPES.json, body: text };
    }
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
