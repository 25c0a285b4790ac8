import { apiRequest, CONNECTION_USAGE, startApiCommand } from "./api-connection.js";
import { waitForResult } from "./submit-command.js";

function usage(): string {
  return `usage: weft result JOB [--no-wait] [--url URL] [--token TOKEN]

Prints a job's result as JSON: an object of its outputs' values by key. Waits for a job that is
still running, unless --no-wait. Exits 1 when the job failed or was cancelled, with the reason
(and the failing task's remote stack) on stderr.

options:
  --no-wait    exit 3 at once if the job has not ended
${CONNECTION_USAGE}`;
}

/** `weft result JOB`: prints a job's result. */
export async function resultCommand(args: string[]): Promise<number> {
  const start = await startApiCommand("result", args, ["no-wait"], usage, "job");
  if (typeof start === "number") return start;
  const { flags, connection } = start;
  const id = start.subject!;
  if (flags["no-wait"] === true) {
    const reply = await apiRequest("result", connection, `/v1/jobs/${encodeURIComponent(id)}/result?format=json`);
    if (reply === null) return 1;
    if (reply.status === 202) {
      console.error(`weft result: job ${id} has not ended yet`);
      return 3;
    }
    console.log(await reply.text());
    return 0;
  }
  const result = await waitForResult(connection, id, "result");
  if (result === null) return 1;
  console.log(result);
  return 0;
}
