import type { FastifyInstance } from "fastify";
import { ApiError } from "./api-error.js";
import { tokenChecker } from "./api-token.js";

/** Declares a route open to requests without a token (health, readiness, the API's description). */
export const PUBLIC_ROUTE = { public: true } as const;

declare module "fastify" {
  interface FastifyContextConfig {
    /** Open without a bearer token; see {@link PUBLIC_ROUTE}. */
    public?: boolean;
  }
}

/**
 * Requires `Authorization: Bearer <token>` on every route not marked {@link PUBLIC_ROUTE}, and on
 * unknown routes too (so that probing them tells nothing). The token is compared in constant time.
 * Runs first (`onRequest`), before a body is read.
 */
export function installBearerAuth(app: FastifyInstance, token: string, publicPrefixes: readonly string[] = []): void {
  const matches = tokenChecker(token);
  app.addHook("onRequest", async (request) => {
    if (request.routeOptions.config?.public === true) return;
    const path = request.url.split("?")[0];
    if (publicPrefixes.some((prefix) => path === prefix || path.startsWith(`${prefix}/`))) return;
    const header = request.headers.authorization;
    if (header === undefined) {
      throw new ApiError(401, "unauthorized", "this request needs an Authorization: Bearer <token> header", { scheme: "Bearer" });
    }
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (match === null || !matches(match[1])) {
      throw new ApiError(401, "unauthorized", "the bearer token is not valid", { scheme: "Bearer" });
    }
  });
}
