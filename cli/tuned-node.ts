import { spawn } from "node:child_process";

/**
 * V8 flags weft's own processes run with. A scheduler keeps thousands of task records alive for the
 * length of a graph while allocating short-lived messages around them. With V8's default young
 * generation (grown on demand up to 16 MB), every graph's records are copied twice before they die;
 * with a fixed 64 MB one, most die young, uncopied. Measured on the development machine
 * (`weft bench tree --tasks 8192 --executor sync`, four runs each, alternating): 166,000-171,000
 * tasks/s with the defaults, 194,000-221,000 with these flags; garbage-collection time per graph
 * falls from about 21 ms to about 10 ms. Programs that embed weft can pass the same flags to `node`.
 */
export const TUNED_NODE_FLAGS = ["--max-semi-space-size=64", "--min-semi-space-size=64"] as const;

/**
 * Runs this same command again in a `node` with {@link TUNED_NODE_FLAGS}, unless this process already
 * has them (or `WEFT_NO_TUNED_NODE` is set). Resolves with the child's exit code, or `undefined` when
 * the current process should carry on itself. Signals are passed on, so stopping the parent stops the
 * child.
 */
export async function rerunTuned(): Promise<number | undefined> {
  const hasFlags = TUNED_NODE_FLAGS.every((flag) => process.execArgv.some((arg) => arg.startsWith(flag.split("=")[0])));
  if (hasFlags || process.env.WEFT_NO_TUNED_NODE !== undefined || process.argv[1] === undefined) return undefined;
  // The IPC channel is how the child notices this process is gone, even after a kill -9 that gives
  // it no chance to pass a signal on (see `exitWithParent`).
  const child = spawn(process.execPath, [...TUNED_NODE_FLAGS, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: ["inherit", "inherit", "inherit", "ipc"],
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, forward);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve(code ?? (signal === null ? 1 : 128 + signalNumber(signal))));
  });
}

/**
 * In a process started by {@link rerunTuned}: exits when the parent goes away, however it went, so
 * that killing the `weft` process an operator sees (kill -9 included) never leaves its work running
 * unseen. Does nothing in a process started otherwise.
 */
export function exitWithParent(): void {
  if (process.send === undefined) return;
  process.on("disconnect", () => process.exit(137));
  // The channel alone must not keep the process alive once its work is done.
  process.channel?.unref();
}

function signalNumber(signal: NodeJS.Signals): number {
  return { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[signal as string] ?? 1;
}
