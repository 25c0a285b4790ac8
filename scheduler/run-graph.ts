import type { Key, ReadonlyGraph } from "../graph/task-spec.js";
import { TaskError } from "../protocol/task-error.js";
import type { ClientId } from "../protocol/ids.js";
import type { PreparedSubmission, SubmitOptions } from "./prepare-submission.js";
import type { SchedulerShell } from "./scheduler-shell.js";

/**
 * Runs a graph (or a submission the scheduler already prepared from one, see
 * `SchedulerShell.prepare`) on a scheduler for `client` and resolves with the outputs' values, in `outputs` order;
 * rejects with a `TaskError` (key and original stack) or a `GraphError`. The outputs are released
 * once the values are in hand (or on failure), unless `keep` is set: then the scheduler holds them
 * for `client` until released (what `persist` does). With `settlesResults`, the caller must hand the
 * values back with `scheduler.settleResults` once done with them (on failure, runGraph does).
 */
export function runGraph(
  scheduler: SchedulerShell,
  graph: ReadonlyGraph | PreparedSubmission,
  outputs: readonly Key[],
  client: ClientId,
  options?: SubmitOptions & {
    readonly keep?: boolean;
    /** See `SubmissionHandlers.settlesResults`. Default false. */
    readonly settlesResults?: boolean;
    /** See `SubmissionHandlers.wantsValues`: false resolves with undefined for each output, once held. Default true. */
    readonly wantsValues?: boolean;
    /** Called with the keys of the tasks submitted, once the graph is accepted (for progress reports). */
    readonly onSubmitted?: (keys: readonly Key[]) => void;
  },
): Promise<unknown[]> {
  const wanted = new Set(outputs).size;
  const results = new Map<Key, unknown>();
  if (wanted === 0) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const finish = (failed = false) => {
      if (failed || options?.keep !== true) scheduler.release(client, outputs);
      scheduler.dropClient(client);
    };
    const submission = isPrepared(graph) ? graph : scheduler.prepare(graph, outputs, client, options);
    const submitted = scheduler.submit(
      submission,
      {
        onResult: (key, value) => {
          if (results.has(key)) return;
          results.set(key, value);
          if (results.size === wanted) {
            finish();
            resolve(outputs.map((k) => results.get(k)));
          }
        },
        onError: (key, failure) => {
          finish(true);
          if (options?.settlesResults === true) scheduler.settleResults([...results.values()], undefined);
          reject(new TaskError(key, failure));
        },
        onRejected: (error) => {
          scheduler.dropClient(client);
          reject(error);
        },
        settlesResults: options?.settlesResults === true,
        wantsValues: options?.wantsValues !== false,
      },
    );
    options?.onSubmitted?.(submitted);
  });
}

function isPrepared(graph: ReadonlyGraph | PreparedSubmission): graph is PreparedSubmission {
  return (graph as PreparedSubmission).type === "graph-submitted";
}
