import { execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { processExists, usePrivateRedis } from "../support/cluster-setup.js";
import { COMPILED_CLI } from "../support/compiled-weft.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const server = usePrivateRedis();

/** Every process below `pid`, children first. */
function descendants(pid: number): number[] {
  let children: number[] = [];
  try {
    children = execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" })
      .split("\n")
      .map((line) => Number(line.trim()))
      .filter((child) => child > 0);
  } catch {
    // No children: ps exits 1.
  }
  return children.flatMap((child) => [child, ...descendants(child)]);
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  return condition();
}

describe("weft started by npm", () => {
  it("stops when the shell npm ran it in dies, leaving no process behind", async () => {
    // As `npm run weft -- worker` runs it: through `sh -c`, with npm's variables set.
    // (A second command after it keeps the shell from replacing itself with weft, as npm's shell does not.)
    const weft = `"${process.execPath}" ${COMPILED_CLI} worker --redis ${server().url} --prefix launcher --nprocs 1 --nthreads 1 --executor main --log-level warn; exit $?`;
    const shell = spawn("sh", ["-c", weft], { cwd: root, env: { ...process.env, npm_lifecycle_event: "weft", npm_command: "run-script" }, stdio: "ignore" });
    const pids: number[] = [];
    try {
      // The weft process, its tuned re-run and the worker process under the nanny.
      expect(await waitFor(() => descendants(shell.pid!).length >= 3, 30_000)).toBe(true);
      pids.push(...descendants(shell.pid!));
      shell.kill("SIGKILL");
      expect(await waitFor(() => pids.every((pid) => !processExists(pid)), 20_000)).toBe(true);
    } finally {
      shell.kill("SIGKILL");
      for (const pid of pids) if (processExists(pid)) process.kill(pid, "SIGKILL");
    }
  }, 60_000);
});
