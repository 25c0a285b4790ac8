import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

/** How to start a module of this package as its own `node` process. */
export interface NodeEntry {
  /** Node flags the module needs (a TypeScript loader when running from sources), before the entry. */
  readonly execArgv: string[];
  /** Path of the module to run. */
  readonly entry: string;
}

/**
 * How to start the module at `relative` (a `.js` path, as imports spell it) from the module at `base`
 * (its `import.meta.url`) as a process. From compiled JavaScript, the `.js` file as it is. From
 * TypeScript sources (tests, `tsx`), the `.ts` file with tsx's ESM loader, which a child does not
 * inherit unless its parent was itself started with `--import tsx`; importing the loader twice is
 * harmless. `tsx/esm` resolves to an `.mjs` file on the tsx versions we use; should a version resolve
 * it through its `require` condition, the `.mjs` sibling is the one `--import` can load.
 *
 * A process boundary, not an import: a runtime starts another runtime's entry point this way without
 * depending on its code (`test/layering.test.ts` reads imports only).
 *
 * @example
 * ```ts
 * const { execArgv, entry } = nodeEntry("./worker-main.js", import.meta.url);
 * spawn(process.execPath, [...execArgv, entry], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
 * ```
 */
export function nodeEntry(relative: string, base: string): NodeEntry {
  if (!base.endsWith(".ts")) return { execArgv: [], entry: fileURLToPath(new URL(relative, base)) };
  const loader = pathToFileURL(createRequire(base).resolve("tsx/esm")).href.replace(/\.cjs$/, ".mjs");
  return { execArgv: ["--import", loader], entry: fileURLToPath(new URL(relative.replace(/\.js$/, ".ts"), base)) };
}

/**
 * Flags minus `--inspect*` / `--debug*` (and a separate port value), which would clash between
 * processes: what a child started from this process should run with, by default.
 *
 * @example
 * ```ts
 * spawn(process.execPath, [...withoutDebuggerFlags(process.execArgv), entry]);
 * ```
 */
export function withoutDebuggerFlags(flags: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < flags.length; i++) {
    const flag = flags[i];
    if (!/^--(inspect|debug)/.test(flag)) kept.push(flag);
    else if (/^--(inspect|debug)-port$/.test(flag)) i++;
  }
  return kept;
}
