/**
 * Names of the functions every executor knows without imports, under the `weft.` prefix (registered
 * by `executor/builtin-tasks.ts`). Graph builders refer to them by these names; only processes that
 * run tasks load their implementations.
 *
 * @example
 * ```ts
 * const graph = new Map([["x", taskSpec("x", IDENTITY, [41])]]);
 * ```
 */

/** Returns its argument: a value placed in the graph, or a collection of results gathered into one. */
export const IDENTITY = "weft.identity";
/** `getattr(value, name)`: a property of a result. */
export const GETATTR = "weft.getattr";
/** `getitem(value, index)`: an element of a result; negative indexes count from the end. */
export const GETITEM = "weft.getitem";
