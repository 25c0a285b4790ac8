import { existsSync, realpathSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { isMainThread } from "node:worker_threads";

/** What Node (and tsx) try after a main path given without its extension. */
const ENTRY_EXTENSIONS = ["", ".js", ".mjs", ".cjs", ".ts", ".mts", ".cts"];

let entry: string | null | undefined;

/**
 * The file URL of the module the program was started with (`node main.js`, `npx tsx main.ts`), as
 * module URLs are written (symbolic links resolved); undefined in a REPL, for `node -e`, and in worker
 * threads, whose entry is not `process.argv[1]`. Read once.
 *
 * @example
 * ```ts
 * programEntryModule(); // "file:///home/me/app/main.ts" for `npx tsx main.ts` in /home/me/app
 * ```
 */
export function programEntryModule(): string | undefined {
  if (entry === undefined) entry = findEntryModule();
  return entry ?? undefined;
}

function findEntryModule(): string | null {
  const main = process.argv[1];
  if (!isMainThread || main === undefined || main === "") return null;
  const path = resolve(main);
  for (const extension of ENTRY_EXTENSIONS) {
    if (!existsSync(path + extension)) continue;
    try {
      return pathToFileURL(realpathSync(path + extension)).href;
    } catch {
      return null;
    }
  }
  return null;
}
