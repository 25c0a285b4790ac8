import type { GraphIndex } from "../graph/graph-index.js";
import { mergeGraphs } from "../graph/merge.js";
import type { Key, ReadonlyGraph } from "../graph/task-spec.js";
import { collectIndexedGraph, type Delayed, isDelayed } from "./delayed.js";

/**
 * The symbol under which a lazy collection (an array, a dataframe, anything built of many tasks)
 * offers its {@link CollectionProtocol}, as Dask collections offer `__dask_graph__` and friends.
 * Registered with `Symbol.for`, so that two copies of weft in one program agree on it.
 */
export const COLLECTION: unique symbol = Symbol.for("weft.collection") as never;

/**
 * What `compute` and `persist` need from a collection. The collection keeps its own graph; the
 * client merges the graphs of everything computed together, runs them once, and hands each
 * collection the values of its keys to assemble.
 */
export interface CollectionProtocol<T> {
  /**
   * Every task needed to compute {@link keys}: the collection's own and its inputs'. Results that a
   * scheduler already holds (from `persist`) are left out; their keys are referenced as they are.
   */
  graph(): ReadonlyGraph;
  /** The keys whose values make up the collection (its blocks or partitions), in the order `finalize` takes them. */
  keys(): readonly Key[];
  /** Assembles the computed values of {@link keys}, in their order, into the collection's result. */
  finalize(values: readonly unknown[]): T;
  /** The same collection standing for results a scheduler holds under its keys (what `persist` returns). */
  held(): Collection<T>;
}

/** A lazy collection that `compute` turns into a `T`. */
export interface Collection<T = unknown> {
  readonly [COLLECTION]: CollectionProtocol<T>;
}

/** True for values offering the {@link CollectionProtocol}. */
export function isCollection(value: unknown): value is Collection {
  return typeof value === "object" && value !== null && COLLECTION in value;
}

/** Everything a set of values asks a scheduler to run, and how to turn its outputs back into results. */
export interface Computation {
  readonly graph: ReadonlyGraph;
  /** The ordering index, when the whole graph came from delayed values (it saves the scheduler a pass). */
  readonly index: GraphIndex | undefined;
  /** Distinct output keys, in first-seen order. */
  readonly outputs: readonly Key[];
  /** The values' results from the outputs' values (in `outputs` order); values that are neither delayed nor collections come back as they are. */
  results(outputValues: readonly unknown[]): unknown[];
}

/**
 * Gathers the graphs of delayed values and collections computed together into one graph, so work
 * they share runs once.
 */
export function collectComputation(values: readonly unknown[]): Computation {
  const delayedRoots = values.filter(isDelayed);
  const collections = values.filter(isCollection);
  const collected = collectIndexedGraph(delayedRoots);
  const graph: ReadonlyGraph =
    collections.length === 0
      ? collected.graph
      : mergeGraphs([collected.graph, ...collections.map((value) => value[COLLECTION].graph())]);
  const outputs: Key[] = [];
  const position = new Map<Key, number>();
  const want = (key: Key): number => {
    let at = position.get(key);
    if (at === undefined) {
      at = outputs.length;
      outputs.push(key);
      position.set(key, at);
    }
    return at;
  };
  const plan = values.map((value) =>
    isDelayed(value) ? want(value.key) : isCollection(value) ? value[COLLECTION].keys().map(want) : undefined,
  );
  return {
    graph,
    index: collections.length === 0 ? collected.index : undefined,
    outputs,
    results(outputValues) {
      return values.map((value, i) => {
        const at = plan[i];
        if (typeof at === "number") return outputValues[at];
        if (at === undefined) return value;
        return (value as Collection)[COLLECTION].finalize(at.map((j) => outputValues[j]));
      });
    },
  };
}

/** The delayed values and collections among `values` (what `persist` holds). */
export type Persistable = Delayed | Collection;
