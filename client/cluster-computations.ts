import { GraphError } from "../graph/graph-error.js";
import type { Key, TaskSpec } from "../graph/task-spec.js";
import { firstRejectedFunction } from "../graph/validate.js";
import { importableElsewhere, unregisteredFunctionMessage } from "../protocol/unregistered-function.js";
import type { ClientBackend } from "./backend.js";
import type { Computation } from "./collection.js";
import { isInMemoryData } from "./in-memory-data.js";

/**
 * Most uploads under way at once while a computation's data is scattered: enough to keep the link
 * busy, few enough that the scheduler holds little in transit.
 */
const UPLOADS_AT_ONCE = 4;

/**
 * Readies computations for a backend whose tasks run in other processes (a cluster). A closure, or a
 * task of the program's entry module, is refused before anything is sent: a cluster runs only
 * functions registered with `task()` in modules its workers can import. Data that collections hold
 * in memory (see `inMemoryData`) is scattered to the workers before the first computation that reads
 * it, once per piece, and stays there for as long as the program references the task standing for
 * it (the collection, or one made from it); the computation then reads it there instead of carrying
 * it, so it neither passes through a graph body (nor its size limit) nor stays in the scheduler.
 *
 * @example
 * ```ts
 * const shipped = await computations.prepare(collectComputation([df.groupBy("k").agg({ v: "sum" })]));
 * ```
 */
export class ClusterComputations {
  /** The scatter of each piece of data, under way or done: pieces shared by computations go once. */
  private readonly scattered = new WeakMap<TaskSpec, Promise<void>>();

  constructor(
    private readonly backend: ClientBackend,
    /** Keeps the hold of a scattered piece for as long as the program references `value`. */
    private readonly keep: (hold: string, value: object, keys: readonly Key[]) => void,
  ) {}

  /**
   * The computation as the cluster takes it: its in-memory data scattered and left out of the graph
   * (the outputs and tasks reading it find it held). Throws a `GraphError` (`unknown-function`)
   * naming the task that calls a closure or a task of the entry module.
   */
  async prepare(computation: Computation): Promise<Computation> {
    const data: TaskSpec[] = [];
    for (const spec of computation.graph.values()) {
      const local = firstRejectedFunction(spec, importableElsewhere);
      if (local !== undefined) throw new GraphError("unknown-function", unregisteredFunctionMessage(spec.key, local), [spec.key], local);
      if (isInMemoryData(spec)) data.push(spec);
    }
    if (data.length === 0) return computation;
    let next = 0;
    const lane = async () => {
      while (next < data.length) await this.scatterOnce(data[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(UPLOADS_AT_ONCE, data.length) }, lane));
    const graph = new Map(computation.graph);
    for (const spec of data) graph.delete(spec.key);
    // The ordering index described the graph as it was.
    return { ...computation, graph, index: undefined };
  }

  private scatterOnce(spec: TaskSpec): Promise<void> {
    let placing = this.scattered.get(spec);
    if (placing === undefined) {
      placing = this.backend.scatter(spec.key, spec.args[0]).then((hold) => this.keep(hold, spec, [spec.key]));
      this.scattered.set(spec, placing);
      // The next computation that needs the data tries again.
      placing.catch(() => this.scattered.delete(spec));
    }
    return placing;
  }
}
