/**
 * Registers every built-in kernel family: the one module a worker process imports so that array and
 * dataframe graphs (and later ML and streaming ones) run on any worker without `--import`. A new
 * family adds its own `index.ts` here; nothing in `worker/` changes.
 *
 * @example
 * ```ts
 * import "weft/kernels"; // in a process that runs tasks: every weft.array.* and weft.df.* function registered
 * ```
 */
import "./array/index.js";
import "./dataframe/index.js";
