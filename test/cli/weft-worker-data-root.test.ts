import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { taskSpec } from "../../graph/task-spec.js";
import { startRedisServer, type RedisServer } from "../../protocol/redis/private-redis-server.js";
import { DistributedScheduler } from "../../scheduler/distributed-scheduler.js";
import { runGraph } from "../../scheduler/run-graph.js";
import { waitForWorkers } from "../support/cluster-setup.js";
import { exited } from "../support/processes.js";
import { startWeft, type StartedWeft } from "../support/weft-command.js";

/**
 * `weft worker --data-root`: for workers on other hosts than the scheduler, the file tasks check
 * their paths again on the worker's own filesystem, whoever submitted the graph.
 */

const base = mkdtempSync(join(tmpdir(), "weft-worker-root-"));
const root = join(base, "root");
mkdirSync(root);
mkdirSync(join(base, "outside"));
writeFileSync(join(root, "in.csv"), "x\n1\n2\n");
writeFileSync(join(base, "outside", "secret.csv"), "x\n3\n");
symlinkSync(join(base, "outside", "secret.csv"), join(root, "link.csv"));

let redis: RedisServer;
let worker: StartedWeft | undefined;
let scheduler: DistributedScheduler | undefined;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterEach(async () => {
  await scheduler?.stop();
  if (worker !== undefined && worker.command.exitCode === null) {
    worker.command.kill("SIGTERM");
    await exited(worker.command);
  }
  scheduler = worker = undefined;
});
afterAll(async () => {
  await redis?.stop();
  rmSync(base, { recursive: true, force: true });
});

describe("a worker started with --data-root", () => {
  it("runs file tasks inside its roots and fails those outside, naming the path and the flag", async () => {
    worker = startWeft(["worker", "--redis", redis.url, "--prefix", "roots", "--nthreads", "1", "--data-root", root, "--log-level", "error"]);
    scheduler = await DistributedScheduler.start({ redis: redis.url, prefix: "roots", tickMs: 50 });
    await waitForWorkers(scheduler, 1, 30_000);

    const read = (path: string) => runGraph(scheduler!, new Map([["rows", taskSpec("rows", "weft.df.readCsvBlock", [blockOf(path)])]]), ["rows"], `c-${path}`);
    const [table] = (await read(join(root, "in.csv"))) as [{ numRows: number }];
    expect(table.numRows).toBe(2);
    await expect(read(join(base, "outside", "secret.csv"))).rejects.toThrow(/this worker may not read .*secret\.csv: outside the data roots.*--data-root/);
    await expect(read(join(root, "link.csv"))).rejects.toThrow(/this worker may not read .*link\.csv: outside the data roots \(really .*secret\.csv\)/);
  }, 60_000);
});

function blockOf(path: string) {
  return { path, start: 0, end: 1 << 20, skipHeader: true, delimiter: ",", positions: [0], names: ["x"], kinds: ["int"] };
}
