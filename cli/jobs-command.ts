import { JOB_STATES, type JobPage, type JobState, type JobSummary } from "../protocol/job-api.js";
import { CONNECTION_USAGE, startApiCommand, withApiErrors } from "./api-connection.js";
import { parseCount } from "./command-arguments.js";

/** Most jobs one page may hold (the API's bound). */
const MAX_LIMIT = 500;
const DEFAULT_LIMIT = 20;

function usage(): string {
  return `usage: weft jobs [--state STATE]... [--limit N] [--cursor JOB] [--json] [--url URL] [--token TOKEN]

Lists the jobs, newest first: those the scheduler runs or ended recently, and those the durable
queue keeps (an hour after they end, by default). One page at a time; the last line names the
command for the next page when there is one.

options:
  --state      only jobs in this state: ${JOB_STATES.join(", ")}; repeat it or separate by commas for several
  --limit      jobs on the page, 1 to ${MAX_LIMIT} (default ${DEFAULT_LIMIT})
  --cursor     start after this job (the previous page's last line names it)
  --json       print the page as the API returns it ({jobs, next})
${CONNECTION_USAGE}`;
}

const OPTIONS = {
  state: { type: "string", multiple: true },
  limit: { type: "string", default: String(DEFAULT_LIMIT) },
  cursor: { type: "string" },
  json: { type: "boolean", default: false },
} as const;

/** `weft jobs`: lists the jobs, a page at a time. */
export async function jobsCommand(args: string[]): Promise<number> {
  const start = await startApiCommand("jobs", args, OPTIONS, usage);
  if (typeof start === "number") return start;
  const { flags, transport } = start;
  const states = parseStates((flags.state as string[] | undefined) ?? []);
  const limit = parseCount("jobs", "--limit", flags.limit as string);
  if (states === null || limit === null) return 2;
  if (limit > MAX_LIMIT) {
    console.error(`weft jobs: --limit must be at most ${MAX_LIMIT}, got ${limit}`);
    return 2;
  }
  const cursor = flags.cursor as string | undefined;
  return withApiErrors("jobs", async () => {
    const page = await transport.jobs({ state: states, limit, cursor });
    if (flags.json === true) console.log(JSON.stringify(page));
    else printPage(page, { states, limit, url: flags.url as string | undefined });
    return 0;
  });
}

/** The states named by `--state` options, each possibly a comma-separated list; null after printing a bad one. */
function parseStates(values: readonly string[]): JobState[] | null {
  const states = values.flatMap((value) => value.split(",")).map((state) => state.trim());
  for (const state of states) {
    if (!(JOB_STATES as readonly string[]).includes(state)) {
      console.error(`weft jobs: --state must be one of ${JOB_STATES.join(", ")}, got "${state}"`);
      return null;
    }
  }
  return [...new Set(states)] as JobState[];
}

/** What a page was asked with, for the next page's command. */
interface PageQuery {
  readonly states: readonly JobState[];
  readonly limit: number;
  readonly url: string | undefined;
}

function printPage(page: JobPage, query: PageQuery): void {
  const rows = [["JOB", "STATE", "SUBMITTED", "ELAPSED", "TASKS", "ERROR"], ...page.jobs.map(row)];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((cells) => cells[i].length)));
  for (const cells of rows) console.log(cells.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd());
  if (page.jobs.length === 0) console.log("(no jobs)");
  if (page.next !== undefined) console.log(`next page: ${nextPageCommand(query, page.next)}`);
}

function row(job: JobSummary): string[] {
  const tasks = job.tasks === undefined ? "-" : `${job.tasks.finished}/${job.tasks.total}`;
  // One line of the failure: a task's message may run over many.
  const error = job.state === "failed" && job.error !== undefined ? truncate(job.error.message.split("\n")[0], 80) : "";
  return [job.id, job.state, localTime(job.submittedAt), `${(job.elapsedMs / 1000).toFixed(1)} s`, tasks, error];
}

/** The command for the next page: the same filter and page size, never the token. */
function nextPageCommand(query: PageQuery, next: string): string {
  const args = ["weft", "jobs"];
  if (query.states.length > 0) args.push("--state", query.states.join(","));
  if (query.limit !== DEFAULT_LIMIT) args.push("--limit", String(query.limit));
  if (query.url !== undefined) args.push("--url", query.url);
  return [...args, "--cursor", next].join(" ");
}

/** `YYYY-MM-DD HH:MM:SS` in the local time zone. */
function localTime(ms: number): string {
  const date = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

function truncate(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}
