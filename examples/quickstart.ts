/**
 * Quick start: a year of hourly readings, summarized per day and combined in a tree reduction, all
 * built lazily with `delayed` and run on the local threads executor.
 *
 * Run it with `npm run demo` (after `npm install`).
 */
import { pathToFileURL } from "node:url";
import { Client } from "../client/client.js";
import { delayed, type Delayed } from "../client/delayed.js";
import { combine, loadDay, summarize } from "./quickstart-tasks.js";

/** Builds the graph: 365 loads, 365 summaries, and a pairwise reduction of the summaries. */
export function yearSummary(days = 365): Delayed<ReturnType<typeof summarize>> {
  let level = Array.from({ length: days }, (_, day) => delayed(summarize)(delayed(loadDay)(day)));
  while (level.length > 1) {
    const next: typeof level = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(i + 1 < level.length ? delayed(combine)(level[i], level[i + 1]) : level[i]);
    }
    level = next;
  }
  return level[0];
}

/** Runs the example and returns the summary and the fifth day's maximum. */
export async function main(executor: "sync" | "threads" = "threads"): Promise<{ year: ReturnType<typeof summarize>; day5max: number }> {
  const client = await Client.local({ executor });
  try {
    const year = yearSummary();
    // Property access builds a task too; both values share the day-5 load and run it once.
    const day5max = delayed(summarize)(delayed(loadDay)(5)).get("max");
    const [summary, max] = await client.compute(year, day5max);
    return { year: summary, day5max: max };
  } finally {
    await client.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = performance.now();
  const { year, day5max } = await main();
  console.log(`year: ${year.count} readings, min ${year.min.toFixed(2)}, max ${year.max.toFixed(2)}, mean ${year.mean.toFixed(3)}`);
  console.log(`day 5 maximum: ${day5max.toFixed(2)}`);
  console.log(`computed in ${(performance.now() - started).toFixed(0)} ms on the threads executor`);
}
