/**
 * Where weft is importing a module to find its task functions: a worker thread of an executor, or a
 * worker process. Such a module runs again in every thread and process that needs its tasks, so its
 * top-level code must not start a client: each copy would start its own threads, which would import the
 * module again, and so on without end. Client factories ask {@link refuseClientWhileLoadingTasks} first.
 *
 * The state lives on `globalThis` under a registered symbol, like the task registry, so that a task
 * module importing the `weft` package sees it even when the thread runs another copy of weft (its
 * sources, say).
 */

/** What imports the module: a weft worker thread or a weft worker process. */
export type TaskModuleHost = "worker thread" | "worker process";

interface Loading {
  readonly host: TaskModuleHost;
  readonly module: string;
}

const LOADING_SYMBOL = Symbol.for("weft.loading-task-module");

type LoadingHolder = { [LOADING_SYMBOL]?: Loading[] };

/** The imports under way in this thread, innermost last. */
const loading: Loading[] = ((globalThis as LoadingHolder)[LOADING_SYMBOL] ??= []);

/** A client factory was called while a module was being imported for its tasks. */
export class ClientInTaskModuleError extends Error {
  override readonly name = "ClientInTaskModuleError";
}

/**
 * Imports `module` (a URL) for the tasks it registers; while its top-level code runs (top-level
 * `await` included), starting a client is refused.
 *
 * @example
 * ```ts
 * await importTaskModule("file:///app/tasks.js", "worker thread");
 * ```
 */
export async function importTaskModule(module: string, host: TaskModuleHost): Promise<void> {
  const entry: Loading = { host, module };
  loading.push(entry);
  try {
    await import(module);
  } finally {
    loading.splice(loading.lastIndexOf(entry), 1);
  }
}

/**
 * Throws {@link ClientInTaskModuleError}, naming `factory` and the module, when called while a weft
 * worker thread or process imports a task module; does nothing otherwise.
 *
 * @example
 * ```ts
 * refuseClientWhileLoadingTasks("Client.local()"); // at the start of each client factory
 * ```
 */
export function refuseClientWhileLoadingTasks(factory: string): void {
  const current = loading.at(-1);
  if (current === undefined) return;
  throw new ClientInTaskModuleError(
    `${factory} was called while a weft ${current.host} was importing ${current.module} to find its tasks. ` +
      `Every worker thread and worker process imports the modules that define tasks, so such a module must not start a client ` +
      `(each copy would start the program again). Define the tasks in a module of their own, such as tasks.ts, ` +
      `import it from the program's entry module, and start the client there.`,
  );
}
