import { Table, tableToIPC } from "apache-arrow";
import { Packr } from "msgpackr";
import { GraphError, type GraphErrorCode } from "../graph/graph-error.js";
import type { Key, ReadonlyGraph } from "../graph/task-spec.js";
import { encodeWireGraph, encodeWireValue, type WireGraph } from "../graph/wire-graph.js";
import { newJobId } from "../protocol/ids.js";
import type { JobEvent, JobOptions, JobPage, JobState, JobStatus, WorkerInfo } from "../protocol/job-api.js";
import { TaskError } from "../protocol/task-error.js";
import { unregisteredFunctionMessage } from "../protocol/unregistered-function.js";
import { NoWorkersError } from "../scheduler/no-workers-watch.js";
import { NO_TASKS } from "../scheduler/task-counts.js";
import type { Progress } from "./client-api.js";
import { readJobEvents } from "./job-event-stream.js";
import { DEFAULT_RECONNECT_TIMEOUT_MS, isConnectionFailure, Reconnection, SchedulerUnreachableError, wasRefused } from "./reconnect.js";

export { SchedulerUnreachableError };

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

const GRAPH_ERROR_CODES = new Set<string>(["cycle", "missing-dependency", "unknown-function", "conflicting-spec", "unserializable-argument", "invalid-graph", "invalid-key"]);

/** Plain MessagePack for request bodies: the HTTP graph format is JSON-shaped, binary strings aside. */
const packr = new Packr({ useRecords: false, variableMapSize: true });

/** How long a result request that waits waits on the server before asking again, in ms. */
const RESULT_POLL_MS = 60_000;

/**
 * Error codes of a 503 from a scheduler that will serve soon, having done nothing with the request:
 * it stands by or starts (a restart, a takeover), or Redis does not answer.
 */
const SERVES_SOON = new Set(["standby", "starting", "redis-unreachable"]);

/**
 * Which requests are sent again after a failure: `always` (reads, cancels, and submissions, which
 * carry their job's id: sent twice they make one job), `if-refused` (a scatter: only when nothing
 * reached the scheduler, or it refused with a 503 {@link SERVES_SOON}), `never`.
 */
type Resend = "always" | "if-refused" | "never";

/** Options of {@link HttpTransport}. */
export interface HttpTransportOptions {
  /**
   * How long a request keeps trying, in ms, while the scheduler cannot be reached (connection
   * refused or reset, or closed while a result is awaited: it crashed or restarts) or answers 503
   * because it stands by, starts, or has lost Redis; tries are spaced from 100 ms to 2 s. Then it
   * throws a {@link SchedulerUnreachableError} naming the URL and how long it tried (or the last 503
   * as an {@link HttpApiError}). A wait for a result asks again for the same job, which the
   * restarted scheduler picks up from the durable queue; a submission is sent again with the id it
   * chose (see `JobOptions.id`), so it makes one job; a scatter is sent again only when nothing
   * reached the scheduler. 0 tries once. Default {@link DEFAULT_RECONNECT_TIMEOUT_MS} (30,000).
   */
  readonly reconnectTimeoutMs?: number;
}

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
  private readonly reconnectTimeoutMs: number;

  constructor(url: string, token: string, options: HttpTransportOptions = {}) {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new TypeError(`the scheduler URL must be http(s)://, got "${url}"`);
    this.base = parsed.href.replace(/\/$/, "");
    this.authorization = `Bearer ${token}`;
    this.reconnectTimeoutMs = options.reconnectTimeoutMs ?? DEFAULT_RECONNECT_TIMEOUT_MS;
    if (!(this.reconnectTimeoutMs >= 0) || !Number.isFinite(this.reconnectTimeoutMs)) {
      throw new RangeError(`reconnectTimeoutMs must be a finite number of milliseconds >= 0, got ${options.reconnectTimeoutMs}`);
    }
  }

  /**
   * Submits a graph as a job; returns its id. `keep` holds the outputs after the job until {@link cancel}.
   * The job's id is chosen here (`options.id`, else a fresh one), so a submission whose reply was
   * lost is sent again without making a second job.
   */
  async submit(graph: ReadonlyGraph, outputs: readonly Key[], options: JobOptions = {}): Promise<string> {
    const wire: WireGraph & { -readonly [K in keyof JobOptions]: JobOptions[K] } = encodeWireGraph(graph, outputs, "binary");
    wire.id = options.id ?? newJobId();
    if (options.keep === true) wire.keep = true;
    if (options.taskTimeoutMs !== undefined) wire.taskTimeoutMs = options.taskTimeoutMs;
    if (options.noWorkersTimeoutMs !== undefined) wire.noWorkersTimeoutMs = options.noWorkersTimeoutMs;
    if (options.clientGoneMs !== undefined) wire.clientGoneMs = options.clientGoneMs;
    const body = packr.pack(wire);
    return this.call("POST", "/v1/jobs", { body, contentType: "application/msgpack", resend: "always" }, async (reply) => ((await reply.json()) as { id: string }).id);
  }

  /**
   * Submits a graph document in the HTTP graph format as it is (JSON text, or MessagePack bytes); returns
   * the job's id. What `weft submit` sends.
   */
  async submitDocument(document: string | Uint8Array): Promise<string> {
    const contentType = typeof document === "string" ? "application/json" : "application/msgpack";
    // The document may not name its job: sent again only when nothing reached the scheduler.
    return this.call("POST", "/v1/jobs", { body: document, contentType, resend: "if-refused" }, async (reply) => ((await reply.json()) as { id: string }).id);
  }

  /**
   * A job's result as the API's JSON text (an object of the outputs' values by key). Waits for the job
   * to end unless `wait` is false; then undefined while it runs. Throws its failure.
   */
  async resultJson(jobId: string, wait = true): Promise<string | undefined> {
    const reconnection = this.reconnection();
    for (;;) {
      const query = wait ? `?wait=${RESULT_POLL_MS}&format=json` : "?format=json";
      const text = await this.call("GET", `/v1/jobs/${encodeURIComponent(jobId)}/result${query}`, { reconnection }, async (reply) =>
        reply.status === 200 ? reply.text() : (await reply.arrayBuffer(), undefined),
      );
      if (text !== undefined || !wait) return text;
    }
  }

  /**
   * The outputs' values of a job, in `outputs` order, once it ends; throws its failure. The wait
   * rides out a restart of the scheduler (see {@link HttpTransportOptions.reconnectTimeoutMs}): it
   * asks again for the same job, which the next scheduler picks up from the durable queue.
   */
  async result(jobId: string, outputs: readonly Key[]): Promise<unknown[]> {
    const reconnection = this.reconnection();
    for (;;) {
      const path = `/v1/jobs/${encodeURIComponent(jobId)}/result?wait=${RESULT_POLL_MS}`;
      const bytes = await this.call("GET", path, { accept: "application/msgpack", reconnection }, async (reply) =>
        reply.status === 202 ? (await reply.arrayBuffer(), undefined) : new Uint8Array(await reply.arrayBuffer()),
      );
      if (bytes === undefined) continue;
      // The codec (and Arrow with it) loads with the first result: the CLI's commands never need it.
      const { decodeValue } = await import("../graph/codec.js");
      const byKey = decodeValue(bytes) as Record<string, unknown>;
      return outputs.map((key) => byKey[key]);
    }
  }

  /** A job's status. */
  async status(jobId: string): Promise<JobStatus> {
    return this.call("GET", `/v1/jobs/${encodeURIComponent(jobId)}`, {}, async (reply) => (await reply.json()) as JobStatus);
  }

  /** Cancels a job, or releases the results a finished `keep` job holds. False when there was nothing to do. */
  async cancel(jobId: string): Promise<boolean> {
    try {
      await this.call("DELETE", `/v1/jobs/${encodeURIComponent(jobId)}`, {}, (reply) => reply.arrayBuffer());
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
    try {
      // A second upload would make a second hold: sent again only when nothing reached the scheduler.
      return await this.call("POST", path, { body, contentType, resend: "if-refused" }, async (reply) => ((await reply.json()) as { id: string }).id);
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
  }

  /** Releases the data a {@link scatter} hold keeps. False when the scheduler knows no such hold. */
  async releaseData(id: string): Promise<boolean> {
    try {
      await this.call("DELETE", `/v1/data/${encodeURIComponent(id)}`, {}, (reply) => reply.arrayBuffer());
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
    return this.call("GET", `/v1/jobs${search}`, {}, async (reply) => (await reply.json()) as JobPage);
  }

  /** The workers. */
  async workers(): Promise<WorkerInfo[]> {
    return this.call("GET", "/v1/workers", {}, async (reply) => ((await reply.json()) as { workers: WorkerInfo[] }).workers);
  }

  /**
   * A job's events (Server-Sent Events), until `done`; with `progressOnly`, its `progress` events
   * and `done` alone (`?events=progress`: nothing per task). A stream that breaks off before `done`
   * (the scheduler crashed or restarts) is opened again within `reconnectTimeoutMs`: the next
   * scheduler's stream starts with the job's progress as it sees it, and events in between are not
   * sent again. Past that time, it throws a {@link SchedulerUnreachableError}.
   */
  async *events(jobId: string, signal?: AbortSignal, progressOnly = false): AsyncGenerator<JobEvent> {
    const query = progressOnly ? "?events=progress" : "";
    const reconnection = this.reconnection(signal);
    for (;;) {
      const reply = await this.request("GET", `/v1/jobs/${encodeURIComponent(jobId)}/events${query}`, { accept: "text/event-stream", signal, reconnection });
      let broke: unknown = new Error("the event stream ended before the job did");
      try {
        for await (const event of readJobEvents(reply.body as unknown as AsyncIterable<Uint8Array>)) {
          reconnection.answered();
          yield event;
          if (event.type === "done") return;
        }
      } catch (error) {
        if (signal?.aborted === true || !isConnectionFailure(error)) throw error;
        broke = error;
      }
      await reconnection.pause(broke);
    }
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

  /** The time one logical request may spend reaching the scheduler again (see {@link HttpTransportOptions.reconnectTimeoutMs}). */
  private reconnection(signal?: AbortSignal): Reconnection {
    return new Reconnection(this.base, this.reconnectTimeoutMs, signal);
  }

  /**
   * A request and the reading of its reply by `read`, tried again as {@link request} does, and also
   * when the reply breaks off while `read` reads it, for a request sent again `always`.
   */
  private async call<T>(method: string, path: string, options: RequestOptions, read: (reply: Response) => Promise<T>): Promise<T> {
    const reconnection = options.reconnection ?? this.reconnection(options.signal);
    const resend = options.resend ?? (method === "POST" ? "if-refused" : "always");
    for (;;) {
      const reply = await this.request(method, path, { ...options, reconnection, resend });
      try {
        return await read(reply);
      } catch (error) {
        if (resend !== "always" || options.signal?.aborted === true || !isConnectionFailure(error)) throw error;
        await reconnection.pause(error);
      }
    }
  }

  /**
   * One request, tried again (see {@link HttpTransportOptions.reconnectTimeoutMs}) while the
   * scheduler cannot be reached or answers 503 because it will serve soon, as `resend` allows
   * (default: `always` for GET and DELETE, `if-refused` for POST). Error replies are thrown as
   * errors (see `errorOf`).
   */
  private async request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { authorization: this.authorization };
    if (options.contentType !== undefined) headers["content-type"] = options.contentType;
    if (options.accept !== undefined) headers.accept = options.accept;
    const reconnection = options.reconnection ?? this.reconnection(options.signal);
    const resend = options.resend ?? (method === "POST" ? "if-refused" : "always");
    for (;;) {
      let reply: Response;
      try {
        reply = await fetch(`${this.base}${path}`, { method, headers, body: options.body, signal: options.signal });
      } catch (error) {
        if (options.signal?.aborted === true) throw error;
        // Not sent again: nothing says what became of it (it may have been carried out).
        if (resend === "never" || (resend === "if-refused" && !wasRefused(error))) throw reconnection.giveUp(error);
        await reconnection.pause(error);
        continue;
      }
      if (reply.status < 400) {
        reconnection.answered();
        return reply;
      }
      const error = await errorOf(reply);
      // A standby, a scheduler starting, or one without Redis did nothing with the request: it is sent
      // again. Unless Redis did not answer in time: a submission without its own id may still be recorded.
      if (reply.status !== 503 || resend === "never" || !(error instanceof HttpApiError) || !SERVES_SOON.has(error.code)) throw error;
      if (resend !== "always" && error.details.timedOut === true) throw error;
      await reconnection.pause(error);
    }
  }
}

/** Options of one request. */
interface RequestOptions {
  readonly body?: Uint8Array | string;
  readonly contentType?: string;
  readonly accept?: string;
  readonly signal?: AbortSignal;
  /** Which failures the request is sent again after; see {@link Resend}. */
  readonly resend?: Resend;
  /** The logical request's time for reconnecting, shared by its requests (a wait's polls, a stream's reopenings). */
  readonly reconnection?: Reconnection;
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
