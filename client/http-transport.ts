import { Table, tableToIPC } from "apache-arrow";
import { Packr } from "msgpackr";
import { GraphError, type GraphErrorCode } from "../graph/graph-error.js";
import type { Key, ReadonlyGraph } from "../graph/task-spec.js";
import { encodeWireGraph, encodeWireValue, type WireGraph } from "../graph/wire-graph.js";
import type { JobEvent, JobOptions, JobPage, JobState, JobStatus, WorkerInfo } from "../protocol/job-api.js";
import { TaskError } from "../protocol/task-error.js";
import { unregisteredFunctionMessage } from "../protocol/unregistered-function.js";
import { NoWorkersError } from "../scheduler/no-workers-watch.js";
import { NO_TASKS } from "../scheduler/task-counts.js";
import type { Progress } from "./client-api.js";
import { readJobEvents } from "./job-event-stream.js";

/**
 * An error reply of the HTTP API: its status, code, message and details. A reply that stands for a
 * graph or task error is thrown as that `GraphError` or `TaskError`, with the `HttpApiError` as its
 * `cause`; so is a job that failed for want of workers, as a `NoWorkersError`.
 *
 * @example
 * ```ts
 * try { await Client.connect(url, { token: "wrong" }); } catch (e) {
 *   if (e instanceof HttpApiError && e.status === 401) console.error("bad token");
 * }
 * ```
 */
export class HttpApiError extends Error {
  override readonly name = "HttpApiError";
  constructor(
    readonly status: number,
    /** The reply's `error` code, such as `unauthorized` or `rate-limited`. */
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(`${message} (HTTP ${status} ${code})`);
  }
}

/**
 * The scheduler's HTTP API could not be reached at all: nothing listens there, the host name does not
 * resolve, the connection timed out or broke. The message names the URL and the network error's code,
 * such as `cannot reach the weft scheduler at http://127.0.0.1:8786: ECONNREFUSED`.
 *
 * @example
 * ```ts
 * await Client.connect("http://127.0.0.1:9", { token }).catch((e) => e instanceof SchedulerUnreachableError && e.reason); // "ECONNREFUSED"
 * ```
 */
export class SchedulerUnreachableError extends Error {
  override readonly name = "SchedulerUnreachableError";
  /**
   * Why: the network error's code (`ECONNREFUSED`, `ENOTFOUND`, `ECONNRESET`, …), `timeout` when
   * connecting timed out, or the error's message when it has no code.
   */
  readonly reason: string;

  constructor(
    /** The API's base URL. */
    readonly url: string,
    cause: unknown,
  ) {
    const reason = networkReason(cause);
    super(`cannot reach the weft scheduler at ${url}: ${reason}`, { cause });
    this.reason = reason;
  }
}

/** Connect timeouts, as Node's sockets and undici (behind `fetch`) name them. */
const TIMEOUT_CODES = new Set(["ETIMEDOUT", "UND_ERR_CONNECT_TIMEOUT"]);

/**
 * The code of the network error behind a failed `fetch` ("fetch failed" says nothing): undici puts
 * the socket's error in `cause`, an `AggregateError` when several addresses were tried.
 */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause ?? error;
  const first = cause instanceof AggregateError ? (cause.errors[0] as unknown) : undefined;
  const code = (cause as { code?: unknown }).code ?? (first as { code?: unknown } | undefined)?.code;
  if (typeof code === "string" && code !== "") return TIMEOUT_CODES.has(code) ? "timeout" : code;
  return (cause as Error).message ?? String(cause);
}

const GRAPH_ERROR_CODES = new Set<string>(["cycle", "missing-dependency", "unknown-function", "conflicting-spec", "unserializable-argument", "invalid-graph", "invalid-key"]);

/** Plain MessagePack for request bodies: the HTTP graph format is JSON-shaped, binary strings aside. */
const packr = new Packr({ useRecords: false, variableMapSize: true });

/** How long a result request that waits waits on the server before asking again, in ms. */
const RESULT_POLL_MS = 60_000;

/**
 * The HTTP API as calls: submit a graph, wait for its result, read status, cancel, follow events,
 * list jobs and workers. Graphs go as MessagePack in the HTTP graph format; results come back in weft's
 * MessagePack codec, so typed arrays arrive as typed arrays. Errors come back as `GraphError`,
 * `TaskError` (with the remote stack and key), {@link HttpApiError} or
 * {@link SchedulerUnreachableError}. `Client.connect` and the `weft` API commands both speak through it.
 *
 * @example
 * ```ts
 * const transport = new HttpTransport("http://127.0.0.1:8786", token);
 * const job = await transport.submit(graph, ["total"]);
 * const [total] = await transport.result(job, ["total"]);
 * ```
 */
export class HttpTransport {
  private readonly base: string;
  private readonly authorization: string;

  constructor(url: string, token: string) {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new TypeError(`the scheduler URL must be http(s)://, got "${url}"`);
    this.base = parsed.href.replace(/\/$/, "");
    this.authorization = `Bearer ${token}`;
  }

  /** Submits a graph as a job; returns its id. `keep` holds the outputs after the job until {@link cancel}. */
  async submit(graph: ReadonlyGraph, outputs: readonly Key[], options: JobOptions = {}): Promise<string> {
    const wire: WireGraph & { -readonly [K in keyof JobOptions]: JobOptions[K] } = encodeWireGraph(graph, outputs, "binary");
    if (options.keep === true) wire.keep = true;
    if (options.taskTimeoutMs !== undefined) wire.taskTimeoutMs = options.taskTimeoutMs;
    if (options.noWorkersTimeoutMs !== undefined) wire.noWorkersTimeoutMs = options.noWorkersTimeoutMs;
    const body = packr.pack(wire);
    const reply = await this.request("POST", "/v1/jobs", { body, contentType: "application/msgpack" });
    return ((await reply.json()) as { id: string }).id;
  }

  /**
   * Submits a graph document in the HTTP graph format as it is (JSON text, or MessagePack bytes); returns
   * the job's id. What `weft submit` sends.
   */
  async submitDocument(document: string | Uint8Array): Promise<string> {
    const contentType = typeof document === "string" ? "application/json" : "application/msgpack";
    const reply = await this.request("POST", "/v1/jobs", { body: document, contentType });
    return ((await reply.json()) as { id: string }).id;
  }

  /**
   * A job's result as the API's JSON text (an object of the outputs' values by key). Waits for the job
   * to end unless `wait` is false; then undefined while it runs. Throws its failure.
   */
  async resultJson(jobId: string, wait = true): Promise<string | undefined> {
    for (;;) {
      const query = wait ? `?wait=${RESULT_POLL_MS}&format=json` : "?format=json";
      const reply = await this.request("GET", `/v1/jobs/${encodeURIComponent(jobId)}/result${query}`);
      if (reply.status === 200) return reply.text();
      await reply.arrayBuffer();
      if (!wait) return undefined;
    }
  }

  /** The outputs' values of a job, in `outputs` order, once it ends; throws its failure. */
  async result(jobId: string, outputs: readonly Key[]): Promise<unknown[]> {
    for (;;) {
      const reply = await this.request("GET", `/v1/jobs/${encodeURIComponent(jobId)}/result?wait=${RESULT_POLL_MS}`, { accept: "application/msgpack" });
      if (reply.status === 202) {
        await reply.arrayBuffer();
        continue;
      }
      // The codec (and Arrow with it) loads with the first result: the CLI's commands never need it.
      const { decodeValue } = await import("../graph/codec.js");
      const byKey = decodeValue(new Uint8Array(await reply.arrayBuffer())) as Record<string, unknown>;
      return outputs.map((key) => byKey[key]);
    }
  }

  /** A job's status. */
  async status(jobId: string): Promise<JobStatus> {
    return (await (await this.request("GET", `/v1/jobs/${encodeURIComponent(jobId)}`)).json()) as JobStatus;
  }

  /** Cancels a job, or releases the results a finished `keep` job holds. False when there was nothing to do. */
  async cancel(jobId: string): Promise<boolean> {
    try {
      await (await this.request("DELETE", `/v1/jobs/${encodeURIComponent(jobId)}`)).arrayBuffer();
      return true;
    } catch (error) {
      if (error instanceof HttpApiError && (error.status === 409 || error.status === 404)) return false;
      throw error;
    }
  }

  /**
   * Scatters `value` under `key` (`POST /v1/data`): an Arrow table as its IPC stream, anything else
   * in the argument encoding. Resolves with the id of the hold keeping it, once a worker holds it.
   * A value over the scheduler's upload limit is refused with an {@link HttpApiError} (413) saying so.
   */
  async scatter(key: Key, value: unknown): Promise<string> {
    const table = value instanceof Table;
    const body = table ? tableToIPC(value, "stream") : packr.pack({ data: Object.fromEntries([[key, encodeWireValue(value, key, "binary")]]) });
    const path = table ? `/v1/data?key=${encodeURIComponent(key)}` : "/v1/data";
    const contentType = table ? "application/vnd.apache.arrow.stream" : "application/msgpack";
    let reply: Response;
    try {
      reply = await this.request("POST", path, { body, contentType });
    } catch (error) {
      if (!(error instanceof HttpApiError && error.status === 413)) throw error;
      throw new HttpApiError(
        413,
        error.code,
        `the data under "${key}" is ${body.byteLength} bytes, more than the scheduler takes in one upload (its --data-limit); ` +
          `split it into more partitions or blocks`,
        { ...error.details, key, bytes: body.byteLength },
      );
    }
    return ((await reply.json()) as { id: string }).id;
  }

  /** Releases the data a {@link scatter} hold keeps. False when the scheduler knows no such hold. */
  async releaseData(id: string): Promise<boolean> {
    try {
      await (await this.request("DELETE", `/v1/data/${encodeURIComponent(id)}`)).arrayBuffer();
      return true;
    } catch (error) {
      if (error instanceof HttpApiError && error.status === 404) return false;
      throw error;
    }
  }

  /**
   * A page of jobs, newest first (`GET /v1/jobs`): those in `state` (default: every state), at most
   * `limit` (default 50, at most 500), after the job `cursor` names (a previous page's `next`).
   */
  async jobs(query: { readonly state?: readonly JobState[]; readonly limit?: number; readonly cursor?: string } = {}): Promise<JobPage> {
    const params = new URLSearchParams();
    for (const state of query.state ?? []) params.append("state", state);
    if (query.limit !== undefined) params.set("limit", String(query.limit));
    if (query.cursor !== undefined) params.set("cursor", query.cursor);
    const search = params.size === 0 ? "" : `?${params}`;
    return (await (await this.request("GET", `/v1/jobs${search}`)).json()) as JobPage;
  }

  /** The workers. */
  async workers(): Promise<WorkerInfo[]> {
    return ((await (await this.request("GET", "/v1/workers")).json()) as { workers: WorkerInfo[] }).workers;
  }

  /**
   * A job's events (Server-Sent Events), until `done`; with `progressOnly`, its `progress` events
   * and `done` alone (`?events=progress`: nothing per task).
   */
  async *events(jobId: string, signal?: AbortSignal, progressOnly = false): AsyncGenerator<JobEvent> {
    const query = progressOnly ? "?events=progress" : "";
    const reply = await this.request("GET", `/v1/jobs/${encodeURIComponent(jobId)}/events${query}`, { accept: "text/event-stream", signal });
    yield* readJobEvents(reply.body as unknown as AsyncIterable<Uint8Array>);
  }

  /**
   * A job's progress, from its events: a report as its tasks end, `running`, then a last one that
   * says how it ended (with its failure), and no more.
   */
  async *progress(jobId: string, signal?: AbortSignal): AsyncGenerator<Progress> {
    let tasks = NO_TASKS;
    for await (const event of this.events(jobId, signal, true)) {
      if (event.type === "progress") {
        tasks = event.tasks;
        yield { job: jobId, tasks, state: "running" };
      } else if (event.type === "done") {
        // The job's last progress event, just before `done`, has its final counts.
        yield { job: jobId, tasks, state: event.state, ...(event.error === undefined ? {} : { error: event.error }) };
        return;
      }
    }
  }

  private async request(
    method: string,
    path: string,
    options: { body?: Uint8Array | string; contentType?: string; accept?: string; signal?: AbortSignal } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { authorization: this.authorization };
    if (options.contentType !== undefined) headers["content-type"] = options.contentType;
    if (options.accept !== undefined) headers.accept = options.accept;
    let reply: Response;
    try {
      reply = await fetch(`${this.base}${path}`, { method, headers, body: options.body, signal: options.signal });
    } catch (error) {
      if (options.signal?.aborted === true) throw error;
      throw new SchedulerUnreachableError(this.base, error);
    }
    if (reply.status >= 400) throw await errorOf(reply);
    return reply;
  }
}

/** The error an error reply stands for. */
async function errorOf(reply: Response): Promise<Error> {
  let body: { error?: string; message?: string; details?: Record<string, unknown> } = {};
  try {
    body = (await reply.json()) as typeof body;
  } catch {
    // Not JSON: reported with the status alone.
  }
  const code = body.error ?? "http-error";
  const message = body.message ?? `HTTP ${reply.status}`;
  const details = body.details ?? {};
  const http = new HttpApiError(reply.status, code, message, details);
  let error: Error = http;
  if (code === "task-failed" && typeof details.key === "string" && typeof details.task === "object" && details.task !== null) {
    error = new TaskError(details.key, details.task as ConstructorParameters<typeof TaskError>[1]);
  } else if (code === "no-workers" && reply.status === 409) {
    // A job that waited past its noWorkersTimeoutMs: the error a computation on a scheduler in this process throws.
    error = new NoWorkersError(message);
  } else if ((reply.status === 400 || reply.status === 409) && GRAPH_ERROR_CODES.has(code)) {
    // A key reused for another computation is the graph's fault, as it is locally (409 on the wire).
    const keys = Array.isArray(details.keys) ? (details.keys as Key[]) : [];
    const fn = typeof details.function === "string" ? details.function : undefined;
    // This process may know the module registering an unknown function, which the scheduler does not.
    const said = code === "unknown-function" && fn !== undefined && keys.length > 0 ? unregisteredFunctionMessage(keys[0], fn) : message;
    error = new GraphError(code as GraphErrorCode, said, keys, fn);
  }
  if (error !== http) Object.defineProperty(error, "cause", { value: http, configurable: true, writable: true });
  return error;
}
