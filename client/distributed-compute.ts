import type { Key } from "../graph/task-spec.js";
import type { DistributedScheduler } from "../scheduler/distributed-scheduler.js";
import { collectIndexedGraph, type Delayed } from "./delayed.js";
import { TaskError } from "./task-error.js";

let clientSeq = 0;

/**
 * Computes delayed values on a {@link DistributedScheduler} in this process, as `Client#compute` does
 * locally: one submission, results in order, everything released once delivered. (Remote programs
 * go through the jobs queue or the HTTP API instead.)
 */
export function computeDistributed(scheduler: DistributedScheduler, ...values: readonly Delayed[]): Promise<unknown[]> {
  const client = `direct-${process.pid}-${++clientSeq}`;
  const { graph, index } = collectIndexedGraph(values);
  const outputs = values.map((value) => value.key);
  const wanted = new Set(outputs).size;
  const results = new Map<Key, unknown>();
  return new Promise((resolve, reject) => {
    const finish = () => {
      scheduler.release(client, outputs);
      scheduler.dropClient(client);
    };
    scheduler.submit(
      graph,
      outputs,
      client,
      {
        onResult: (key, value) => {
          results.set(key, value);
          if (results.size === wanted) {
            finish();
            resolve(outputs.map((k) => results.get(k)));
          }
        },
        onError: (key, failure) => {
          finish();
          reject(new TaskError(key, failure));
        },
        onRejected: (error) => {
          scheduler.dropClient(client);
          reject(error);
        },
      },
      { collected: true, index },
    );
  });
}
