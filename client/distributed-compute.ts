import type { DistributedScheduler } from "../scheduler/distributed-scheduler.js";
import { runGraph } from "../scheduler/run-graph.js";
import { COLLECTION, collectComputation, type Persistable } from "./collection.js";
import { heldValue, isDelayed } from "./delayed.js";

let clientSeq = 0;

/**
 * Computes delayed values and collections on a {@link DistributedScheduler} in this process, as
 * `Client#compute` does locally: one submission, results in order, everything released once
 * delivered. (Remote programs go through the jobs queue or the HTTP API instead.)
 */
export async function computeDistributed(scheduler: DistributedScheduler, ...values: readonly unknown[]): Promise<unknown[]> {
  const computation = collectComputation(values);
  const { graph, index, outputs } = computation;
  // Graphs of delayed values alone are exact by construction; collections' graphs are validated and culled.
  const collected = index !== undefined;
  const outputValues = await runGraph(scheduler, graph, outputs, `direct-${process.pid}-${++clientSeq}`, { collected, index });
  return computation.results(outputValues);
}

/**
 * Computes delayed values and collections on a {@link DistributedScheduler} and keeps their results
 * on the workers for `client` until it releases them (`scheduler.release(client, keys)`); returns
 * values standing for the held results, as `Client#persist` does.
 */
export async function persistDistributed<const T extends readonly Persistable[]>(
  scheduler: DistributedScheduler,
  client: string,
  ...values: T
): Promise<T> {
  const computation = collectComputation(values);
  const { graph, index, outputs } = computation;
  await runGraph(scheduler, graph, outputs, client, { collected: index !== undefined, index, keep: true });
  return values.map((value) => (isDelayed(value) ? heldValue(value.key) : value[COLLECTION].held())) as unknown as T;
}
