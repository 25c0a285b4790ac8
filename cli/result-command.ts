import { parseArgs } from "node:util";
import { apiRequest, CONNECTION_OPTIONS, CONNECTION_USAGE, resolveConnection } from "./api-connection.js";
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
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { ...CONNECTION_OPTIONS, "no-wait": { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
    });
  } catch (error) {
    console.error(`weft result: ${(error as Error).message}\n\n${usage()}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(usage());
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(`weft result: name one job\n\n${usage()}`);
    return 2;
  }
  const connection = await resolveConnection("result", values);
  if (connection === null) return 2;
  const id = positionals[0];
  if (values["no-wait"]) {
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
