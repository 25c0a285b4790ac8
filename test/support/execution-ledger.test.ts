import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { auditExecutions, readExecutions, type Execution, type Fault } from "./execution-ledger.js";

/** The chaos test's accounting, checked on its own: it must catch what it is there to catch. */

const run = (key: string, pid: number, startedAt: number): Execution => ({ key, pid, startedAt });

describe("auditing executions against faults", () => {
  it("explains a rerun by a fault between the two runs, the kill of the worker that ran it first", () => {
    const faults: Fault[] = [
      { kind: "worker-kill", at: 60, pid: 8 },
      { kind: "scheduler-kill", at: 70 },
      { kind: "worker-kill", at: 100, pid: 7 },
    ];
    const audit = auditExecutions(["a"], [run("a", 7, 50), run("a", 8, 150)], faults);
    expect(audit.extra).toEqual([{ previous: run("a", 7, 50), rerun: run("a", 8, 150), cause: { fault: faults[2], why: "its-worker-killed" } }]);
  });

  it("explains a rerun by a scheduler kill, a Redis restart, or last, the kill of another worker", () => {
    const faults: Fault[] = [
      { kind: "worker-kill", at: 60, pid: 9 },
      { kind: "scheduler-kill", at: 80 },
      { kind: "redis-restart", at: 200 },
    ];
    const audit = auditExecutions(["a", "b", "c"], [run("a", 7, 50), run("a", 8, 100), run("b", 8, 150), run("b", 8, 250), run("c", 7, 50), run("c", 7, 70)], faults);
    expect(audit.extra.map((extra) => [extra.rerun.key, extra.cause?.why])).toEqual([
      ["a", "scheduler-killed"],
      ["b", "redis-restarted"],
      ["c", "another-worker-killed"],
    ]);
  });

  it("leaves unexplained a rerun with no fault between its runs", () => {
    const audit = auditExecutions(
      ["a", "b"],
      [run("a", 7, 50), run("a", 7, 60), run("b", 8, 120), run("b", 8, 130)],
      [
        { kind: "worker-kill", at: 100, pid: 7 },
        { kind: "scheduler-kill", at: 200 },
      ],
    );
    expect(audit.extra.map((extra) => [extra.rerun.key, extra.cause])).toEqual([
      ["a", undefined],
      ["b", undefined],
    ]);
  });

  it("counts tasks, executions and extra ones, and names the tasks that never ran and the keys nobody expected", () => {
    const audit = auditExecutions(["a", "b"], [run("a", 7, 1), run("a", 7, 2), run("stray", 7, 3)], []);
    expect(audit).toMatchObject({ tasks: 2, executions: 2, neverRan: ["b"], unexpected: ["stray"] });
    expect(audit.extra).toHaveLength(1);
  });

  it("reads a run log line by line, and refuses a torn line", () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-ledger-"));
    try {
      writeFileSync(join(dir, "good.log"), "pairs/leaf-1 4242 1700000000000\nwide/sum-1-0 4243 1700000000005\n");
      expect(readExecutions(join(dir, "good.log"))).toEqual([run("pairs/leaf-1", 4242, 1700000000000), run("wide/sum-1-0", 4243, 1700000000005)]);
      writeFileSync(join(dir, "torn.log"), "pairs/leaf-1 4242 17000pairs/leaf-2 4242 1700000000001\n");
      expect(() => readExecutions(join(dir, "torn.log"))).toThrow(/not a run log line/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
