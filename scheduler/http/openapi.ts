import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import { PUBLIC_ROUTE } from "./bearer-auth.js";

/** Where the docs page is served. Open without a token, like the document itself. */
export const DOCS_PREFIX = "/v1/docs";

/**
 * The OpenAPI 3 document, generated from the routes' schemas, at `/v1/openapi.json`, and a docs page
 * (Swagger UI) at `/v1/docs`. Register before the routes, so that it sees them.
 */
export async function installOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "weft HTTP API",
        description:
          "Submit task graphs to a weft scheduler and fetch their results. Every route except health, readiness and this " +
          "description needs `Authorization: Bearer <token>`. The graph format is documented in docs/graph-format.md.",
        version,
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      security: [{ bearer: [] }],
      tags: [
        { name: "jobs", description: "Submitted graphs" },
        { name: "data", description: "Data placed on the workers for graphs to read" },
        { name: "workers", description: "The cluster's workers" },
        { name: "health", description: "Probes" },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX });
  app.get("/v1/openapi.json", { config: PUBLIC_ROUTE, schema: { hide: true } }, async () => app.swagger());
}
