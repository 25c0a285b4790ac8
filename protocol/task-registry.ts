/** A function that tasks can call by name. */
export interface RegisteredTask {
  readonly name: string;
  readonly fn: (...args: never[]) => unknown;
  /**
   * URL of the module that registers the function, when known. Worker threads and processes import
   * it to get the same function; a task without one can only run in the process that registered it.
   */
  readonly module: string | undefined;
  /** See {@link TaskFunctionOptions.borrowsInputs}. */
  readonly borrowsInputs: boolean;
}

/** How a registered function treats memory. */
export interface TaskFunctionOptions {
  /**
   * The function reads its arguments only while it runs and keeps no reference to them, nor to
   * memory it allocates, once it returns, except through its result. Weft then reuses the memory of
   * its inputs and scratch as soon as nothing else holds them; the inputs of other functions are
   * never reused, in case they keep them. Default false. Weft's array kernels borrow.
   */
  readonly borrowsInputs?: boolean;
}

/**
 * The process-wide (per thread) table of task functions. It lives on `globalThis` under a registered
 * symbol so that every copy of weft loaded into one thread (the package and a relative import of its
 * sources, say) shares one table.
 */
const REGISTRY_SYMBOL = Symbol.for("weft.task-registry");

const table: Map<string, RegisteredTask> = ((globalThis as { [REGISTRY_SYMBOL]?: Map<string, RegisteredTask> })[
  REGISTRY_SYMBOL
] ??= new Map());


/**
 * Registers `fn` under `name`. Registering the same function again under its name is harmless (a
 * module imported twice); a different function under a taken name is an error, since a graph that
 * names it would otherwise run whichever came last.
 */
export function registerTask(name: string, fn: (...args: never[]) => unknown, module?: string, options: TaskFunctionOptions = {}): RegisteredTask {
  if (typeof name !== "string" || name.length === 0) throw new TypeError("a task function needs a non-empty name");
  if (typeof fn !== "function") throw new TypeError(`task "${name}" must be a function, got ${typeof fn}`);
  const existing = table.get(name);
  if (existing !== undefined) {
    if (existing.fn === fn || (module !== undefined && existing.module === module)) {
      // Same function, or the same module evaluated again (a second module instance): keep the first.
      return existing;
    }
    throw new Error(
      `task name "${name}" is already registered` +
        (existing.module ? ` by ${existing.module}` : "") +
        `; choose another name`,
    );
  }
  const entry: RegisteredTask = { name, fn, module, borrowsInputs: options.borrowsInputs === true };
  table.set(name, entry);
  return entry;
}

/** The last lookup: consecutive tasks mostly call the same function. */
let lastFound: RegisteredTask | undefined;

/** The function registered under `name`, if any. */
export function lookupTask(name: string): RegisteredTask | undefined {
  if (lastFound !== undefined && lastFound.name === name) return lastFound;
  const found = table.get(name);
  if (found !== undefined) lastFound = found;
  return found;
}

/** Names of every registered function, sorted: what a worker advertises so schedulers can refuse unknown names. */
export function registeredTaskNames(): string[] {
  return [...table.keys()].sort();
}

/**
 * URLs of the modules that registered functions, each once, sorted: what a process starting workers
 * has them import so that they know the same functions.
 *
 * @example
 * ```ts
 * registeredTaskModules(); // ["file:///app/tasks.js"]
 * ```
 */
export function registeredTaskModules(): string[] {
  const modules = new Set<string>();
  for (const entry of table.values()) if (entry.module !== undefined) modules.add(entry.module);
  return [...modules].sort();
}
