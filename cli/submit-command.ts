import { readFile } from "node:fs/promises";
import type { HttpTransport } from "../client/http-transport.js";
import { CONNECTION_USAGE, printApiError, startApiCommand, withApiErrors } from "./api-connection.js";
import { progressBar } from "../client/progress-bar.js";

function usage(): string {
  return `usage: weft submit GRAPH.json [--detach] [--url URL] [--token TOKEN]

Submits a graph in the HTTP graph format (docs/graph-format.md; "-" reads it from stdin), prints
the job's id on stderr at once, waits for the job, and prints its result as JSON on stdout. When
stderr is a terminal, a progress bar there follows the job's tasks. Exits 1 when the graph is
refused or the job fails, with the reason on stderr. Interrupting the wait leaves the job running
(weft cancel JOB stops it).

options:
  --detach     print the job id on stdout and exit without waiting
${CONNECTION_USAGE}`;
}

/** `weft submit GRAPH.json`: submits a graph and prints its result. */
export async function submitCommand(args: string[]): Promise<number> {
  const start = await startApiCommand("submit", args, ["detach"], usage, "graph file");
  if (typeof start === "number") return start;
  const { flags, transport } = start;
  const file = start.subject!;
  let document: string;
  try {
    document = file === "-" ? await readStdin() : await readFile(file, "utf8");
  } catch (error) {
    console.error(`weft submit: cannot read ${file}: ${(error as Error).message}`);
    return 2;
  }
  return withApiErrors("submit", async () => {
    const id = await transport.submitDocument(document);
    if (flags.detach === true) {
      console.log(id);
      return 0;
    }
    // At once, on stderr: stdout carries the result alone, for scripts to parse.
    console.error(`submitted job ${id}`);
    if (process.stderr.isTTY) await showProgress(transport, id);
    console.log(await transport.resultJson(id));
    return 0;
  });
}

/**
 * Draws the progress bar on stderr (a terminal) until the job ends, its last frame saying how; a
 * broken event stream leaves the bar where it was.
 */
async function showProgress(transport: HttpTransport, id: string): Promise<void> {
  const bar = progressBar({ stream: process.stderr });
  try {
    for await (const progress of transport.progress(id)) bar(progress);
  } catch (error) {
    process.stderr.write("\n");
    printApiError("submit", error);
  }
}

async function readStdin(): Promise<string> {
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  return text;
}
