import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from "fastify";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { ErrorBody } from "./api-error.js";

/**
 * The replies fastify and Node make themselves, before any route or error handler runs, in the API's
 * `{error, message, details}` shape like every other error: a URL the router cannot read (400
 * `bad-url`) or whose parameter is too long (414 `uri-too-long`), a request that is not HTTP (400
 * `bad-request`), headers too large (431 `headers-too-large`), a request too slow to arrive (408
 * `request-timeout`), an unknown route (404 `not-found`) and a method a route does not have (405
 * `method-not-allowed`, with `Allow`).
 */

/** Fastify's `frameworkErrors` option: errors of the router, replied to as {@link ErrorBody}s. */
export function frameworkErrorReply(maxParamLength: number) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    const path = request.raw.url?.split("?")[0] ?? "";
    let status = 500;
    let body: ErrorBody = { error: "internal-error", message: "the scheduler failed to route the request; see its log", details: {} };
    if (error.code === "FST_ERR_MAX_PARAM_LENGTH") {
      status = 414;
      body = {
        error: "uri-too-long",
        message: `a part of the path is longer than ${maxParamLength} characters; ids and keys in paths are shorter`,
        details: { maxParamLength },
      };
    } else if (error.code === "FST_ERR_BAD_URL") {
      status = 400;
      body = { error: "bad-url", message: `the path ${JSON.stringify(path.slice(0, 200))} is not valid percent-encoding; encode it with encodeURIComponent`, details: {} };
    }
    void reply.code(status).type("application/json").send(body);
  };
}

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refuses before there is a request to reply
 * to, written on the socket as an {@link ErrorBody}, which is then closed (as Node does).
 */
export function clientErrorReply(error: Error & { code?: string }, socket: Duplex): void {
  // A connection reset has no one left to tell.
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  let status = 400;
  let body: ErrorBody = { error: "bad-request", message: `the request is not HTTP that the scheduler can read: ${error.message}`, details: { reason: error.code ?? "" } };
  if (error.code === "HPE_HEADER_OVERFLOW") {
    status = 431;
    body = { error: "headers-too-large", message: "the request line and headers are larger than the scheduler reads (16 KiB); send less in them", details: {} };
  } else if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") {
    status = 408;
    body = { error: "request-timeout", message: "the request did not arrive in time", details: {} };
  }
  if (socket.writable) {
    const text = JSON.stringify(body);
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy(error);
}

/**
 * Replies 404 `not-found` to a path no route has, and 405 `method-not-allowed` with `Allow` to a
 * path that routes have under other methods. Call before the routes are added: it learns them as
 * they are.
 */
export function installNotFoundReplies(app: FastifyInstance): void {
  const routes: { readonly pattern: RegExp; readonly methods: readonly string[] }[] = [];
  app.addHook("onRoute", (route: RouteOptions) => {
    routes.push({ pattern: patternOf(route.url), methods: [route.method].flat() });
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?")[0];
    const allowed = new Set(routes.filter((route) => route.pattern.test(path)).flatMap((route) => route.methods));
    if (allowed.size > 0) {
      const allow = [...allowed].sort().join(", ");
      void reply
        .code(405)
        .header("allow", allow)
        .send({ error: "method-not-allowed", message: `${path} takes ${allow}, not ${request.method}`, details: { allow: [...allowed].sort() } });
      return;
    }
    void reply.code(404).send({ error: "not-found", message: `no route ${request.method} ${path}`, details: {} });
  });
}

/** A route's URL as a regular expression: `:name` matches one path segment, `*` the rest. */
function patternOf(url: string): RegExp {
  const parts = url.split("/").map((part) => {
    if (part.startsWith(":")) return "[^/]+";
    if (part === "*") return ".*";
    return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  });
  return new RegExp(`^${parts.join("/")}/?$`);
}
