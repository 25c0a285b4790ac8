/**
 * Entry point of a nanny process: the worker processes of a local cluster (`LocalCluster` in
 * `client/local-cluster.ts`, behind `Client.cluster()` and `weft up`), supervised by a {@link Nanny}
 * in a process of their own. The client starts this file by path, so it never imports the worker
 * runtime; the options come as JSON in the `WEFT_NANNY_OPTIONS` environment variable (they may hold
 * the data-server token, which argv would show to every user of the machine).
 *
 * The process lives for its parent, over an IPC channel: SIGTERM or SIGINT stop the workers cleanly
 * (each finishes its running tasks), exit code 0; the parent gone, however it went (SIGKILL
 * included), kills the workers at once and exits, since the scheduler they served died with the
 * parent and nothing they hold can be reached any more. Exit code 1 when every worker slot was given
 * up (workers that cannot start: their log lines say why); 2 when the options are missing or malformed.
 */
import { isLogLevel, jsonLogger } from "../protocol/logger.js";
import { NANNY_OPTIONS_ENV, takeLaunchOptions, type NannyLaunchOptions } from "../protocol/worker-launch.js";
import { Nanny } from "./nanny.js";

const EXIT_STOPPED = 0;
const EXIT_GAVE_UP = 1;
const EXIT_BAD_OPTIONS = 2;
/** As a shell reports a process killed by SIGKILL: this one goes because its parent did. */
const EXIT_PARENT_GONE = 137;

function readOptions(): NannyLaunchOptions {
  const options = takeLaunchOptions(NANNY_OPTIONS_ENV, "a local cluster (Client.cluster, weft up)") as Partial<NannyLaunchOptions>;
  if (!Number.isInteger(options.nprocs) || options.nprocs! < 1) throw new Error(`${NANNY_OPTIONS_ENV} needs nprocs, a whole number >= 1`);
  if (typeof options.worker?.redis !== "string" || options.worker.redis === "") throw new Error(`${NANNY_OPTIONS_ENV} has no worker Redis URL`);
  if (options.logLevel !== undefined && !isLogLevel(options.logLevel)) throw new Error(`${NANNY_OPTIONS_ENV} has an unknown log level "${options.logLevel}"`);
  return options as NannyLaunchOptions;
}

function main(): void {
  let options: NannyLaunchOptions;
  try {
    options = readOptions();
  } catch (error) {
    jsonLogger({ fields: { component: "nanny", pid: process.pid } }).error((error as Error).message);
    process.exit(EXIT_BAD_OPTIONS);
  }
  const logger = jsonLogger({ level: options.logLevel, fields: { component: "nanny", pid: process.pid } });
  const nanny = Nanny.start({ nprocs: options.nprocs, worker: options.worker, logger });

  let stopping = false;
  const stop = () => {
    stopping = true;
    void nanny.stop().then(() => process.exit(EXIT_STOPPED));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.on("disconnect", () => {
    for (const child of nanny.children()) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // exited meanwhile
      }
    }
    process.exit(EXIT_PARENT_GONE);
  });
  // Done without a stop: every slot was given up.
  void nanny.done.then(() => {
    if (!stopping) process.exit(EXIT_GAVE_UP);
  });
}

main();
