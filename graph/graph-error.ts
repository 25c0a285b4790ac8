import type { Key } from "./task-spec.js";

/** What is wrong with a graph; stable strings that the HTTP API reports as `error`. */
export type GraphErrorCode =
  | "cycle"
  | "missing-dependency"
  | "unknown-function"
  | "conflicting-spec"
  | "unserializable-argument"
  | "invalid-graph"
  | "invalid-key";

/**
 * A graph that cannot run. The message names the offending key(s); `keys` lists them for programs.
 *
 * @example
 * ```ts
 * try { validateGraph(graph); } catch (e) { if (e instanceof GraphError && e.code === "cycle") console.log(e.keys); }
 * ```
 */
export class GraphError extends Error {
  override readonly name = "GraphError";

  constructor(
    readonly code: GraphErrorCode,
    message: string,
    /** The keys involved: the cycle in order, the task with the missing dependency, and so on. */
    readonly keys: readonly Key[],
    /** For `"unknown-function"`: the function's name. */
    readonly fn?: string,
  ) {
    super(message);
  }
}
