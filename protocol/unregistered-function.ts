import { fileURLToPath } from "node:url";
import type { Key } from "../graph/task-spec.js";
import { lookupTask } from "./task-registry.js";

/**
 * Why a cluster cannot run a task's function, and what to do about it, from what this process's
 * registry knows of the function: a closure given to `delayed` (registered here without a module)
 * must become a function registered with `task()` in a module the workers import; a function
 * registered with `task()` needs the workers started with `--import` of its module (named when this
 * process knows it); any other name must be registered in some module the workers import.
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
  const module = registered?.module === undefined ? `<the module that registers "${fn}" with task()>` : readable(registered.module);
  return `task "${key}" calls "${fn}", which no worker registered: start the workers with --import ${module}`;
}

/** A module URL as `--import` takes it: a path for a file URL. */
function readable(module: string): string {
  return module.startsWith("file:") ? fileURLToPath(module) : module;
}
