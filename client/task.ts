import { pathToFileURL } from "node:url";
import { registerTask, type TaskFunctionOptions } from "../protocol/task-registry.js";

/** A function registered under a name, so graphs can call it on any executor. */
export type TaskFunction<A extends unknown[] = never[], R = unknown> = ((...args: A) => R) & {
  /** The name graphs use to call it. */
  readonly taskName: string;
};

/** Options of {@link task}. */
export interface TaskDefinitionOptions extends TaskFunctionOptions {
  /**
   * The module that defines the task, which worker threads and worker processes import to find it.
   * Default: the file that called `task()`, read from the call stack. Pass `import.meta.url` when the
   * registration happens in a helper rather than in the defining module.
   */
  readonly module?: string | URL;
}

/**
 * Registers `fn` under `name`, so that task graphs can call it by name on any executor: worker
 * threads and worker processes import the defining module and find it there. Functions are never
 * shipped as code. Returns `fn` itself, still callable directly, tagged with its name.
 *
 * Define tasks at the top level of a module of their own, so that importing the module registers them,
 * and import it from the program. A task defined in the file the program was started with runs on the
 * calling thread only (with a warning), since a worker thread importing that file would run the whole
 * program again.
 *
 * @example
 * ```ts
 * // tasks.ts
 * export const inc = task("inc", (x: number) => x + 1);
 * // main.ts
 * const two = delayed(inc)(1);
 * ```
 */
export function task<A extends unknown[], R>(
  name: string,
  fn: (...args: A) => R,
  options: TaskDefinitionOptions = {},
): TaskFunction<A, R> {
  const module = options.module !== undefined ? String(options.module) : callerModule();
  registerTask(name, fn as (...args: never[]) => unknown, module, { borrowsInputs: options.borrowsInputs });
  Object.defineProperty(fn, "taskName", { value: name, enumerable: false, configurable: true });
  return fn as TaskFunction<A, R>;
}

/** True for functions registered with {@link task}. */
export function isTaskFunction(value: unknown): value is TaskFunction {
  return typeof value === "function" && typeof (value as { taskName?: unknown }).taskName === "string";
}

/** The URL of the module that called `task()`, from V8's structured stack trace. */
function callerModule(): string | undefined {
  const original = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_error, callSites) => callSites;
    const holder: { stack?: NodeJS.CallSite[] } = {};
    Error.captureStackTrace(holder, task);
    const file = holder.stack?.[0]?.getFileName();
    if (file === undefined || file === null) return undefined;
    if (file.startsWith("file:")) return file;
    if (file.startsWith("/")) return pathToFileURL(file).href;
    return undefined;
  } finally {
    Error.prepareStackTrace = original;
  }
}
