#!/usr/bin/env node
/**
 * The `weft` command line. Subcommands live in their own modules; this file only dispatches.
 */
import { benchCommand } from "./bench-command.js";
import { resultCommand } from "./result-command.js";
import { schedulerCommand } from "./scheduler-command.js";
import { statusCommand } from "./status-command.js";
import { submitCommand } from "./submit-command.js";
import { exitWithParent, rerunTuned } from "./tuned-node.js";
import { upCommand } from "./up-command.js";
import { workerCommand } from "./worker-command.js";
import { workersCommand } from "./workers-command.js";

const USAGE = `usage: weft <command> [options]

commands:
  up                 run a whole cluster on this machine: Redis, scheduler, workers (weft up --help)
  bench <workload>   time a workload on an executor (weft bench --help)
  scheduler          run the scheduler of a cluster against a Redis (weft scheduler --help)
  worker             run supervised worker processes against a Redis (weft worker --help)
  submit GRAPH.json  submit a graph to the scheduler's HTTP API and print its result
  status JOB         print a job's state and task counts
  result JOB         print a job's result as JSON
  workers            list the workers that joined the scheduler
  help               show this message`;

const commands: Record<string, (args: string[]) => Promise<number>> = {
  bench: benchCommand,
  up: upCommand,
  scheduler: schedulerCommand,
  worker: workerCommand,
  submit: submitCommand,
  status: statusCommand,
  result: resultCommand,
  workers: workersCommand,
};

/**
 * Commands that run scheduling work in this process, or start processes that do (`worker`: its workers
 * inherit the flags), and so run in a tuned `node` (see `tuned-node.ts`).
 */
const TUNED = new Set(["bench", "scheduler", "worker", "up"]);

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    console.log(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (command === undefined) {
    console.error(`weft: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  if (TUNED.has(name)) {
    const code = await rerunTuned();
    if (code !== undefined) return code;
  }
  return command(rest);
}

exitWithParent();
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`weft: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
