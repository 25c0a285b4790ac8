import type { WorkerInfo } from "../protocol/job-api.js";
import { CONNECTION_USAGE, startApiCommand, withApiErrors } from "./api-connection.js";

function usage(): string {
  return `usage: weft workers [--json] [--url URL] [--token TOKEN]

Lists the workers that joined the scheduler, a line each:

  THREADS       tasks it runs at once
  QUEUED        tasks waiting in its queue, not taken yet
  RUNNING       tasks it has taken and not finished
  RESULTS       results it holds in memory
  RESULT-BYTES  the bytes of those results
  RSS           its process's resident memory (all of it: results, code, buffers, threads),
                as it measured it at its last heartbeat, and its memory limit if it has one
  STATE         running, or paused: at 80% of its memory limit it takes no new tasks, and
                the scheduler sends it none until its memory falls below that again

options:
  --json       print the list as the API returns it
${CONNECTION_USAGE}`;
}

/** `weft workers`: lists the workers. */
export async function workersCommand(args: string[]): Promise<number> {
  const start = await startApiCommand("workers", args, ["json"], usage);
  if (typeof start === "number") return start;
  const { flags, transport } = start;
  return withApiErrors("workers", async () => printWorkers(await transport.workers(), flags.json === true));
}

function printWorkers(workers: readonly WorkerInfo[], json: boolean): number {
  if (json) {
    console.log(JSON.stringify({ workers }));
    return 0;
  }
  const rows = [["WORKER", "THREADS", "QUEUED", "RUNNING", "RESULTS", "RESULT-BYTES", "RSS", "STATE"]];
  for (const w of workers) {
    const rss = w.rssBytes > 0 ? formatBytes(w.rssBytes) : "-";
    const limit = w.memoryLimitBytes === undefined ? "" : ` / ${formatBytes(w.memoryLimitBytes)}`;
    const state = w.paused ? "paused" : "running";
    rows.push([w.id, String(w.nthreads), String(w.queued), String(w.running), String(w.results), formatBytes(w.memoryBytes), rss + limit, state]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd());
  if (workers.length === 0) console.log("(no workers have joined)");
  return 0;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
