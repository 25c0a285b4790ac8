#!/usr/bin/env node
/**
 * The `weft` command line. Subcommands live in their own modules; this file only dispatches.
 */
import { stopWhenLauncherGone } from "./launcher-watch.js";
import { exitWithParent, rerunTuned } from "./tuned-node.js";
import { weftVersion } from "./version.js";

const USAGE = `usage: weft <command> [options]

commands:
  up                 run a whole cluster on this machine: Redis, scheduler, workers (weft up --help)
  bench <workload>   time a workload on an executor (weft bench --help)
  scheduler          run the scheduler of a cluster against a Redis (weft scheduler --help)
  worker             run supervised worker processes against a Redis (weft worker --help)
  submit GRAPH.json  submit a graph to the scheduler's HTTP API and print its result
  status JOB         print a job's state and task counts
  result JOB         print a job's result as JSON
  jobs               list the jobs, newest first
  cancel JOB         cancel a job, or release the results a finished one keeps
  workers            list the workers that joined the scheduler
  help [COMMAND]     show this message, or a command's options
  --version          print weft's version`;

/** A subcommand: parses its own arguments and resolves with the exit code. */
type Command = (args: string[]) => Promise<number>;

/**
 * Each subcommand's module, imported only when that command runs: `weft --help` or `weft status`
 * must not pay for loading the scheduler, the worker, Arrow and BullMQ.
 */
const commands: Record<string, () => Promise<Command>> = {
  bench: async () => (await import("./bench-command.js")).benchCommand,
  up: async () => (await import("./up-command.js")).upCommand,
  scheduler: async () => (await import("./scheduler-command.js")).schedulerCommand,
  worker: async () => (await import("./worker-command.js")).workerCommand,
  submit: async () => (await import("./submit-command.js")).submitCommand,
  status: async () => (await import("./status-command.js")).statusCommand,
  result: async () => (await import("./result-command.js")).resultCommand,
  jobs: async () => (await import("./jobs-command.js")).jobsCommand,
  cancel: async () => (await import("./cancel-command.js")).cancelCommand,
  workers: async () => (await import("./workers-command.js")).workersCommand,
};

/**
 * Commands that run scheduling work in this process, or start processes that do (`worker`: its workers
 * inherit the flags), and so run in a tuned `node` (see `tuned-node.ts`).
 */
const TUNED = new Set(["bench", "scheduler", "worker", "up"]);

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "--version" || name === "-V") {
    console.log(await weftVersion());
    return 0;
  }
  if (name === "help" && rest.length > 0) return help(rest);
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    console.log(USAGE);
    return name === undefined ? 2 : 0;
  }
  const load = commands[name];
  if (load === undefined) {
    console.error(`weft: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  if (TUNED.has(name)) {
    const code = await rerunTuned();
    if (code !== undefined) return code;
  }
  const command = await load();
  return command(rest);
}

/** `weft help COMMAND`: the command's own usage, as `weft COMMAND --help` prints it. */
async function help(args: string[]): Promise<number> {
  const load = args.length === 1 ? commands[args[0]] : undefined;
  if (load === undefined) {
    const named = args.length === 1 ? `no command "${args[0]}"` : "name one command";
    console.error(`weft help: ${named}\n\n${USAGE}`);
    return 2;
  }
  return (await load())(["--help"]);
}

exitWithParent();
stopWhenLauncherGone();
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`weft: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
