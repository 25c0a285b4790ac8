/**
 * Processes as the tests see them from outside: whether one runs, waiting for some to end, and (on
 * Linux, from /proc) a process's parent and everything below it, so that a test can check that
 * nothing a command started outlives it.
 */
import type { ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

export const onLinux = process.platform === "linux";

/** Resolves with how a child process ended, at once if it already has. */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}
/**
 * Whether a process runs. An exited process whose parent is gone stays a zombie until init reaps it,
 * which some inits do only now and then: a zombie counts as gone.
 */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (!onLinux) return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat[stat.lastIndexOf(")") + 2] !== "Z";
  } catch {
    return false;
  }
}

/** Waits up to `timeoutMs` for the processes to end; resolves with those still running. */
export async function allGone(pids: readonly number[], timeoutMs = 3_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const running = pids.filter(processExists);
    if (running.length === 0 || Date.now() > deadline) return running;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The parent pid of a process, from /proc (Linux). */
export function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name, in parentheses, may itself hold spaces and parentheses: fields follow the last ")".
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

/** Every process below `pid`, from /proc (Linux). */
export function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      parents.set(Number(entry), parentOf(Number(entry)));
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const frontier = [pid];
  while (frontier.length > 0) {
    const parent = frontier.pop()!;
    for (const [child, ppid] of parents) {
      if (ppid === parent) {
        found.push(child);
        frontier.push(child);
      }
    }
  }
  return found;
}


/**
 * Ends a command and every process below it, whether or not it stops when asked: SIGTERM to the
 * command, and after `graceMs` SIGKILL to whatever of the family still runs (on Linux, the family is
 * read from /proc before the SIGTERM and again before the SIGKILL, so processes it started meanwhile
 * are ended too). Resolves once the command has exited.
 */
export async function endFamily(command: ChildProcess, graceMs: number): Promise<void> {
  if (command.pid === undefined) return;
  const family = new Set(onLinux ? descendants(command.pid) : []);
  if (command.exitCode === null && command.signalCode === null) {
    command.kill("SIGTERM");
    const timer = new Promise((resolve) => setTimeout(resolve, graceMs));
    await Promise.race([exited(command), timer]);
  }
  if (onLinux && command.exitCode === null && command.signalCode === null) for (const pid of descendants(command.pid)) family.add(pid);
  if (command.exitCode === null && command.signalCode === null) command.kill("SIGKILL");
  for (const pid of family) {
    if (!processExists(pid)) continue;
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // ended meanwhile
    }
  }
  await exited(command);
}
