import { readFile } from "node:fs/promises";

/**
 * weft's version, from its package.json: two folders up from `dist/cli/version.js` in a build or an
 * installed package, one up from `cli/version.ts` when run from the sources.
 *
 * @example
 * ```ts
 * console.log(await weftVersion()); // "0.1.0"
 * ```
 */
export async function weftVersion(): Promise<string> {
  for (const path of ["../package.json", "../../package.json"]) {
    let text: string;
    try {
      text = await readFile(new URL(path, import.meta.url), "utf8");
    } catch {
      continue;
    }
    const manifest = JSON.parse(text) as { name?: unknown; version?: unknown };
    if (manifest.name === "weft" && typeof manifest.version === "string") return manifest.version;
  }
  throw new Error("cannot find weft's package.json next to its sources or its build");
}
