import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

/**
 * `weft scheduler` in its own process, from the compiled CLI (or, from TypeScript sources, with tsx's
 * loader); `url` resolves with its HTTP API's address, read from its start-up log line.
 */
export function startScheduler(args: readonly string[]): { url: Promise<string>; readonly pid: number | undefined; stop(): Promise<void> } {
  const fromSources = import.meta.url.endsWith(".ts");
  const cli = fileURLToPath(new URL(fromSources ? "../cli/weft.ts" : "../cli/weft.js", import.meta.url));
  const loader = fromSources ? ["--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm")).href.replace(/\.cjs$/, ".mjs")] : [];
  const child: ChildProcess = spawn(process.execPath, [...loader, cli, "scheduler", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  const url = new Promise<string>((resolve, reject) => {
    child.stderr!.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      const found = /"weft scheduler running".*?"http":"(http:[^"]+)"/.exec(log);
      if (found !== null) resolve(found[1]);
    });
    child.once("exit", (code) => reject(new Error(`weft scheduler exited with ${code} before serving:\n${log}`)));
  });
  url.catch(() => undefined);
  return {
    url,
    pid: child.pid,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/**
 * Waits until the scheduler's API at `url` counts `count` workers in `GET /v1/ready`, for at most
 * `timeoutMs` (default 60,000); then throws, saying how many joined, rather than wait forever.
 *
 * @example
 * await waitForApiWorkers(await scheduler.url, 2);
 */
export async function waitForApiWorkers(url: string, count: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = (await (await fetch(`${url}/v1/ready`)).json()) as { workers?: number };
    const joined = body.workers ?? 0;
    if (joined >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${joined} of ${count} workers joined the scheduler at ${url} within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
