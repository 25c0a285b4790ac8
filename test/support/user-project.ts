import { execFile } from "node:child_process";
import { mkdtemp, mkdir, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { compileWeft } from "./compiled-weft.js";

const root = fileURLToPath(new URL("../..", import.meta.url));


/** What a finished program printed, and how it ended. */
export interface ProgramRun {
  readonly stdout: string;
  readonly stderr: string;
  /** Exit code; null when it was killed. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A user's project on disk, with weft installed in its node_modules. */
export interface UserProject {
  readonly dir: string;
  /** Writes `text` to `name` in the project. */
  write(name: string, text: string): Promise<void>;
  /**
   * Runs `command args` in the project to its end, in the environment of a user's shell (the test
   * runner's, less its `NODE_OPTIONS`), plus `env`. A program still running after `timeoutMs` is
   * killed (SIGKILL).
   */
  run(command: string, args: readonly string[], options: { timeoutMs: number; env?: Readonly<Record<string, string>> }): Promise<ProgramRun>;
  /** Deletes the project. */
  remove(): Promise<void>;
}

/**
 * Makes a user's project (an ES module package) in a temporary directory, with weft installed as
 * `npm install weft` would install it: this checkout's sources compiled to JavaScript in
 * `node_modules/weft/dist` under the repository's package.json, next to weft's dependencies (links to
 * the repository's). Programs in it import `"weft"` and run as users run them: weft as JavaScript,
 * their own code as they wrote it. With `tsx: false`, the project has no tsx installed.
 *
 * Compiling only strips types, with esbuild (no type checking, which `npm run typecheck` does): a
 * second or so instead of the half minute of `npm run build`.
 *
 * @example
 * ```ts
 * const project = await createUserProject();
 * await project.write("main.ts", `import { delayed } from "weft"; ...`);
 * const { stdout } = await project.run("npx", ["tsx", "main.ts"], { timeoutMs: 60_000 });
 * await project.remove();
 * ```
 */
export async function createUserProject(options: { tsx?: boolean } = {}): Promise<UserProject> {
  const withTsx = options.tsx ?? true;
  const dir = await mkdtemp(join(tmpdir(), "weft-user-project-"));
  const modules = join(dir, "node_modules");
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "user-project", private: true, type: "module" }, null, 2));
  await compileWeft(join(modules, "weft"));
  for (const entry of await readdir(join(root, "node_modules"))) {
    if (entry === "weft" || entry === ".bin" || entry.startsWith(".package-lock") || (!withTsx && entry === "tsx")) continue;
    await symlink(join(root, "node_modules", entry), join(modules, entry));
  }
  if (withTsx) {
    await mkdir(join(modules, ".bin"));
    await symlink("../tsx/dist/cli.mjs", join(modules, ".bin", "tsx"));
  }
  return {
    dir,
    write: (name, text) => writeFile(join(dir, name), text),
    run: (command, args, { timeoutMs, env }) => runProgram(dir, command, args, timeoutMs, env),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The environment of a user's shell: the test runner's, less its Node options. */
export function userEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  return env;
}

function runProgram(dir: string, command: string, args: readonly string[], timeoutMs: number, extra?: Readonly<Record<string, string>>): Promise<ProgramRun> {
  const env = userEnv(extra);
  return new Promise((resolve) => {
    execFile(command, args, { cwd: dir, env, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const failed = error as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
      resolve({
        stdout,
        stderr,
        code: failed === null ? 0 : typeof failed.code === "number" ? failed.code : null,
        signal: failed?.signal ?? null,
      });
    });
  });
}
