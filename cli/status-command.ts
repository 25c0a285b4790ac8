import type { JobStatus } from "../protocol/job-api.js";
import { apiRequest, CONNECTION_USAGE, startApiCommand } from "./api-connection.js";
import { renderProgressBar } from "./progress-bar.js";

function usage(): string {
  return `usage: weft status JOB [--json] [--url URL] [--token TOKEN]

Prints a job's state, its tasks by state, and how long it has taken.

options:
  --json       print the status as the API returns it (one JSON object)
${CONNECTION_USAGE}`;
}

/** `weft status JOB`: prints a job's status. */
export async function statusCommand(args: string[]): Promise<number> {
  const start = await startApiCommand("status", args, ["json"], usage, "job");
  if (typeof start === "number") return start;
  const { flags, connection } = start;
  const id = start.subject!;
  const reply = await apiRequest("status", connection, `/v1/jobs/${encodeURIComponent(id)}`);
  if (reply === null) return 1;
  const status = (await reply.json()) as JobStatus;
  if (flags.json === true) {
    console.log(JSON.stringify(status));
    return 0;
  }
  console.log(`job ${status.id}: ${status.state}, ${(status.elapsedMs / 1000).toFixed(3)} s since submitted`);
  if (status.tasks) console.log(renderProgressBar(status.tasks));
  if (status.error) console.log(`error: ${status.error.message}`);
  return 0;
}
