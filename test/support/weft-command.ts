/**
 * The `weft` command as users run it, compiled (see `compiled-weft.ts`); without the tuned-node
 * re-run (`WEFT_NO_TUNED_NODE`), which doubles the start-up time and plays no part in what the tests
 * check.
 */
import { COMPILED_CLI } from "./compiled-weft.js";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/** The project's root, where the command runs. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

const run = promisify(execFile);

/** Runs `weft ...args` to the end; `env` is added to this process's environment. */
export async function runWeft(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [COMPILED_CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, WEFT_NO_TUNED_NODE: "1", ...env },
    });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failed = error as { stdout: string; stderr: string; code: number };
    return { stdout: failed.stdout, stderr: failed.stderr, code: failed.code };
  }
}

/** A `weft` command started in the background, with what it printed so far. */
export interface StartedWeft {
  readonly command: ChildProcess;
  stdout(): string;
  stderr(): string;
}

/** Starts `weft ...args` without waiting for it; `env` is added to this process's environment. */
export function startWeft(args: readonly string[], env: NodeJS.ProcessEnv = {}): StartedWeft {
  const command = spawn(process.execPath, [COMPILED_CLI, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WEFT_NO_TUNED_NODE: "1", ...env },
  });
  let stdout = "";
  let stderr = "";
  command.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  command.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return { command, stdout: () => stdout, stderr: () => stderr };
}
