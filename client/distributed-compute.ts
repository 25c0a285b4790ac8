import type { DistributedScheduler } from "../scheduler/distributed-scheduler.js";
import { runGraph } from "../scheduler/run-graph.js";
import { collectIndexedGraph, type Delayed } from "./delayed.js";

let clientSeq = 0;

/**
 * Computes delayed values on a {@link DistributedScheduler} in this process, as `Client#compute` does
 * locally: one submission, results in order, everything released once delivered. (Remote programs
 * go through the jobs queue or the HTTP API instead.)
 */
export function computeDistributed(scheduler: DistributedScheduler, ...values: readonly Delayed[]): Promise<unknown[]> {
  const { graph, index } = collectIndexedGraph(values);
  const outputs = values.map((value) => value.key);
  return runGraph(scheduler, graph, outputs, `direct-${process.pid}-${++clientSeq}`, { collected: true, index });
}
