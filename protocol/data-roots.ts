/**
 * Data roots: the directories the built-in file tasks (CSV, Parquet and Arrow IPC readers and
 * writers) may touch when a graph comes from outside the program. The scheduler checks graphs
 * submitted over HTTP against its roots (`scheduler/http/file-access.ts`); a worker started with
 * roots checks again, on its own filesystem, right before a file task opens its file
 * ({@link confineWorkerPath}). docs/security.md says what is checked where.
 *
 * A path is allowed when it is absolute and its real location (symbolic links resolved) is inside
 * the real location of a root: for a file that exists, its own real path (so a link inside a root
 * pointing outside is refused, for reading and for writing, which would follow it); for one that
 * does not, the real path of its nearest existing ancestor, followed by the rest of the path, which
 * holds no `..` once normalized. What is checked is the filesystem at the time of the check: a link
 * swapped in between the check and the open is not seen.
 */
import { lstatSync, realpathSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";

/** Whether a task reads or writes its file. */
export type FileAccess = "read" | "write";

/** A path refused by {@link DataRoots.check}: why, for people. */
export interface RefusedPath {
  readonly path: string;
  readonly reason: string;
}

/**
 * Data roots, as real paths, and the check of a path against them.
 *
 * @example
 * ```ts
 * const roots = DataRoots.of(["/srv/data"]);
 * roots.check("/srv/data/orders.csv"); // undefined: allowed
 * roots.check("/etc/passwd");          // { path: "/etc/passwd", reason: "outside the data roots (/srv/data)" }
 * ```
 */
export class DataRoots {
  private constructor(
    /** The roots' real paths, in the order given. */
    readonly dirs: readonly string[],
  ) {}

  /**
   * The roots `dirs` (relative ones resolved against the current directory), each resolved to its
   * real path. Throws an Error naming the root when one does not exist or is not a directory.
   */
  static of(dirs: readonly string[]): DataRoots {
    return new DataRoots(
      dirs.map((dir) => {
        let real: string;
        try {
          real = realpathSync(resolve(dir));
        } catch (error) {
          throw new Error(`data root ${dir}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such directory" : (error as Error).message}`);
        }
        if (!statSync(real).isDirectory()) throw new Error(`data root ${dir} is not a directory`);
        return real;
      }),
    );
  }

  /** Undefined when a task may read or write the file at `path`; else what is wrong. */
  check(path: unknown): RefusedPath | undefined {
    const shown = typeof path === "string" ? path : JSON.stringify(path);
    if (typeof path !== "string" || path === "" || path.includes("\0")) return { path: shown, reason: "not a path" };
    if (this.dirs.length === 0) return { path, reason: "no data roots are configured, so no file may be read or written" };
    if (!isAbsolute(path)) return { path, reason: "a relative path: give an absolute one, inside a data root" };
    const real = realLocation(resolve(path));
    if (typeof real !== "string") return { path, reason: real.reason };
    if (this.dirs.some((root) => inside(real, root))) return undefined;
    const where = real === resolve(path) ? "" : ` (really ${real})`;
    return { path, reason: `outside the data roots${where}: ${this.dirs.join(", ")}` };
  }
}

function inside(path: string, root: string): boolean {
  const rest = relative(root, path);
  return rest === "" || (!rest.startsWith(`..${sep}`) && rest !== ".." && !isAbsolute(rest));
}

/** The real location of the normalized absolute `path`, or why it has none that can be checked. */
function realLocation(path: string): string | { reason: string } {
  let existing = path;
  const rest: string[] = [];
  for (;;) {
    let isLink: boolean;
    try {
      isLink = lstatSync(existing).isSymbolicLink();
    } catch {
      const parent = dirname(existing);
      if (parent === existing) return { reason: "no part of the path exists" };
      rest.unshift(existing.slice(parent.length).replace(/^[/\\]/, ""));
      existing = parent;
      continue;
    }
    try {
      return join(realpathSync(existing), ...rest);
    } catch {
      // A link to nothing: writing through it would create its target, wherever that is.
      return { reason: isLink ? `${existing} is a symbolic link to nothing` : `${existing} cannot be resolved` };
    }
  }
}

/** Environment variable through which a worker process tells its threads its data roots (JSON list of real paths). */
export const WORKER_DATA_ROOTS_ENV = "WEFT_WORKER_DATA_ROOTS";

let workerRoots: DataRoots | null | undefined;

/**
 * The check a file task makes right before it opens `path`, in a worker started with data roots
 * (`weft worker --data-root`): throws an Error naming the path, why, and the flag when the path is
 * not allowed. Elsewhere (a program's own executors, workers without roots) every path is allowed.
 *
 * @example
 * ```ts
 * export function readIpcBatch(path: string, ...) { confineWorkerPath(path, "read"); ... }
 * ```
 */
export function confineWorkerPath(path: string, access: FileAccess): void {
  if (workerRoots === undefined) {
    const text = process.env[WORKER_DATA_ROOTS_ENV];
    workerRoots = text === undefined || text === "" ? null : DataRoots.of(JSON.parse(text) as string[]);
  }
  if (workerRoots === null) return;
  const refused = workerRoots.check(path);
  if (refused !== undefined) {
    throw new Error(`this worker may not ${access} ${refused.path}: ${refused.reason} (weft worker --data-root DIR sets the directories it may use)`);
  }
}
