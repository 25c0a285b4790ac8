import { readFile } from "node:fs/promises";
import { readJobEvents } from "../client/job-event-stream.js";
import { apiRequest, CONNECTION_USAGE, startApiCommand, type ApiConnection } from "./api-connection.js";
import { renderProgressBar } from "./progress-bar.js";

function usage(): string {
  return `usage: weft submit GRAPH.json [--detach] [--url URL] [--token TOKEN]

Submits a graph in the HTTP graph format (docs/graph-format.md; "-" reads it from stdin), waits
for the job, and prints its result as JSON on stdout. On a terminal, a progress bar follows the
job's tasks. Exits 1 when the graph is refused or the job fails, with the reason on stderr.

options:
  --detach     print the job id and exit without waiting
${CONNECTION_USAGE}`;
}

/** `weft submit GRAPH.json`: submits a graph and prints its result. */
export async function submitCommand(args: string[]): Promise<number> {
  const start = await startApiCommand("submit", args, ["detach"], usage, "graph file");
  if (typeof start === "number") return start;
  const { flags, connection } = start;
  const file = start.subject!;
  let body: string;
  try {
    body = file === "-" ? await readStdin() : await readFile(file, "utf8");
  } catch (error) {
    console.error(`weft submit: cannot read ${file}: ${(error as Error).message}`);
    return 2;
  }
  const submitted = await apiRequest("submit", connection, "/v1/jobs", { method: "POST", headers: { "content-type": "application/json" }, body });
  if (submitted === null) return 1;
  const { id } = (await submitted.json()) as { id: string };
  if (flags.detach === true) {
    console.log(id);
    return 0;
  }
  if (process.stdout.isTTY) await showProgress(connection, id);
  const result = await waitForResult(connection, id);
  if (result === null) return 1;
  console.log(result);
  return 0;
}

/** Draws the progress bar on the terminal until the job ends. */
async function showProgress(connection: ApiConnection, id: string): Promise<void> {
  const reply = await apiRequest("submit", connection, `/v1/jobs/${id}/events`, { headers: { accept: "text/event-stream" } });
  if (reply === null || reply.body === null) return;
  for await (const event of readJobEvents(reply.body as unknown as AsyncIterable<Uint8Array>)) {
    if (event.type === "progress") process.stdout.write(`\r${renderProgressBar(event.tasks)}`);
    if (event.type === "done") process.stdout.write("\n");
  }
}

/** The job's result as JSON text, asking again while it runs; null after printing its failure. */
export async function waitForResult(connection: ApiConnection, id: string, command = "submit"): Promise<string | null> {
  for (;;) {
    const reply = await apiRequest(command, connection, `/v1/jobs/${encodeURIComponent(id)}/result?wait=60000&format=json`);
    if (reply === null) return null;
    if (reply.status === 200) return reply.text();
    await reply.arrayBuffer();
  }
}

async function readStdin(): Promise<string> {
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  return text;
}
