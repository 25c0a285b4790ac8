import { CONNECTION_USAGE, startApiCommand, withApiErrors } from "./api-connection.js";

function usage(): string {
  return `usage: weft cancel JOB [--url URL] [--token TOKEN]

Cancels a job: a queued job is removed, a running one stops (its tasks no other job needs are
cancelled on the workers). For a finished job submitted to keep its results, releases them. Exits 1
when the job is unknown or has already ended with nothing held.

options:
${CONNECTION_USAGE}`;
}

/** `weft cancel JOB`: cancels a job. */
export async function cancelCommand(args: string[]): Promise<number> {
  const start = await startApiCommand("cancel", args, [], usage, "job");
  if (typeof start === "number") return start;
  const { transport } = start;
  const id = start.subject!;
  return withApiErrors("cancel", async () => {
    if (await transport.cancel(id)) {
      console.log(`cancelled job ${id}`);
      return 0;
    }
    // Nothing to do: say why (an unknown job is reported by the status request as a 404).
    const status = await transport.status(id);
    console.error(`weft cancel: job ${id} already ended (${status.state}) and holds no results`);
    return 1;
  });
}
