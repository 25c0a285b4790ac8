import { cp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { transform } from "esbuild";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** The folders `npm run build` compiles (tsconfig.build.json). */
const BUILT_FOLDERS = ["graph", "protocol", "executor", "kernels", "scheduler", "worker", "client", "cli", "bench", "examples"];

/**
 * Where the test run keeps this checkout compiled as the package ships it (`dist/` under its
 * package.json): inside `node_modules`, so the compiled files find the repository's dependencies.
 */
export const COMPILED_WEFT = join(root, "node_modules", ".cache", "weft-compiled");

/** The compiled `weft` command (see {@link COMPILED_WEFT}). */
export const COMPILED_CLI = join(COMPILED_WEFT, "dist", "cli", "weft.js");

/**
 * Compiles the sources into `target/dist`, under the repository's package.json, as `npm run build`
 * lays them out. Compiling only strips types, with esbuild (no type checking, which `npm run
 * typecheck` does): a second or so instead of the half minute of `npm run build`.
 *
 * @example
 * ```ts
 * await compileWeft(join(project, "node_modules", "weft"));
 * ```
 */
export async function compileWeft(target: string): Promise<void> {
  await rm(join(target, "dist"), { recursive: true, force: true });
  await mkdir(target, { recursive: true });
  await writeFile(join(target, "package.json"), await readFile(join(root, "package.json")));
  await cp(join(root, "cjs"), join(target, "cjs"), { recursive: true });
  const files = (await Promise.all(BUILT_FOLDERS.map(async (folder) => (await readdir(join(root, folder), { recursive: true })).map((file) => join(folder, file)))))
    .flat()
    .filter((file) => file.endsWith(".ts"));
  await Promise.all(
    files.map(async (file) => {
      const { code } = await transform(await readFile(join(root, file), "utf8"), { loader: "ts", format: "esm", target: "es2022", sourcefile: file });
      const out = join(target, "dist", file.replace(/\.ts$/, ".js"));
      await mkdir(dirname(out), { recursive: true });
      await writeFile(out, code);
    }),
  );
}
