import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { COMPILED_CLI } from "../support/compiled-weft.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));

/** Runs the CLI compiled as the package ships it (see COMPILED_CLI). */
async function weft(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [COMPILED_CLI, ...args], { cwd: root });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failed = error as { stdout: string; stderr: string; code: number };
    return { stdout: failed.stdout, stderr: failed.stderr, code: failed.code };
  }
}

describe("weft bench", () => {
  it.each(["independent", "tree"])("prints one JSON line for the %s workload with --json", async (workload) => {
    const { stdout, code } = await weft("bench", workload, "--executor", "sync", "--tasks", "256", "--repeat", "3", "--warmup", "1", "--json");
    expect(code).toBe(0);
    const lines = stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const result = JSON.parse(lines[0]);
    expect(Object.keys(result).sort()).toEqual(["executor", "seconds", "tasks", "tasksPerSecond", "workload"]);
    expect(result).toMatchObject({ workload, executor: "sync", tasks: workload === "tree" ? 511 : 257 });
    expect(result.seconds).toBeGreaterThan(0);
    expect(result.tasksPerSecond).toBeCloseTo(result.tasks / result.seconds, 6);
  });

  it("runs df-groupby-mean over rows held in 16 partitions, its means checked against the data", async () => {
    const { stdout, code } = await weft("bench", "df-groupby-mean", "--executor", "threads", "--nthreads", "2", "--tasks", "16000", "--repeat", "2", "--warmup", "1", "--json");
    expect(code).toBe(0);
    // 16 partial aggregations, 2 combines, 1 combine and the final table.
    expect(JSON.parse(stdout.trim())).toMatchObject({ workload: "df-groupby-mean", executor: "threads", tasks: 20 });
  });

  it("runs on the threads executor", async () => {
    const { stdout, code } = await weft("bench", "tree", "--executor", "threads", "--nthreads", "2", "--tasks", "128", "--repeat", "2", "--warmup", "1");
    expect(code).toBe(0);
    expect(stdout).toMatch(/^tree on threads: 255 tasks in [\d.]+ ms \(median of 2\) = [\d,]+ tasks\/s; graph built in/);
  });

  it("runs on a distributed cluster it starts itself: private redis-server, scheduler and 2 worker processes", async () => {
    const { stdout, code } = await weft("bench", "tree", "--executor", "distributed", "--workers", "2", "--tasks", "128", "--repeat", "2", "--warmup", "1", "--json");
    expect(code).toBe(0);
    expect(JSON.parse(stdout.trim())).toMatchObject({ workload: "tree", executor: "distributed", tasks: 255 });
  }, 60_000);

  it("times HTTP round trips of a 1-task graph against a cluster it starts itself, printing one JSON line", async () => {
    const { stdout, code } = await weft("bench", "http-roundtrip", "--tasks", "20", "--warmup", "5", "--json");
    expect(code).toBe(0);
    const lines = stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const result = JSON.parse(lines[0]);
    expect(result).toMatchObject({ workload: "http-roundtrip", executor: "distributed", roundTrips: 20 });
    expect(result.medianMs).toBeGreaterThan(0);
    expect(result.p90Ms).toBeGreaterThanOrEqual(result.medianMs);
    expect(result.waitP90Ms).toBeGreaterThanOrEqual(result.waitMedianMs);
  }, 90_000);

  it("refuses an unknown workload, naming it and the known ones", async () => {
    const { stderr, code } = await weft("bench", "nope");
    expect(code).toBe(2);
    expect(stderr).toContain('unknown workload "nope"; known: independent, tree');
  });

  it("refuses an unknown executor", async () => {
    const { stderr, code } = await weft("bench", "tree", "--executor", "gpu");
    expect(code).toBe(2);
    expect(stderr).toContain('unknown executor "gpu"');
  });

  it("refuses a warm-up count that is not a whole number", async () => {
    const { stderr, code } = await weft("bench", "tree", "--warmup", "some");
    expect(code).toBe(2);
    expect(stderr).toContain('--warmup must be a whole number >= 0, got "some"');
  });

  it("refuses a task count that is not a whole number", async () => {
    const { stderr, code } = await weft("bench", "tree", "--tasks", "ten");
    expect(code).toBe(2);
    expect(stderr).toContain('--tasks must be a whole number >= 1, got "ten"');
  });
});
