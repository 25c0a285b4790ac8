import type { TaskFailure } from "../scheduler/events.js";
import type { CallHole } from "./call-holes.js";

/** A task as a thread receives it: inputs substituted, fused calls cut out into `holes`. */
export interface ThreadTask {
  readonly key: string;
  readonly fn: string;
  readonly args: readonly unknown[];
  readonly holes?: readonly CallHole[];
}

/** From the pool to a thread. */
export type ToThread =
  | { readonly type: "import"; readonly modules: readonly string[] }
  | { readonly type: "run"; readonly tasks: readonly ThreadTask[] };

/** One task's outcome as a thread reports it. */
export type ThreadOutcome =
  | { readonly key: string; readonly ok: true; readonly value: unknown; readonly durationMs: number }
  | { readonly key: string; readonly ok: false; readonly error: TaskFailure; readonly durationMs: number };

/** From a thread to the pool. */
export type FromThread =
  | { readonly type: "ready" }
  | { readonly type: "import-failed"; readonly module: string; readonly error: TaskFailure }
  | { readonly type: "done"; readonly outcomes: readonly ThreadOutcome[] };
