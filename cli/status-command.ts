import { CONNECTION_USAGE, startApiCommand, withApiErrors } from "./api-connection.js";
import { renderProgressLine } from "../client/progress-line.js";

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
  const { flags, transport } = start;
  const id = start.subject!;
  return withApiErrors("status", async () => {
    const status = await transport.status(id);
    if (flags.json === true) {
      console.log(JSON.stringify(status));
      return 0;
    }
    console.log(`job ${status.id}: ${status.state}, ${(status.elapsedMs / 1000).toFixed(3)} s since submitted`);
    if (status.tasks) console.log(renderProgressLine(status.tasks));
    if (status.error) console.log(`error: ${status.error.message}`);
    return 0;
  });
}
