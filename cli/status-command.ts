import { parseArgs } from "node:util";
import type { JobStatus } from "../scheduler/job-service.js";
import { apiRequest, CONNECTION_OPTIONS, CONNECTION_USAGE, resolveConnection } from "./api-connection.js";
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
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { ...CONNECTION_OPTIONS, json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
    });
  } catch (error) {
    console.error(`weft status: ${(error as Error).message}\n\n${usage()}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(usage());
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(`weft status: name one job\n\n${usage()}`);
    return 2;
  }
  const connection = await resolveConnection("status", values);
  if (connection === null) return 2;
  const reply = await apiRequest("status", connection, `/v1/jobs/${encodeURIComponent(positionals[0])}`);
  if (reply === null) return 1;
  const status = (await reply.json()) as JobStatus;
  if (values.json) {
    console.log(JSON.stringify(status));
    return 0;
  }
  console.log(`job ${status.id}: ${status.state}, ${(status.elapsedMs / 1000).toFixed(3)} s since submitted`);
  if (status.tasks) console.log(renderProgressBar(status.tasks));
  if (status.error) console.log(`error: ${status.error.message}`);
  return 0;
}
