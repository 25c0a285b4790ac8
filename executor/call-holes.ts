import { Call, isPlainObject } from "../graph/task-spec.js";
import { lookupTask } from "../protocol/task-registry.js";

/**
 * A fused task's inline {@link Call}s, taken out of its arguments so they can cross a thread boundary.
 * Structured cloning drops classes, so a `Call` would arrive as a plain object, indistinguishable from
 * user data. Instead each call is cut out, leaving `null` at its place, and listed with the path where
 * its result goes: no marker is ever mixed into user data.
 */
export interface CallHole {
  /** Where the call's result goes: indexes and property names from the argument list down. */
  readonly path: readonly (string | number)[];
  readonly fn: string;
  readonly args: readonly unknown[];
  readonly holes?: readonly CallHole[];
}

/**
 * Cuts the `Call`s out of `args`. Returns the arguments with `null` where calls stood (containers on the
 * way are copied, the rest shared) and the holes, or `holes: undefined` when there are no calls.
 */
export function cutCalls(args: readonly unknown[]): { args: readonly unknown[]; holes: CallHole[] | undefined } {
  let holes: CallHole[] | undefined;
  const path: (string | number)[] = [];
  const visit = (value: unknown): unknown => {
    if (value === null || typeof value !== "object") return value;
    if (value instanceof Call) {
      const inner = cutCalls(value.args);
      const hole: CallHole = { path: [...path], fn: value.fn, args: inner.args, ...(inner.holes && { holes: inner.holes }) };
      (holes ??= []).push(hole);
      return null;
    }
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const item = value[i];
        if (item === null || typeof item !== "object") continue;
        path.push(i);
        const cut = visit(item);
        path.pop();
        if (cut !== item) (copy ??= value.slice())[i] = cut;
      }
      return copy ?? value;
    }
    if (isPlainObject(value)) {
      let copy: Record<string, unknown> | undefined;
      for (const k in value) {
        const item = value[k];
        if (item === null || typeof item !== "object") continue;
        path.push(k);
        const cut = visit(item);
        path.pop();
        if (cut !== item) (copy ??= { ...value })[k] = cut;
      }
      return copy ?? value;
    }
    return value;
  };
  const cutArgs = visit(args) as readonly unknown[];
  return { args: cutArgs, holes };
}

/**
 * Fills `holes` into `args` (which the caller owns: a fresh structured clone) by running each call,
 * innermost first, with `call(fn, args)`. Returns a promise only when some call returned one.
 */
export function fillHoles(
  args: unknown[],
  holes: readonly CallHole[],
  call: (fn: string, args: unknown[]) => unknown,
): void | Promise<void> {
  let pending: Promise<void>[] | undefined;
  for (const hole of holes) {
    const holeArgs = hole.args as unknown[];
    const ready = hole.holes === undefined ? undefined : fillHoles(holeArgs, hole.holes, call);
    const place = (value: unknown) => setAt(args, hole.path, value);
    if (ready !== undefined) {
      (pending ??= []).push(ready.then(() => Promise.resolve(call(hole.fn, holeArgs)).then(place)));
      continue;
    }
    const value = call(hole.fn, holeArgs);
    if (value !== null && typeof value === "object" && typeof (value as PromiseLike<unknown>).then === "function") {
      (pending ??= []).push(Promise.resolve(value).then(place));
    } else {
      place(value);
    }
  }
  return pending === undefined ? undefined : Promise.all(pending).then(() => undefined);
}

function setAt(root: unknown[], path: readonly (string | number)[], value: unknown): void {
  let container = root as unknown as Record<string | number, unknown>;
  for (let i = 0; i < path.length - 1; i++) container = container[path[i]] as Record<string | number, unknown>;
  container[path[path.length - 1]] = value;
}

/**
 * Whether `fn` and every function of its fused calls borrow their inputs (see
 * `TaskFunctionOptions.borrowsInputs`): only then may the memory of the task's inputs and scratch be
 * reused once it returns.
 */
export function callsBorrowInputs(fn: string, holes: readonly CallHole[] | null | undefined): boolean {
  return lookupTask(fn)?.borrowsInputs === true && (holes ?? []).every((hole) => callsBorrowInputs(hole.fn, hole.holes));
}
