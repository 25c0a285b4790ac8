import { COLLECTION, type Collection, type CollectionProtocol } from "../collection.js";
import type { Key, ReadonlyGraph } from "../../graph/task-spec.js";

/**
 * A lazy single value computed from a dataframe (its length, a count of distinct values, the paths a
 * writer wrote): one key in a graph. `client.compute(scalar)` gives the value.
 *
 * @example
 * ```ts
 * const [rows] = await client.compute(df.length());
 * ```
 */
export class Scalar<T> implements Collection<T> {
  /** @internal */
  constructor(
    /** The key of the value. */
    readonly key: Key,
    /** @internal */
    readonly graph: ReadonlyGraph,
  ) {}

  get [COLLECTION](): CollectionProtocol<T> {
    return {
      graph: () => this.graph,
      keys: () => [this.key],
      finalize: (values) => values[0] as T,
      held: () => new Scalar<T>(this.key, new Map()),
    };
  }

  /** Computes the value on the default client (see `configure`). */
  async compute(): Promise<T> {
    const { compute } = await import("../default-client.js");
    const [value] = await compute(this);
    return value as T;
  }
}
