import { GraphError } from "../graph/graph-error.js";
import { checkKeyText } from "../graph/key-text.js";
import { optimizeGraph, type OptimizeOptions } from "../graph/optimize.js";
import type { GraphIndex } from "../graph/graph-index.js";
import { orderWithIndex } from "../graph/order.js";
import { sameSpec } from "../graph/merge.js";
import { isTimeoutMs, MAX_TIMEOUT_MS, type Key, type ReadonlyGraph, type TaskSpec } from "../graph/task-spec.js";
import { validateGraph } from "../graph/validate.js";
import type { GraphSubmitted } from "./core/events.js";
import type { ClientId } from "../protocol/ids.js";
import { LocalTask } from "./local-task.js";

/** Options of {@link prepareSubmission}. */
export interface SubmitOptions {
  /** Graph optimizations; all on by default. */
  readonly optimize?: OptimizeOptions;
  /**
   * The graph is exactly what the outputs need and well-formed by construction — built by
   * `collectGraph` from delayed values, whose functions were registered when the calls were built,
   * whose inputs always exist before what reads them, and whose keys match their tasks — so
   * validation and culling are skipped. Default `false`.
   */
  readonly collected?: boolean;
  /** The graph's dependency structure, when the caller has it (see `GraphIndex`); spares the ordering a map of every key. */
  readonly index?: GraphIndex;
  /**
   * Timeout of every task without one of its own, in ms (see `TaskOptions.timeoutMs`). A task the
   * scheduler already knows from another job keeps that job's. Default: none.
   */
  readonly taskTimeoutMs?: number;
}

/** How a shell checks a graph before it reaches the core. */
export interface SubmissionChecks {
  /** True for keys the scheduler already knows, which the graph may depend on without holding them. */
  readonly isKnown: (key: Key) => boolean;
  /** Whether the scheduler knows any key at all (when not, nothing needs pruning). */
  readonly knowsAny: boolean;
  /** The spec the scheduler knows a key by, if it knows the key. */
  readonly knownSpec: (key: Key) => TaskSpec | undefined;
  /** True for function names tasks may call. */
  readonly isKnownFunction: (name: string) => boolean;
  /** The message for a function `isKnownFunction` refuses (see `ValidateOptions.describeUnknownFunction`). Default: the plain one. */
  readonly describeUnknownFunction?: (key: Key, fn: string) => string;
  /** Arguments must survive the wire (the distributed scheduler ships them to other processes). */
  readonly serializable?: boolean;
}

/** A graph turned into the core's event, checked and ready to enqueue: see {@link prepareSubmission}. */
export type PreparedSubmission = GraphSubmitted & { readonly tasks: readonly LocalTask[] };

/**
 * Turns a graph into the core's `graph-submitted` event: validates it (throwing a `GraphError` that
 * names the bad key, with nothing submitted), optimizes it, orders it, and makes each task's
 * {@link LocalTask} record, which travels as its run spec. Shared by the local and the distributed
 * scheduler, which differ only in what happens after.
 */
export function prepareSubmission(
  graph: ReadonlyGraph,
  outputs: readonly Key[],
  client: ClientId,
  checks: SubmissionChecks,
  options: SubmitOptions = {},
): PreparedSubmission {
  // Tasks the scheduler already has (held from a persist, or running for another client) are taken
  // out, so that the graph reads their results instead of fusing their work into its own tasks and
  // computing it again.
  const given = checks.knowsAny ? withoutKnown(graph, checks.knownSpec) : graph;
  if (given !== graph) {
    graph = given;
    options = { ...options, index: undefined };
  }
  checkKeyText(outputs, "output");
  const isHeld = (key: Key) => !graph.has(key) && checks.isKnown(key);
  for (const key of outputs) {
    if (!graph.has(key) && !isHeld(key)) throw new GraphError("missing-dependency", `output "${key}" is not in the graph`, [key]);
  }
  const collected = options.collected === true;
  if (!collected || checks.serializable === true) {
    validateGraph(graph, {
      isKnownFunction: checks.isKnownFunction,
      describeUnknownFunction: checks.describeUnknownFunction,
      external: isHeld,
      serializable: checks.serializable,
    });
  } else {
    // Validation (which checks keys) is skipped for collected graphs, but a key set by hand may still not be text.
    checkKeyText(graph.keys(), "task");
  }
  // Held outputs have no task here: they are delivered as they are, and nothing in the graph needs them computed.
  const computed = outputs.filter((key) => graph.has(key));
  const optimized = optimizeGraph(graph, computed, collected ? { ...options.optimize, cull: false } : options.optimize);
  // The index describes the graph as given, so it serves only when optimization changed nothing.
  const givenIndex = optimized === graph ? options.index : undefined;
  const { positions, index } = orderWithIndex(optimized, computed, givenIndex);
  const tasks: LocalTask[] = [];
  let i = 0;
  const jobTimeoutMs = options.taskTimeoutMs;
  if (jobTimeoutMs !== undefined && !isTimeoutMs(jobTimeoutMs)) {
    throw new RangeError(`taskTimeoutMs must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}, got ${jobTimeoutMs}`);
  }
  for (const spec of optimized.values()) {
    const task = new LocalTask(spec, positions[i++]);
    task.jobTimeoutMs = jobTimeoutMs;
    tasks.push(task);
  }
  return { type: "graph-submitted", client, tasks, wanted: outputs, acyclic: true, links: index };
}

/**
 * The graph without the tasks the scheduler already knows; the graph itself when there are none. A
 * known key whose spec differs is refused: the graph would silently get the other computation's
 * result.
 */
function withoutKnown(graph: ReadonlyGraph, knownSpec: (key: Key) => TaskSpec | undefined): ReadonlyGraph {
  let pruned: Map<Key, TaskSpec> | undefined;
  for (const [key, spec] of graph) {
    const known = knownSpec(key);
    if (known === undefined) continue;
    if (known !== spec && !sameSpec(known, spec)) {
      throw new GraphError("conflicting-spec", `key "${key}" is already known with a different computation; use keys unique to a computation`, [key]);
    }
    pruned ??= new Map(graph);
    pruned.delete(key);
  }
  return pruned ?? graph;
}
