import { randomBytes } from "node:crypto";
import type { Key } from "../graph/task-spec.js";
import type { ClientId } from "../protocol/ids.js";
import { scatter } from "./scatter.js";
import type { SchedulerShell } from "./scheduler-shell.js";

/** Default {@link ScatteredDataOptions.timeoutMs}: one minute. */
export const DEFAULT_SCATTER_TIMEOUT_MS = 60_000;

/** Options of {@link ScatteredData}. */
export interface ScatteredDataOptions {
  /**
   * How long a scatter may wait for a worker to hold its data, in ms; past it the data is given up
   * and the scatter fails with {@link ScatterTimeoutError}. Default {@link DEFAULT_SCATTER_TIMEOUT_MS}.
   */
  readonly timeoutMs?: number;
}

/** A scatter found no worker to hold its data in time. */
export class ScatterTimeoutError extends Error {
  override readonly name = "ScatterTimeoutError";
}

/**
 * Data that clients of the HTTP API scattered (`POST /v1/data`), held on the workers under ids until
 * released (`DELETE /v1/data/{id}`). Holds are not durable: a scheduler that restarts forgets them,
 * and a client that never releases its hold keeps the data on the workers for as long as the
 * scheduler runs, as a finished `keep` job keeps its results.
 *
 * @example
 * ```ts
 * const id = await data.scatter(new Map([["prices", table]]));
 * // graphs now read {"$ref": "prices"}
 * data.release(id);
 * ```
 */
export class ScatteredData {
  private readonly holds = new Map<string, { readonly client: ClientId; readonly keys: readonly Key[] }>();
  private readonly timeoutMs: number;

  constructor(
    private readonly scheduler: SchedulerShell,
    options: ScatteredDataOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_SCATTER_TIMEOUT_MS;
  }

  /**
   * Places the values on workers under their keys and resolves with the id of the hold keeping them,
   * once every one is held. Rejects as `scatter` does, or with {@link ScatterTimeoutError}.
   */
  async scatter(data: ReadonlyMap<Key, unknown>): Promise<string> {
    const id = `data-${Date.now().toString(36)}-${randomBytes(6).toString("hex")}`;
    const client = `data:${id}`;
    const keys = [...data.keys()];
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.scheduler.release(client, keys);
        this.scheduler.dropClient(client);
        reject(new ScatterTimeoutError(`no worker held the data within ${this.timeoutMs} ms; it was given up (are workers running?)`));
      }, this.timeoutMs);
    });
    try {
      await Promise.race([scatter(this.scheduler, data, client), timedOut]);
    } finally {
      clearTimeout(timer);
    }
    this.holds.set(id, { client, keys });
    return id;
  }

  /** Releases a hold's data; false when no hold has this id. */
  release(id: string): boolean {
    const hold = this.holds.get(id);
    if (hold === undefined) return false;
    this.holds.delete(id);
    this.scheduler.release(hold.client, hold.keys);
    this.scheduler.dropClient(hold.client);
    return true;
  }
}
