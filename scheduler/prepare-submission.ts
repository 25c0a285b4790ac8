import { GraphError } from "../graph/graph-error.js";
import { optimizeGraph, type OptimizeOptions } from "../graph/optimize.js";
import { orderWithIndex, type GraphIndex } from "../graph/order.js";
import type { Key, ReadonlyGraph } from "../graph/task-spec.js";
import { validateGraph } from "../graph/validate.js";
import type { ClientId, GraphSubmitted } from "./events.js";
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
}

/** How a shell checks a graph before it reaches the core. */
export interface SubmissionChecks {
  /** True for keys the scheduler already knows, which the graph may depend on without holding them. */
  readonly isKnown: (key: Key) => boolean;
  /** True for function names tasks may call. */
  readonly isKnownFunction: (name: string) => boolean;
  /** Arguments must survive the wire (the distributed scheduler ships them to other processes). */
  readonly serializable?: boolean;
}

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
): GraphSubmitted & { readonly tasks: readonly LocalTask[] } {
  const isHeld = (key: Key) => !graph.has(key) && checks.isKnown(key);
  for (const key of outputs) {
    if (!graph.has(key) && !isHeld(key)) throw new GraphError("missing-dependency", `output "${key}" is not in the graph`, [key]);
  }
  const collected = options.collected === true;
  if (!collected || checks.serializable === true) {
    validateGraph(graph, { isKnownFunction: checks.isKnownFunction, external: isHeld, serializable: checks.serializable });
  }
  const optimized = optimizeGraph(graph, outputs, collected ? { ...options.optimize, cull: false } : options.optimize);
  // The index describes the graph as given, so it serves only when optimization changed nothing.
  const given = optimized === graph ? options.index : undefined;
  const { positions, index } = orderWithIndex(optimized, outputs.filter((key) => optimized.has(key)), given);
  const tasks: LocalTask[] = [];
  let i = 0;
  for (const spec of optimized.values()) tasks.push(new LocalTask(spec, positions[i++]));
  return { type: "graph-submitted", client, tasks, wanted: outputs, acyclic: true, links: index };
}
