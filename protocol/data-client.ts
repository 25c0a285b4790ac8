import { Agent, request } from "node:http";
import type { Key } from "../graph/task-spec.js";
import { keyringOf, signDataRequest, type DataKeyring } from "./data-auth.js";
import { decodeFrames, type DecodedFrame } from "./data-frames.js";

/** Options of {@link DataClient}. */
export interface DataClientOptions {
  /**
   * The cluster's data token, or a keyring whose current token signs each request. Required. The
   * token itself is never sent: a request carries a MAC bound to the address it goes to (see
   * `protocol/data-auth.ts`), useless to whoever receives it there if that is not the real peer.
   */
  readonly token: string | DataKeyring;
  /** Give up on a peer after this many milliseconds. Default 30,000. */
  readonly timeoutMs?: number;
}

/** A peer could not be reached or answered badly; the keys asked for should be reported missing. */
export class PeerUnavailableError extends Error {
  override readonly name = "PeerUnavailableError";

  constructor(
    readonly address: string,
    message: string,
  ) {
    super(`peer ${address}: ${message}`);
  }
}

/**
 * Fetches results from peers' data servers, several keys per request, over kept-alive connections.
 *
 * @example
 * ```ts
 * const client = new DataClient({ token: keys });
 * const [x] = await client.fetch("http://10.0.0.2:41234", ["x-1f3a…"]);
 * if (x.found) use(x.value);
 * ```
 */
export class DataClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 8 });
  private readonly keyring: DataKeyring;

  constructor(private readonly options: DataClientOptions) {
    this.keyring = keyringOf(options.token);
  }

  /** The frames for `keys`, in order; a key the peer does not hold comes back `found: false`. */
  fetch(address: string, keys: readonly Key[]): Promise<DecodedFrame[]> {
    const body = JSON.stringify({ keys });
    return new Promise((resolve, reject) => {
      const req = request(
        `${address}/fetch`,
        {
          method: "POST",
          agent: this.agent,
          timeout: this.options.timeoutMs ?? 30_000,
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            authorization: signDataRequest(this.keyring.current(), address),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", (error) => reject(new PeerUnavailableError(address, error.message)));
          response.on("end", () => {
            const bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
            if (response.statusCode !== 200) {
              reject(new PeerUnavailableError(address, `HTTP ${response.statusCode}: ${bytes.toString("utf8").slice(0, 200)}`));
              return;
            }
            try {
              resolve(decodeFrames(bytes, keys.length));
            } catch (error) {
              reject(new PeerUnavailableError(address, (error as Error).message));
            }
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${this.options.timeoutMs ?? 30_000} ms`)));
      req.on("error", (error) => reject(new PeerUnavailableError(address, error.message)));
      req.end(body);
    });
  }

  /** Closes kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}
