import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/**
 * How worker threads and worker processes get the TypeScript loader a program was started with.
 *
 * A program run with tsx (`npx tsx main.ts`, `node --import tsx main.ts`) imports `.ts` modules
 * through loader hooks that its `--import` preload registered. Worker processes started with the same
 * flags register them too. Worker threads inherit the flags, but Node 20 does not run `--import`
 * preloads in them, and importing tsx's loader there does nothing: a thread must call tsx's
 * `register()` itself (registering it twice, where Node does run the preload, is harmless). Node's own
 * type stripping (`process.features.typescript`, Node 22.6 and later) needs nothing: threads and
 * processes inherit it.
 */

/** One installed tsx: what `--import` loads in a process, and what a worker thread calls `register()` from. */
export interface TsxInstall {
  /** URL of tsx's `--import` entry (`tsx`). */
  readonly loader: string;
  /** URL of tsx's ESM API (`tsx/esm/api`), whose `register()` installs the loader in the calling thread. */
  readonly registerApi: string;
}

/** True for a module URL or path written in TypeScript (`.ts`, `.mts`, `.cts`). */
export function isTypeScriptModule(module: string): boolean {
  return /\.[cm]?ts$/.test(module.split(/[?#]/, 1)[0]);
}

/** True when this Node strips TypeScript types itself, so `.ts` modules need no loader. */
export function hasNativeTypeScript(): boolean {
  return Boolean((process.features as { typescript?: unknown }).typescript);
}

/**
 * The tsx this process was started with: named by an `--import`, `--require` or `--loader` flag in
 * `flags` (default: this process's `execArgv`, then `NODE_OPTIONS`), resolved as Node resolves those
 * flags, from the current directory. Undefined when none names tsx.
 *
 * @example
 * ```ts
 * startedWithTsx(); // for `node --import tsx main.ts`: { loader: "file:///app/node_modules/tsx/dist/loader.mjs", … }
 * ```
 */
export function startedWithTsx(flags: readonly string[] = [...process.execArgv, ...nodeOptionFlags()]): TsxInstall | undefined {
  for (const specifier of preloadSpecifiers(flags)) {
    const install = tsxInstallAt(resolvePreload(specifier));
    if (install !== undefined) return install;
  }
  return undefined;
}

/**
 * The tsx a module's project has installed: resolved from the module's directory as that module's own
 * `import "tsx"` would be. Undefined when it has none.
 *
 * @example
 * ```ts
 * findTsx("file:///app/tasks.ts"); // tsx of /app/node_modules, if installed there or above
 * ```
 */
export function findTsx(module: string): TsxInstall | undefined {
  const path = module.startsWith("file:") ? fileURLToPath(module) : module;
  try {
    return tsxInstallAt(createRequire(path).resolve("tsx"));
  } catch {
    return undefined;
  }
}

/** The tsx installation holding `file`, if `file` is part of one. */
function tsxInstallAt(file: string | undefined): TsxInstall | undefined {
  if (file === undefined) return undefined;
  const root = packageRoot(file);
  if (root === undefined) return undefined;
  try {
    const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name?: unknown };
    if (manifest.name !== "tsx") return undefined;
    const require = createRequire(join(root, "package.json"));
    // Resolved through `require`, the API is its `.cjs` build; the `.mjs` sibling is the one to import.
    const registerApi = pathToFileURL(require.resolve("tsx/esm/api")).href.replace(/\.cjs$/, ".mjs");
    return { loader: pathToFileURL(require.resolve("tsx")).href, registerApi };
  } catch {
    return undefined;
  }
}

/** The nearest directory at or above `file` that holds a package.json. */
function packageRoot(file: string): string | undefined {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/** The values of the preload and loader flags among `flags`, in order. */
function preloadSpecifiers(flags: readonly string[]): string[] {
  const specifiers: string[] = [];
  const names = /^(--import|--require|-r|--loader|--experimental-loader)$/;
  for (let i = 0; i < flags.length; i++) {
    const flag = flags[i];
    const inline = /^(--import|--require|--loader|--experimental-loader)=(.*)$/.exec(flag);
    if (inline !== null) specifiers.push(inline[2]);
    else if (names.test(flag) && i + 1 < flags.length) specifiers.push(flags[++i]);
  }
  return specifiers;
}

/** The flags in `NODE_OPTIONS`, split on spaces (quoted values are rare there and left whole). */
export function nodeOptionFlags(): string[] {
  return (process.env.NODE_OPTIONS ?? "").split(/\s+/).filter((flag) => flag !== "");
}

/** The file a preload flag's value names, resolved from the current directory; undefined when it cannot be found. */
function resolvePreload(specifier: string): string | undefined {
  try {
    if (specifier.startsWith("file:")) return fileURLToPath(specifier);
    if (specifier.startsWith(".") || isAbsolute(specifier)) return resolve(specifier);
    return createRequire(join(process.cwd(), "noop.js")).resolve(specifier);
  } catch {
    return undefined;
  }
}
