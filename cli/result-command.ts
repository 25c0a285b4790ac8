import { CONNECTION_USAGE, startApiCommand, withApiErrors } from "./api-connection.js";

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
  const { flags, transport } = start;
  const id = start.subject!;
  return withApiErrors("result", async () => {
    const result = await transport.resultJson(id, flags["no-wait"] !== true);
    if (result === undefined) {
      console.error(`weft result: job ${id} has not ended yet`);
      return 3;
    }
    console.log(result);
    return 0;
  });
}
