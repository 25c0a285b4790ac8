import { Client, type Computed, type LocalClientOptions } from "./client.js";
import type { Persistable } from "./collection.js";

let options: LocalClientOptions = {};
let current: Promise<Client> | undefined;

/**
 * Sets up the client that the top-level `compute` and `persist` (and `Delayed#compute`) use, like
 * `dask.config.set(scheduler=...)`. The previous default client, if any, is closed. Default: a local
 * client with the `threads` executor, started on first use.
 *
 * @example
 * ```ts
 * configure({ executor: "sync" }); // debug: every task on the calling thread, one at a time
 * ```
 */
export async function configure(next: LocalClientOptions): Promise<void> {
  const previous = current;
  options = next;
  current = undefined;
  if (previous !== undefined) await (await previous).close();
}

/** The default client, started on first use. */
export function defaultClient(): Promise<Client> {
  current ??= Client.local(options);
  return current;
}

/** Computes values on the default client. See {@link Client.compute}. */
export async function compute<const T extends readonly unknown[]>(
  ...values: T
): Promise<{ -readonly [I in keyof T]: Computed<T[I]> }> {
  return (await defaultClient()).compute(...values);
}

/** Persists values on the default client. See {@link Client.persist}. */
export async function persist<const T extends readonly Persistable[]>(...values: T): Promise<T> {
  return (await defaultClient()).persist(...values);
}
