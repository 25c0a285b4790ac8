import type { Key } from "../graph/task-spec.js";
import type { ClientId } from "../protocol/ids.js";
import { runGraph } from "./run-graph.js";
import type { SchedulerShell } from "./scheduler-shell.js";

/**
 * Places each value of `data` on the scheduler's workers under its key, held for `client` until it
 * releases the keys (`scheduler.release(client, keys)`, then `dropClient`); graphs read them as any
 * held result. Resolves once every value is held; nothing comes back. On a cluster the scheduler
 * keeps no copy once a worker holds a value (small ones aside, see `prepareScatter`), and a value
 * lost with its workers fails what reads it (`ScatteredDataLost`) instead of being made again.
 * Rejects with a `GraphError` for a key already known as a task's result or data that cannot go to
 * the workers.
 *
 * @example
 * ```ts
 * await scatter(scheduler, new Map([["prices", table]]), "data-1");
 * await runGraph(scheduler, graphReading("prices"), ["total"], "job-2");
 * ```
 */
export async function scatter(scheduler: SchedulerShell, data: ReadonlyMap<Key, unknown>, client: ClientId): Promise<void> {
  if (data.size === 0) return;
  await runGraph(scheduler, scheduler.prepareScatter(data, client), [...data.keys()], client, { keep: true, wantsValues: false });
}
