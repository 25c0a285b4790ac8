import { tableFromIPC } from "apache-arrow";
import type { FastifyInstance } from "fastify";
import { checkKeyText } from "../../graph/key-text.js";
import type { Key } from "../../graph/task-spec.js";
import { decodeWireValue } from "../../graph/wire-graph.js";
import { ScatterTimeoutError, type ScatteredData } from "../scattered-data.js";
import { ApiError } from "./api-error.js";
import { MSGPACK_TYPES } from "./body-parsers.js";
import { needsRedis } from "./redis-gate.js";
import { RESULT_CONTENT_TYPES } from "./result-formats.js";
import { jobIdParamsSchema, keySchema } from "./schemas.js";

/** Limits on what one upload may hold. */
export interface DataLimits {
  /** Largest body of `POST /v1/data`, in bytes. */
  readonly bodyLimitBytes: number;
}

/** Most values one JSON or MessagePack upload may hold. */
export const MAX_VALUES_PER_UPLOAD = 10_000;

const ARROW_STREAM = RESULT_CONTENT_TYPES.arrow;

/** `POST /v1/data` body in JSON or MessagePack: values by key, in the graph format's argument encoding. */
const dataBodySchema = {
  type: "object",
  required: ["data"],
  additionalProperties: false,
  properties: {
    data: {
      type: "object",
      description:
        "Values by key, written as task arguments are (docs/graph-format.md): JSON values, $bytes, $typed and $literal; no $ref or $call",
      propertyNames: keySchema,
      minProperties: 1,
      maxProperties: MAX_VALUES_PER_UPLOAD,
    },
  },
} as const;

const dataQuerySchema = {
  type: "object",
  additionalProperties: false,
  properties: { key: { ...keySchema, description: "The key to hold an Arrow IPC body's table under (Arrow bodies only)" } },
} as const;

const dataReplySchema = {
  type: "object",
  required: ["id", "keys"],
  properties: {
    id: { type: "string", description: "The hold keeping the data: DELETE /v1/data/{id} releases it" },
    keys: { type: "array", items: { type: "string" } },
  },
} as const;

const errorReplies = { 400: { $ref: "ErrorBody#" }, 401: { $ref: "ErrorBody#" } };

/**
 * `/v1/data`: data for graphs to read (what `Client.connect`'s `scatter`, and collections built from
 * data in memory, send). `POST` places each value on a worker under its key and replies once all are
 * held (the scheduler keeps no copy of large values); graphs then read them with `{"$ref": key}`
 * until `DELETE /v1/data/{id}` releases the hold. A table goes as an Arrow IPC stream
 * (`?key=` names it); other values as JSON or MessagePack `{"data": {key: value}}`. Registered as a
 * plugin of its own, so that its body limit and the Arrow body type apply here and nowhere else.
 */
export async function dataRoutes(app: FastifyInstance, data: ScatteredData, hasWorkers: () => boolean, limits: DataLimits): Promise<void> {
  await app.register(async (scope) => {
    scope.addContentTypeParser(ARROW_STREAM, { parseAs: "buffer" }, (_request, body, done) => done(null, body));
    const objectBody = { schema: dataBodySchema };
    scope.post<{ Body: { data: Record<string, unknown> } | Buffer; Querystring: { key?: string } }>(
      "/v1/data",
      {
        bodyLimit: limits.bodyLimitBytes,
        config: needsRedis("the data was not placed"),
        schema: {
          summary: "Scatter data",
          description:
            "Places each value on a worker under its key, for graphs to read with {\"$ref\": key}, and replies 201 once all are " +
            "held. An Arrow IPC stream body is one table, held under ?key=; a JSON or MessagePack body holds values by key. " +
            "409 when a key is already a task's result; 503 when no worker has joined; 504 when no worker held the data in time.",
          tags: ["data"],
          querystring: dataQuerySchema,
          body: {
            content: {
              "application/json": objectBody,
              ...Object.fromEntries(MSGPACK_TYPES.map((type) => [type, objectBody])),
              // No type: the body is bytes, which a JSON schema cannot describe; `tableUnder` checks them.
              [ARROW_STREAM]: { schema: { description: "An Arrow IPC stream: one table" } },
            },
          },
          response: {
            201: dataReplySchema,
            ...errorReplies,
            409: { $ref: "ErrorBody#" },
            413: { $ref: "ErrorBody#" },
            415: { $ref: "ErrorBody#" },
            503: { $ref: "ErrorBody#" },
            504: { $ref: "ErrorBody#" },
          },
        },
      },
      async (request, reply) => {
        const values = Buffer.isBuffer(request.body) ? tableUnder(request.query.key, request.body) : valuesOf(request.body, request.query.key);
        if (!hasWorkers()) throw new ApiError(503, "no-workers", "no worker has joined to hold the data; start workers first", {});
        let id: string;
        try {
          id = await data.scatter(values);
        } catch (error) {
          if (error instanceof ScatterTimeoutError) throw new ApiError(504, "scatter-timeout", error.message, {});
          throw error;
        }
        void reply.header("location", `/v1/data/${id}`);
        return reply.code(201).send({ id, keys: [...values.keys()] });
      },
    );

    scope.delete<{ Params: { id: string } }>(
      "/v1/data/:id",
      {
        schema: {
          summary: "Release scattered data",
          description: "Releases the data a POST /v1/data hold keeps; graphs can no longer read it. 404 for an unknown hold.",
          tags: ["data"],
          params: jobIdParamsSchema,
          response: { ...errorReplies, 404: { $ref: "ErrorBody#" } },
        },
      },
      async (request) => {
        const { id } = request.params;
        if (!data.release(id)) throw new ApiError(404, "data-not-found", `no data hold "${id}" (never made, released already, or the scheduler restarted)`, { id });
        return { id, released: true };
      },
    );
  });
}

/** An Arrow IPC body as the one table it holds, under `key`. */
function tableUnder(key: string | undefined, body: Buffer): Map<Key, unknown> {
  if (key === undefined) throw new ApiError(400, "key-required", "an Arrow IPC body is one table: name its key with ?key=", {});
  checkKeyText([key], "data");
  try {
    return new Map([[key, tableFromIPC(body)]]);
  } catch (error) {
    throw new ApiError(400, "invalid-arrow", `the body is not an Arrow IPC stream: ${(error as Error).message}`, { key });
  }
}

/** A JSON or MessagePack body's values, decoded from the argument encoding. */
function valuesOf(body: { data: Record<string, unknown> }, key: string | undefined): Map<Key, unknown> {
  if (key !== undefined) throw new ApiError(400, "unexpected-key", "?key= names an Arrow IPC body's table; a JSON or MessagePack body names its keys in data", { key });
  const values = new Map<Key, unknown>();
  // A key that is not text would be held under another one on the worker: the upload would wait for nothing.
  checkKeyText(Object.keys(body.data), "data");
  for (const name of Object.keys(body.data)) values.set(name, decodeWireValue(body.data[name], name));
  return values;
}
