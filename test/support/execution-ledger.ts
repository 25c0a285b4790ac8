import { readFileSync } from "node:fs";

/**
 * The accounting of a fault test: which tasks ran how often, and whether every execution beyond a
 * task's first has a fault to answer for it, one that happened after the task's previous execution
 * started and before this one (issue 13: "every extra execution is accounted for"). Tasks log each
 * execution as it starts (one line `key pid startedAtMs`, see `test/fixtures/chaos-tasks.ts`); the
 * test records each fault it causes.
 */

/** One execution of a task, as logged when it started. */
export interface Execution {
  readonly key: string;
  readonly pid: number;
  /** Unix ms, by the clock of the machine (the same for every process of the test). */
  readonly startedAt: number;
}

/** A fault the test caused, at the time (Unix ms) its signal had been sent. */
export type Fault =
  | { readonly kind: "worker-kill"; readonly at: number; readonly pid: number }
  | { readonly kind: "scheduler-kill"; readonly at: number }
  | { readonly kind: "redis-restart"; readonly at: number };

/**
 * Why a task ran again, most specific first: the worker that ran it before was killed (with what it
 * ran and held); the scheduler was killed or Redis restarted in between (either can make any task
 * run again); another worker was killed in between (a result lost there is made again from its
 * inputs, which may have run anywhere and been let go since).
 */
export type RerunCause = "its-worker-killed" | "scheduler-killed" | "redis-restarted" | "another-worker-killed";

/** An execution beyond a task's first, and the fault that accounts for it (none: unexplained). */
export interface ExtraExecution {
  readonly previous: Execution;
  readonly rerun: Execution;
  readonly cause: { readonly fault: Fault; readonly why: RerunCause } | undefined;
}

/** What {@link auditExecutions} found. */
export interface ExecutionAudit {
  /** Tasks expected to run. */
  readonly tasks: number;
  /** Executions logged for them. */
  readonly executions: number;
  /** Executions beyond each task's first. */
  readonly extra: readonly ExtraExecution[];
  /** Expected tasks that never ran. */
  readonly neverRan: readonly string[];
  /** Keys that ran and were not expected (a mistake of the test, or of the logging). */
  readonly unexpected: readonly string[];
}

/** Reads a run log: one {@link Execution} per line. Throws on a line that is not one (a torn write). */
export function readExecutions(file: string): Execution[] {
  const text = readFileSync(file, "utf8");
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const match = /^(\S+) (\d+) (\d+)$/.exec(line);
      if (match === null) throw new Error(`not a run log line: ${JSON.stringify(line)}`);
      return { key: match[1], pid: Number(match[2]), startedAt: Number(match[3]) };
    });
}

/**
 * Whether `fault` accounts for running a task again that last started as `previous`: the fault came
 * after that start and before the rerun's (times are whole milliseconds, so either may be equal).
 */
export function accountsFor(fault: Fault, previous: Execution, rerun: Execution): boolean {
  return fault.at >= previous.startedAt && fault.at <= rerun.startedAt;
}

/** Why `fault`, which {@link accountsFor} the rerun of a task that last ran as `previous`, made it run again. */
function causeOf(fault: Fault, previous: Execution): RerunCause {
  if (fault.kind === "worker-kill") return fault.pid === previous.pid ? "its-worker-killed" : "another-worker-killed";
  return fault.kind === "scheduler-kill" ? "scheduler-killed" : "redis-restarted";
}

const SPECIFICITY: readonly RerunCause[] = ["its-worker-killed", "scheduler-killed", "redis-restarted", "another-worker-killed"];

/**
 * Audits a test's executions against the tasks it expected and the faults it caused: every expected
 * task ran at least once, and each execution of a task after its first is matched with a fault that
 * {@link accountsFor} it, the most specific one (see {@link RerunCause}), or left unexplained
 * (`cause` undefined).
 *
 * @example
 * ```ts
 * const audit = auditExecutions(keys, readExecutions(runLog), faults);
 * expect(audit.neverRan).toEqual([]);
 * expect(audit.extra.filter((extra) => extra.cause === undefined)).toEqual([]);
 * ```
 */
export function auditExecutions(expected: Iterable<string>, executions: readonly Execution[], faults: readonly Fault[]): ExecutionAudit {
  const wanted = new Set(expected);
  const byKey = new Map<string, Execution[]>();
  for (const execution of executions) {
    let runs = byKey.get(execution.key);
    if (runs === undefined) byKey.set(execution.key, (runs = []));
    runs.push(execution);
  }
  const ordered = [...faults].sort((a, b) => a.at - b.at);
  const extra: ExtraExecution[] = [];
  for (const runs of byKey.values()) {
    runs.sort((a, b) => a.startedAt - b.startedAt);
    for (let i = 1; i < runs.length; i++) {
      const previous = runs[i - 1];
      const rerun = runs[i];
      const causes = ordered.filter((fault) => accountsFor(fault, previous, rerun)).map((fault) => ({ fault, why: causeOf(fault, previous) }));
      causes.sort((a, b) => SPECIFICITY.indexOf(a.why) - SPECIFICITY.indexOf(b.why));
      extra.push({ previous, rerun, cause: causes[0] });
    }
  }
  return {
    tasks: wanted.size,
    executions: executions.filter((execution) => wanted.has(execution.key)).length,
    extra,
    neverRan: [...wanted].filter((key) => !byKey.has(key)),
    unexpected: [...byKey.keys()].filter((key) => !wanted.has(key)),
  };
}
