/**
 * How peers prove to a worker's data server that they hold the cluster's data token, without sending
 * it. A request carries `Authorization: Weft-HMAC t=<ms>,n=<nonce>,m=<mac>`, where the MAC is
 * HMAC-SHA256 under the token of the address the request is sent to, the time and a fresh nonce. So:
 *
 * - the token never crosses the wire: a forged `replicate` message (or task message) that points a
 *   worker at an address of the forger's learns nothing it could use;
 * - a request is bound to the server it was made for: one captured at a wrong address is refused by
 *   every real worker, whose own address differs;
 * - a request is used once: the server remembers the nonces it accepted for {@link MAX_CLOCK_SKEW_MS}
 *   either side of its clock, and refuses requests older or newer than that (clocks of the cluster's
 *   hosts must agree within that, as NTP keeps them).
 *
 * The body is not covered: whoever can change a request on its way can read the answer anyway (the
 * data plane is plain HTTP; run it on a network you trust, see docs/security.md).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** The `Authorization` scheme of the data plane. */
export const DATA_AUTH_SCHEME = "Weft-HMAC";

/** How far a request's time may be from the server's clock, in ms: 60,000. */
export const MAX_CLOCK_SKEW_MS = 60_000;

/**
 * The data tokens a process knows: the current one, which it signs with, and those it still
 * accepts (the current one and the one before a change, so that requests in flight while the
 * cluster's token changes are not refused).
 */
export interface DataKeyring {
  current(): string;
  accepted(): readonly string[];
}

/**
 * A {@link DataKeyring} whose token can change (see `protocol/redis/data-token.ts`: after a wipe of
 * Redis the cluster may settle on a new one). It accepts the current token and the one before.
 *
 * @example
 * ```ts
 * const keys = new DataKeys(token);
 * keys.set(newToken); // requests signed with `token` are still accepted until the next change
 * ```
 */
export class DataKeys implements DataKeyring {
  private tokens: readonly string[];

  constructor(token: string) {
    checkToken(token);
    this.tokens = [token];
  }

  current(): string {
    return this.tokens[0];
  }

  accepted(): readonly string[] {
    return this.tokens;
  }

  /** Makes `token` the current one; the previous one stays accepted until the next change. */
  set(token: string): void {
    checkToken(token);
    if (token !== this.tokens[0]) this.tokens = [token, this.tokens[0]];
  }
}

/**
 * A keyring of one fixed token, or the keyring given.
 *
 * @example
 * ```ts
 * keyringOf(process.env.WEFT_DATA_TOKEN!).current();
 * ```
 */
export function keyringOf(token: string | DataKeyring): DataKeyring {
  return typeof token === "string" ? new DataKeys(token) : token;
}

function checkToken(token: string): void {
  if (typeof token !== "string" || token.length < 16) throw new RangeError("a data token must be a string of at least 16 characters");
}

function mac(token: string, address: string, time: string, nonce: string): Buffer {
  return createHmac("sha256", token).update(`weft-data-v1\n${address}\n${time}\n${nonce}`).digest();
}

/**
 * The `Authorization` header of a request to the data server at `address` (its advertised address,
 * such as `http://10.0.0.2:41234`).
 *
 * @example
 * ```ts
 * request(`${address}/fetch`, { headers: { authorization: signDataRequest(keys.current(), address) } });
 * ```
 */
export function signDataRequest(token: string, address: string, now = Date.now()): string {
  const time = String(now);
  const nonce = randomBytes(12).toString("base64url");
  return `${DATA_AUTH_SCHEME} t=${time},n=${nonce},m=${mac(token, address, time, nonce).toString("base64url")}`;
}

const HEADER = /^Weft-HMAC t=(\d{1,16}),n=([A-Za-z0-9_-]{16}),m=([A-Za-z0-9_-]{43})$/;

/**
 * Checks requests to the data server at `address` (see the module comment). One per server: it
 * remembers the nonces it accepted.
 *
 * @example
 * ```ts
 * const verifier = new DataRequestVerifier(keys, "http://10.0.0.2:41234");
 * const refused = verifier.verify(request.headers.authorization); // undefined, or why not
 * ```
 */
export class DataRequestVerifier {
  /** Nonces accepted, with the time after which their request would be refused as too old anyway. */
  private readonly seen = new Map<string, number>();
  private nextPrune = 0;

  constructor(
    private readonly keyring: DataKeyring,
    private readonly address: string,
  ) {}

  /** Undefined when the header proves the token; else why the request is refused. */
  verify(header: string | undefined, now = Date.now()): string | undefined {
    if (header === undefined) return `missing Authorization: ${DATA_AUTH_SCHEME} header (peers need the cluster's data token)`;
    const match = HEADER.exec(header);
    if (match === null) return `the Authorization header is not ${DATA_AUTH_SCHEME} t=…,n=…,m=…`;
    const [, time, nonce, given] = match;
    const skew = Number(time) - now;
    if (Math.abs(skew) > MAX_CLOCK_SKEW_MS) {
      return `the request's time is ${Math.round(skew / 1000)} s from this server's clock (at most ${MAX_CLOCK_SKEW_MS / 1000} s): synchronize the hosts' clocks`;
    }
    const givenMac = Buffer.from(given, "base64url");
    const valid = this.keyring.accepted().some((token) => {
      const expected = mac(token, this.address, time, nonce);
      return expected.length === givenMac.length && timingSafeEqual(expected, givenMac);
    });
    if (!valid) return `wrong data token, or a request made for another address than ${this.address}`;
    this.prune(now);
    if (this.seen.has(nonce)) return "this request was already used (a replay)";
    this.seen.set(nonce, Number(time) + MAX_CLOCK_SKEW_MS);
    return undefined;
  }

  /** Forgets nonces whose requests would now be refused by their time: at most once a second. */
  private prune(now: number): void {
    if (now < this.nextPrune) return;
    this.nextPrune = now + 1_000;
    for (const [nonce, expires] of this.seen) if (expires < now) this.seen.delete(nonce);
  }
}
