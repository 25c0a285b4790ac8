import { Call, isPlainObject, Ref, type ReadonlyGraph } from "../../graph/task-spec.js";
import type { DataRoots } from "../../protocol/data-roots.js";
import { FILE_TASKS, type FileTask } from "../../protocol/file-tasks.js";
import { ApiError } from "./api-error.js";

/** The flag that sets the data roots, named in every refusal. */
const FLAG = "--data-root DIR (weft scheduler, weft up; dataRoots of Client.cluster)";

/**
 * Refuses a graph submitted over HTTP in which a built-in file task (`protocol/file-tasks.ts`), as a
 * task or as a `$call` inside one, would touch a file outside the data roots: 403 `file-access-denied`
 * naming the task, the function, the path, why, and the flag that sets the roots. With no roots, every
 * file task is refused. A path must be written in the graph: one computed by another task (a `$ref`
 * or `$call` in its place) cannot be checked here, and is refused too.
 *
 * The API token grants running built-in and registered functions, not reading the scheduler's (or
 * workers') files: without this, `weft.df.readCsvBlock` on `/etc/passwd` returned its lines.
 *
 * @example
 * ```ts
 * checkFileAccess(graph, dataRoots); // throws ApiError(403, "file-access-denied", ...) for /etc/passwd
 * ```
 */
export function checkFileAccess(graph: ReadonlyGraph, roots: DataRoots | undefined): void {
  for (const [key, spec] of graph) {
    visitCalls(spec.fn, spec.args, (fn, args) => {
      const task = FILE_TASKS.get(fn);
      if (task !== undefined) checkCall(key, fn, task, args, roots);
    });
  }
}

/** Calls `onCall` for the task's own function and every `$call` nested in its arguments. */
function visitCalls(fn: string, args: readonly unknown[], onCall: (fn: string, args: readonly unknown[]) => void): void {
  onCall(fn, args);
  const visit = (value: unknown): void => {
    if (value === null || typeof value !== "object" || value instanceof Ref) return;
    if (value instanceof Call) visitCalls(value.fn, value.args, onCall);
    else if (Array.isArray(value)) value.forEach(visit);
    else if (isPlainObject(value)) for (const k in value) visit(value[k]);
  };
  args.forEach(visit);
}

function checkCall(key: string, fn: string, task: FileTask, args: readonly unknown[], roots: DataRoots | undefined): void {
  const holder = args[task.argument];
  const path = task.field === undefined ? holder : isPlainObject(holder) ? holder[task.field] : undefined;
  const refuse = (path: string, reason: string) => {
    throw new ApiError(403, "file-access-denied", `task "${key}" may not ${task.access} ${path} with ${fn}: ${reason}; the scheduler's ${FLAG} sets the directories graphs may use`, {
      key,
      function: fn,
      path,
      access: task.access,
      flag: "--data-root",
    });
  };
  if (typeof path !== "string") {
    const where = task.field === undefined ? `argument ${task.argument}` : `"${task.field}" of argument ${task.argument}`;
    refuse(`(${where})`, "the path must be a string written in the graph, not a reference or a call");
    return;
  }
  if (roots === undefined) {
    refuse(path, "no data roots are configured, so graphs sent over HTTP may read and write no file");
    return;
  }
  const refused = roots.check(path);
  if (refused !== undefined) refuse(refused.path, refused.reason);
}
