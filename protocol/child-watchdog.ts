import { spawn, type ChildProcess } from "node:child_process";

/** Options of {@link spawnWithWatchdog}. */
export interface WatchdogOptions {
  /** Working directory of the command. Default: this process's. */
  readonly cwd?: string;
  /** A directory the watchdog removes once the command has exited (its scratch directory, say). Default: none. */
  readonly removeAfterExit?: string;
}

/**
 * The watchdog, as a script for `node -e`: plain CommonJS with no imports of ours, so it runs the same
 * from sources and from the build, without a TypeScript loader and in a few tens of milliseconds.
 * argv: the directory to remove afterwards ("" for none), the command, its arguments.
 */
const WATCHDOG_SCRIPT = `"use strict";
const { spawn } = require("node:child_process");
const { rmSync } = require("node:fs");
const [removeAfterExit, command, ...args] = process.argv.slice(1);
const child = spawn(command, args, { stdio: ["ignore", "inherit", "inherit"] });
let ending = false;
const end = () => {
  if (ending) return;
  ending = true;
  child.kill("SIGTERM");
  setTimeout(() => child.kill("SIGKILL"), 5000).unref();
};
process.stdin.on("end", end);
process.stdin.on("close", end);
process.stdin.on("error", end);
process.stdin.resume();
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(signal, end);
const finish = (code) => {
  if (removeAfterExit !== "") rmSync(removeAfterExit, { recursive: true, force: true });
  process.exit(code);
};
child.on("error", (error) => {
  process.stderr.write("could not start " + command + ": " + error.message + "\\n");
  finish(127);
});
child.on("exit", (code, signal) => finish(code ?? 128 + (require("node:os").constants.signals[signal] ?? 0)));
`;

/**
 * Starts `command` under a watchdog: a small `node` process that holds a pipe from this process and
 * ends the command (SIGTERM, then SIGKILL 5 s later) when that pipe closes, which happens however
 * this process ends, SIGKILL included. For programs that do not watch their parent, such as
 * redis-server: killing a program that started one must not leave it running.
 *
 * The returned process is the watchdog: its stdout and stderr are the command's, it exits when the
 * command does, with the command's code (128 + the signal number after a signal), and SIGTERM,
 * SIGINT or SIGHUP sent to it end the command the same way. It runs in a process group of its own,
 * so that a Ctrl-C in a terminal reaches this process only, which then stops what it started in
 * order. It does not keep this process alive: the caller waits for it when it wants to.
 *
 * @example
 * ```ts
 * const server = spawnWithWatchdog("/usr/bin/redis-server", ["--port", "0"], { removeAfterExit: dir });
 * server.kill("SIGTERM"); // or simply exit: the watchdog stops redis-server
 * ```
 */
export function spawnWithWatchdog(command: string, args: readonly string[], options: WatchdogOptions = {}): ChildProcess {
  const watchdog = spawn(process.execPath, ["-e", WATCHDOG_SCRIPT, "--", options.removeAfterExit ?? "", command, ...args], {
    cwd: options.cwd,
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  watchdog.unref();
  for (const stream of [watchdog.stdin, watchdog.stdout, watchdog.stderr]) (stream as unknown as { unref?(): void } | null)?.unref?.();
  return watchdog;
}
