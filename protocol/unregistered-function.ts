import { fileURLToPath } from "node:url";
import type { Key } from "../graph/task-spec.js";
import { programEntryModule } from "./entry-module.js";
import { lookupTask } from "./task-registry.js";

/**
 * Why a cluster cannot run a task's function, and what to do about it, from what this process's
 * registry knows of the function: a closure given to `delayed` (registered here without a module)
 * must become a function registered with `task()` in a module the workers import; so must a task
 * defined in the program's entry module, which a worker cannot import without running the program;
 * a function registered with `task()` elsewhere needs the workers started with `--import` of its
 * module (named when this process knows it); any other name must be registered in some module the
 * workers import.
 *
 * @example
 * ```ts
 * new GraphError("unknown-function", unregisteredFunctionMessage("total-1", "stats.mean"), ["total-1"], "stats.mean");
 * // task "total-1" calls "stats.mean", which no worker registered: start the workers with --import /app/stats.js
 * ```
 */
export function unregisteredFunctionMessage(key: Key, fn: string): string {
  const registered = lookupTask(fn);
  if (registered !== undefined && registered.module === undefined) {
    return (
      `task "${key}" calls "${fn}", a closure that exists only in this process: tasks that run on a cluster must be ` +
      `registered with task("name", fn) in a module the workers import (start them with --import <module>)`
    );
  }
  if (registered?.module !== undefined && registered.module === programEntryModule()) {
    return (
      `task "${key}" calls "${fn}", defined in the program's entry module (${readable(registered.module)}), which workers cannot ` +
      `import without running the program: move it to a module of its own, import that from the program, and start the ` +
      `workers with --import <that module>`
    );
  }
  const module = registered?.module === undefined ? `<the module that registers "${fn}" with task()>` : readable(registered.module);
  return `task "${key}" calls "${fn}", which no worker registered: start the workers with --import ${module}`;
}

/**
 * False for a function no other process can have: a closure (registered here without a module), or
 * a task of the program's entry module. Names this process does not know are for the cluster to judge.
 *
 * @example
 * ```ts
 * if (!importableElsewhere(spec.fn)) throw new GraphError("unknown-function", unregisteredFunctionMessage(spec.key, spec.fn), [spec.key]);
 * ```
 */
export function importableElsewhere(fn: string): boolean {
  const registered = lookupTask(fn);
  if (registered === undefined) return true;
  return registered.module !== undefined && registered.module !== programEntryModule();
}

/** A module URL as `--import` takes it: a path for a file URL. */
function readable(module: string): string {
  return module.startsWith("file:") ? fileURLToPath(module) : module;
}
