import { isMainThread } from "node:worker_threads";
import { Call, isPlainObject, Ref, type Key } from "../graph/task-spec.js";
import { lookupTask } from "../protocol/task-registry.js";

/** Where a running task's inputs come from: the result of each key it refers to. */
export type InputResolver = (key: Key) => unknown;

/** The task's function is not registered where it runs. */
export class UnknownFunctionError extends Error {
  override readonly name = "UnknownFunctionError";
}

/**
 * Runs `fn(...args)` where args may hold {@link Ref}s (replaced by `resolve`) and inline {@link Call}s
 * from fusion (evaluated innermost first). Returns the result, or a promise of it when the function, or
 * a fused call inside it, is async: sync tasks pay nothing for async support.
 */
export function evaluateTask(fn: string, args: readonly unknown[], resolve: InputResolver): unknown {
  if (isFlat(args)) return callFunction(fn, args as unknown[]);
  const state = { async: false };
  const values = evaluateValue(args, resolve, state) as unknown[];
  return state.async ? awaitDeep(values).then((ready) => callFunction(fn, ready as unknown[])) : callFunction(fn, values);
}

/** Arguments with nothing to evaluate: no containers, so no `Ref` or `Call` can hide in them. */
function isFlat(args: readonly unknown[]): boolean {
  for (const arg of args) if (arg !== null && typeof arg === "object" && !ArrayBuffer.isView(arg)) return false;
  return true;
}

/** Calls the function registered under `name`; throws {@link UnknownFunctionError} when there is none. */
export function callFunction(name: string, args: unknown[]): unknown {
  const task = lookupTask(name);
  if (task === undefined) {
    throw new UnknownFunctionError(
      `function "${name}" is not registered in this ${isMainThread ? "process" : "worker thread"}; register it with task("${name}", fn) in a module the executor imports`,
    );
  }
  return (task.fn as (...a: unknown[]) => unknown)(...args);
}

function evaluateValue(value: unknown, resolve: InputResolver, state: { async: boolean }): unknown {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Ref) return resolve(value.key);
  if (value instanceof Call) {
    const inner = { async: false };
    const args = value.args.map((arg) => evaluateValue(arg, resolve, inner));
    if (inner.async) {
      state.async = true;
      return awaitDeep(args).then((ready) => callFunction(value.fn, ready as unknown[]));
    }
    const result = callFunction(value.fn, args);
    if (isThenable(result)) state.async = true;
    return result;
  }
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      const evaluated = evaluateValue(item, resolve, state);
      if (evaluated !== item) {
        copy ??= value.slice();
        copy[i] = evaluated;
      }
    }
    return copy ?? value;
  }
  if (isPlainObject(value)) {
    let copy: Record<string, unknown> | undefined;
    for (const k in value) {
      const item = value[k];
      const evaluated = evaluateValue(item, resolve, state);
      if (evaluated !== item) {
        copy ??= { ...value };
        copy[k] = evaluated;
      }
    }
    return copy ?? value;
  }
  return value;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === "object" && typeof (value as { then?: unknown }).then === "function";
}

/** Resolves promises nested in arrays and plain objects (where async fused calls leave them). */
async function awaitDeep(value: unknown): Promise<unknown> {
  if (isThenable(value)) return value;
  if (Array.isArray(value)) return Promise.all(value.map(awaitDeep));
  if (isPlainObject(value)) {
    const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await awaitDeep(v)] as const));
    return Object.fromEntries(entries);
  }
  return value;
}
