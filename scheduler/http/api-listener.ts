import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { FastifyServerFactory, FastifyServerFactoryHandler } from "fastify";

/**
 * The port is taken: another process listens there (on one host, a second scheduler needs its own
 * `--http-port`). The message names the address.
 *
 * @example
 * ```ts
 * try { await ApiListener.listen("127.0.0.1", 8786); }
 * catch (error) { if (error instanceof PortInUseError) console.error(error.message); }
 * ```
 */
export class PortInUseError extends Error {
  override readonly name = "PortInUseError";
  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super(
      `cannot serve the HTTP API on ${host}:${port}: another process listens on that port ` +
        `(another weft scheduler on this host? each needs its own --http-port)`,
    );
  }
}

/** An app's handle on an {@link ApiListener}: its server factory, and the switch that sends requests to it. */
export interface ListenerSlot {
  /** Give to `Fastify({ serverFactory })`: the app is built on the listener's server, without listening itself. */
  readonly serverFactory: FastifyServerFactory;
  /** From now on, new requests go to this slot's app. */
  activate(): void;
}

/** Fastify's own defaults for what it sets on the servers it makes (it sets nothing on a server it is given). */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;

/**
 * The HTTP API's socket, bound once for the life of the scheduler process, whose requests go to one
 * fastify app and then another: a standby's small API (health, and 503 for everything else) while
 * the scheduler waits for the scheduler role, then the full API once it holds it. So the port is
 * held from the start (a probe always finds the process, and a port conflict shows at once, not at
 * takeover) and never closed in between (no request refused at the switch: one in flight finishes
 * on the app that took it).
 *
 * @example
 * ```ts
 * const listener = await ApiListener.listen("127.0.0.1", 0);
 * const standby = listener.slot();
 * const app = Fastify({ serverFactory: standby.serverFactory });
 * await app.ready();
 * standby.activate();
 * console.log(listener.url); // http://127.0.0.1:41234
 * ```
 */
export class ApiListener {
  private handler: FastifyServerFactoryHandler | undefined;

  private constructor(
    private readonly server: Server,
    /** Base URL, such as `http://127.0.0.1:8786`. */
    readonly url: string,
  ) {}

  /**
   * Listens on `host:port` (0: a free port). Requests that come before any app is active get 503.
   *
   * @throws PortInUseError when another process listens there.
   */
  static async listen(host: string, port: number): Promise<ApiListener> {
    let active: ApiListener | undefined;
    const server = createServer((request: IncomingMessage, response: ServerResponse) => {
      const handler = active?.handler;
      if (handler !== undefined) return handler(request, response);
      response.writeHead(503, { "content-type": "application/json; charset=utf-8" });
      response.end(JSON.stringify({ error: "starting", message: "the scheduler is starting; retry in a moment", details: {} }));
    });
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    // No limit on receiving a request, as fastify sets it: long waits are responses, not requests.
    server.requestTimeout = 0;
    await new Promise<void>((resolve, reject) => {
      server.once("error", (error: NodeJS.ErrnoException) => reject(error.code === "EADDRINUSE" ? new PortInUseError(host, port) : error));
      server.listen({ host, port }, () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("the HTTP API did not get a TCP address");
    const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
    active = new ApiListener(server, `http://${shown}:${address.port}`);
    return active;
  }

  /** A place for one more app on this listener (see {@link ListenerSlot}). */
  slot(): ListenerSlot {
    let handler: FastifyServerFactoryHandler | undefined;
    return {
      serverFactory: (received) => {
        handler = received;
        return this.server;
      },
      activate: () => {
        if (handler === undefined) throw new Error("no app was built on this slot's serverFactory");
        this.handler = handler;
      },
    };
  }

  /** Stops listening and ends every connection, open event streams included. */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
