import type { Key, TaskSpec } from "../graph/task-spec.js";
import { IDENTITY } from "../protocol/builtin-task-names.js";

/** Tasks made by {@link inMemoryData}: weak, so that marking a task never keeps it alive. */
const MARKED = new WeakSet<TaskSpec>();

/**
 * The task standing for data the program holds in memory (a partition of `fromRecords` or
 * `fromArrow`, a block of `fromArray`): it returns `data` as it is. In this process it is read where
 * it lies; a client whose workers are other processes scatters it to them before the first graph
 * that needs it, once, and later graphs read it there (see `Client`).
 *
 * @example
 * ```ts
 * graph.set(key, inMemoryData(key, table.slice(0, 1000)));
 * ```
 */
export function inMemoryData(key: Key, data: unknown): TaskSpec {
  const spec: TaskSpec = { key, fn: IDENTITY, args: [data], deps: [] };
  MARKED.add(spec);
  return spec;
}

/** True for tasks made by {@link inMemoryData}. */
export function isInMemoryData(spec: TaskSpec): boolean {
  return MARKED.has(spec);
}
