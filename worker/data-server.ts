import { networkInterfaces } from "node:os";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Key } from "../graph/task-spec.js";
import { DataRequestVerifier, keyringOf, type DataKeyring } from "../protocol/data-auth.js";
import { encodeFrame } from "../protocol/data-frames.js";
import type { ResultStore } from "./result-store.js";

/** Options of {@link DataServer.start}. */
export interface DataServerOptions {
  readonly store: ResultStore;
  /** Interface to listen on. Default `127.0.0.1`: peers on other hosts need it set explicitly. */
  readonly host?: string;
  /**
   * Host name or address peers use to reach this server, when it differs from `host`. Default:
   * `host`, except that a wildcard (`0.0.0.0`, `::`) is advertised as this machine's first external
   * IPv4 address (loopback when it has none), since a wildcard is no address to connect to.
   */
  readonly advertise?: string;
  /** Port. Default 0: any free port. */
  readonly port?: number;
  /**
   * The cluster's data token, or a keyring of the tokens accepted (see `protocol/data-auth.ts`).
   * Required: every request must prove it holds the token, without sending it.
   */
  readonly token: string | DataKeyring;
}

/** The address peers can connect to for a server listening on `host`. */
export function advertisedHost(host: string): string {
  if (host !== "0.0.0.0" && host !== "::") return host;
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === "IPv4" && !address.internal) return address.address;
  }
  return "127.0.0.1";
}

/** Most keys one request may ask for. */
const MAX_KEYS_PER_REQUEST = 10_000;
/** Largest request body (a JSON list of keys). */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/**
 * Serves a worker's results to its peers: the data plane. `POST /fetch` with a JSON body
 * `{"keys": [...]}` answers with one frame per key (see `data-frames.ts`), in order; typed arrays are
 * written from their own memory. Runs on the worker's main thread, which stays free while tasks run
 * in worker threads, so a busy worker still serves its data. A request must prove it holds the data
 * token for this server's address (`protocol/data-auth.ts`); others get 401 and nothing is read.
 *
 * @example
 * ```ts
 * const server = await DataServer.start({ store, token: keys });
 * // peers: new DataClient({ token: keys }).fetch(server.address, ["x"])
 * ```
 */
export class DataServer {
  private constructor(
    private readonly server: Server,
    /** `http://host:port`, for peers. */
    readonly address: string,
  ) {}

  static async start(options: DataServerOptions): Promise<DataServer> {
    const host = options.host ?? "127.0.0.1";
    const keyring = keyringOf(options.token);
    // Made once the port, and so the address requests are signed for, is known.
    let verifier: DataRequestVerifier | undefined;
    const server = createServer((request, response) => {
      handle(request, response, options.store, verifier!).catch((error: unknown) => {
        if (!response.headersSent) respond(response, 500, `data server error: ${(error as Error).message}`);
        else response.destroy();
      });
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const advertised = options.advertise ?? advertisedHost(host);
    const shownHost = advertised.includes(":") ? `[${advertised}]` : advertised;
    const address = `http://${shownHost}:${port}`;
    verifier = new DataRequestVerifier(keyring, address);
    return new DataServer(server, address);
  }

  /** Stops accepting requests and closes idle connections. */
  async close(): Promise<void> {
    this.server.closeIdleConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function handle(request: IncomingMessage, response: ServerResponse, store: ResultStore, verifier: DataRequestVerifier): Promise<void> {
  const refused = verifier.verify(request.headers.authorization);
  if (refused !== undefined) return respond(response, 401, refused);
  if (request.method !== "POST" || request.url !== "/fetch") return respond(response, 404, "POST /fetch is the only route");
  const keys = parseKeys(await readBody(request));
  if (typeof keys === "string") return respond(response, 400, keys);
  response.writeHead(200, { "content-type": "application/octet-stream", "x-weft-frames": String(keys.length) });
  response.cork();
  for (const key of keys) {
    const held = store.get(key);
    const [header, body] = encodeFrame(held?.value, held !== undefined);
    response.write(header);
    if (body.byteLength > 0) response.write(body);
  }
  response.uncork();
  response.end();
}

function parseKeys(body: string): Key[] | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return "the body is not JSON";
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || !keys.every((key) => typeof key === "string")) return 'the body must be {"keys": [string, ...]}';
  if (keys.length > MAX_KEYS_PER_REQUEST) return `at most ${MAX_KEYS_PER_REQUEST} keys per request, got ${keys.length}`;
  return keys as Key[];
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > MAX_REQUEST_BYTES) throw new Error(`request body over ${MAX_REQUEST_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function respond(response: ServerResponse, status: number, message: string): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify({ error: status === 401 ? "unauthorized" : status === 404 ? "not-found" : "bad-request", message }));
}
