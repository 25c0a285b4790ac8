/**
 * The graph optimizations run before every compute, in the order that makes each cheapest: culling
 * first, so fusion neither spends time on tasks about to be dropped nor sees their edges (a dropped
 * dependent would otherwise stop its input from being fused).
 */

import { cullGraph } from "./cull.js";
import { fuseLinearChains, type FuseOptions } from "./fuse.js";
import type { Key, ReadonlyGraph } from "./task-spec.js";

/** Options of {@link optimizeGraph}; every pass is on unless switched off. */
export interface OptimizeOptions {
  /** Drop tasks that no output needs ({@link cullGraph}). Default `true`. */
  readonly cull?: boolean;
  /**
   * Fuse linear chains ({@link fuseLinearChains}). `true` uses the default {@link FuseOptions};
   * an object switches fusion on with those options. Default `true`.
   */
  readonly fuse?: boolean | FuseOptions;
}

/**
 * An optimized graph computing `outputs`; `graph` is not changed. When no pass changes anything the
 * result is `graph` itself, so a caller must not mutate it; the passes never copy a graph just to
 * return it. Output keys survive every pass. Expects a valid graph (see
 * `validateGraph`); when culling, an output missing from the graph is a `GraphError`
 * `"missing-dependency"`.
 *
 * @example
 * ```ts
 * const runnable = optimizeGraph(graph, ["total"]);
 * const unfused = optimizeGraph(graph, ["total"], { fuse: false });
 * const shortChains = optimizeGraph(graph, ["total"], { fuse: { maxChainLength: 8 } });
 * ```
 */
export function optimizeGraph(graph: ReadonlyGraph, outputs: readonly Key[], options: OptimizeOptions = {}): ReadonlyGraph {
  const { cull = true, fuse = true } = options;
  if (fuse === false) return cull ? cullGraph(graph, outputs) : graph;
  const culled = cull ? cullGraph(graph, outputs) : graph;
  return fuseLinearChains(culled, outputs, fuse === true ? {} : fuse);
}
