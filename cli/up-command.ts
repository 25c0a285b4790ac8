import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { LocalCluster } from "../client/local-cluster.js";
import { isLogLevel, LOG_LEVELS } from "../protocol/logger.js";
import { resolveApiToken, type TokenSource } from "../scheduler/http/api-token.js";
import { DEFAULT_HTTP_PORT } from "../protocol/job-api.js";
import { parseCount, parseDataRoots, parseImports, parseMemoryLimit, parsePort } from "./command-arguments.js";

function usage(): string {
  return `usage: weft up [--workers N] [--threads-per-worker T] [--import ./tasks.js ...] [options]

Runs a whole cluster on this machine until SIGINT (Ctrl-C) or SIGTERM: a private redis-server
(from PATH), the scheduler with its HTTP API, and N worker processes. Prints the API's address and
where its token is; stopping it stops everything it started, and so does killing it.

The HTTP API's token is --api-token, else WEFT_TOKEN, else the token saved in the state directory,
else a new one saved there (mode 0600), as for weft scheduler; it is never printed.

options:
  --workers             worker processes (default: CPU count, at most 4)
  --threads-per-worker  tasks each worker runs at once (default: CPU count / workers, at least 1)
  --import              module registering task functions, loaded by every worker; repeatable
  --http-port           port of the HTTP API; 0 picks a free one (default ${DEFAULT_HTTP_PORT})
  --host                interface of the HTTP API (default 127.0.0.1: this machine only)
  --api-token           bearer token of the HTTP API (default: WEFT_TOKEN, or the saved token)
  --state-dir           where the generated API token is saved (default: WEFT_STATE_DIR, else
                        $XDG_STATE_HOME/weft, else ~/.local/state/weft)
  --memory-limit        resident memory per worker, such as 512MB or 2GB (default: no limit)
  --data-root           directory the built-in CSV, Parquet and Arrow IPC tasks of graphs sent over
                        HTTP may read and write; repeatable (default: none, such graphs get 403)
  --log-level           ${LOG_LEVELS.join(" | ")} for the cluster's own log lines, JSON on stderr (default warn)`;
}

/** `weft up ...`: runs a local cluster in the foreground until SIGINT or SIGTERM. */
export async function upCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        workers: { type: "string" },
        "threads-per-worker": { type: "string" },
        import: { type: "string", multiple: true, default: [] },
        "http-port": { type: "string", default: String(DEFAULT_HTTP_PORT) },
        host: { type: "string", default: "127.0.0.1" },
        "api-token": { type: "string" },
        "state-dir": { type: "string" },
        "memory-limit": { type: "string" },
        "data-root": { type: "string", multiple: true, default: [] },
        "log-level": { type: "string", default: "warn" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    return refuse(`${(error as Error).message}\n\n${usage()}`);
  }
  const { values } = parsed;
  if (values.help) {
    console.log(usage());
    return 0;
  }
  const workers = values.workers === undefined ? Math.min(availableParallelism(), 4) : parseCount("up", "--workers", values.workers);
  const threadsPerWorker =
    values["threads-per-worker"] === undefined
      ? Math.max(1, Math.floor(availableParallelism() / (workers ?? 1)))
      : parseCount("up", "--threads-per-worker", values["threads-per-worker"]);
  const port = parsePort("up", "--http-port", values["http-port"]);
  if (workers === null || threadsPerWorker === null || port === null) return 2;
  const logLevel = values["log-level"];
  if (!isLogLevel(logLevel)) return refuse(`unknown log level "${logLevel}"; use ${LOG_LEVELS.join(", ")}`);
  const memoryLimit = parseMemoryLimit("up", values["memory-limit"]);
  const imports = parseImports("up", values.import);
  const dataRoots = parseDataRoots("up", values["data-root"]);
  if (memoryLimit === null || imports === null || dataRoots === null) return 2;
  let token;
  try {
    token = await resolveApiToken({ flag: values["api-token"], stateDir: values["state-dir"] });
  } catch (error) {
    return refuse((error as Error).message);
  }

  let cluster: LocalCluster;
  try {
    cluster = await LocalCluster.start({
      workers,
      threadsPerWorker,
      imports,
      memoryLimit,
      logLevel,
      dataRoots,
      http: { host: values.host, port, token: token.token },
    });
  } catch (error) {
    const hint = (error as NodeJS.ErrnoException).code === "EADDRINUSE" ? ` (a weft scheduler running already? --http-port 0 picks a free port)` : "";
    console.error(`weft up: ${(error as Error).message}${hint}`);
    return 1;
  }
  // Listeners stay until everything is down: a second Ctrl-C must not kill this process halfway.
  let onSignal!: (signal: NodeJS.Signals) => void;
  const signalled = new Promise<NodeJS.Signals>((resolveSignal) => (onSignal = resolveSignal));
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, onSignal);
  try {
    const url = cluster.api!.url;
    console.log(cluster.describe());
    console.log(`  API token: ${whereTheTokenIs(token.source, token.file)}`);
    if (token.source === "generated" || token.source === "state-file") console.log(`  export WEFT_URL=${url} WEFT_TOKEN=$(cat ${token.file})`);
    console.log("  Ctrl-C stops everything.");
    const signal = await signalled;
    console.error(`weft up: stopping (${signal})`);
    await cluster.stop();
    return 0;
  } finally {
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.off(signal, onSignal);
  }
}

function whereTheTokenIs(source: TokenSource, file: string): string {
  switch (source) {
    case "flag":
      return "the one given by --api-token";
    case "environment":
      return "the one in WEFT_TOKEN";
    case "state-file":
      return `in ${file}`;
    case "generated":
      return `new, saved in ${file} (readable by this user only)`;
  }
}

function refuse(message: string): number {
  console.error(`weft up: ${message}`);
  return 2;
}
