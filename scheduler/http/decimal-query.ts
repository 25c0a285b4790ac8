import type { FastifyInstance, FastifyRequest, preValidationHookHandler, RouteOptions } from "fastify";
import { ApiError } from "./api-error.js";

/** An integer property of a querystring schema. */
interface IntegerParameter {
  readonly name: string;
  readonly minimum?: number;
  readonly maximum?: number;
}

/**
 * Makes every integer query parameter (`?wait=`, `?limit=`) a whole number in decimal digits
 * within its schema's bounds, or a 400 `invalid-querystring` that names the parameter, the value and
 * the bounds. Ajv's type coercion alone takes whatever `Number()` does: `Infinity`, `0x10`, `1e3`,
 * ` 5`. Installed before the routes, so it reaches every route that declares such a parameter.
 *
 * @example
 * ```ts
 * installDecimalQuery(app); // then: GET /v1/jobs/j/result?wait=0x10 → 400 "wait must be ... from 0 to 300000"
 * ```
 */
export function installDecimalQuery(app: FastifyInstance): void {
  app.addHook("onRoute", (route: RouteOptions) => {
    const parameters = integerParameters(route.schema?.querystring);
    if (parameters.length === 0) return;
    const check: preValidationHookHandler = (request, _reply, done) => done(firstBadParameter(request, parameters));
    const existing = route.preValidation;
    route.preValidation = existing === undefined ? [check] : [check, ...(Array.isArray(existing) ? existing : [existing])];
  });
}

function integerParameters(schema: unknown): IntegerParameter[] {
  const properties = (schema as { properties?: Record<string, { type?: unknown; minimum?: number; maximum?: number }> } | undefined)?.properties;
  if (properties === undefined) return [];
  return Object.entries(properties)
    .filter(([, property]) => property.type === "integer")
    .map(([name, property]) => ({ name, minimum: property.minimum, maximum: property.maximum }));
}

function firstBadParameter(request: FastifyRequest, parameters: readonly IntegerParameter[]): ApiError | undefined {
  const query = request.query as Record<string, string | string[] | undefined>;
  for (const parameter of parameters) {
    const given = query[parameter.name];
    if (given === undefined) continue;
    // Repeating a parameter is for Ajv to refuse: only one value is ever taken.
    for (const text of Array.isArray(given) ? given : [given]) {
      const value = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
      const low = parameter.minimum ?? Number.NEGATIVE_INFINITY;
      const high = parameter.maximum ?? Number.POSITIVE_INFINITY;
      if (value >= low && value <= high) continue;
      const bounds = parameter.maximum === undefined ? `at least ${parameter.minimum ?? 0}` : `from ${parameter.minimum ?? 0} to ${parameter.maximum}`;
      const message = `querystring is invalid: ${parameter.name} must be a whole number ${bounds}, in decimal digits; got ${JSON.stringify(text)}`;
      return new ApiError(400, "invalid-querystring", message, {
        issues: [{ path: `/${parameter.name}`, message, params: { value: text, minimum: parameter.minimum, maximum: parameter.maximum } }],
      });
    }
  }
  return undefined;
}
