import { decodeValue, encodeValue } from "../graph/codec.js";
import type { Key } from "../graph/task-spec.js";
import type { TaskFailure } from "./task-failure.js";
import type { WorkerId } from "./ids.js";

/** How a task ended on a worker, as reported to the scheduler. */
export type TaskReport =
  | {
      readonly kind: "finished";
      readonly key: Key;
      readonly attempt: number;
      readonly nbytes: number;
      readonly durationMs: number;
      /** The result itself, when it is small enough to travel with the report. */
      readonly inline?: { readonly value: unknown };
    }
  | { readonly kind: "erred"; readonly key: Key; readonly attempt: number; readonly error: TaskFailure; readonly durationMs: number }
  | {
      readonly kind: "missing-data";
      readonly key: Key;
      readonly attempt: number;
      readonly missing: readonly { readonly key: Key; readonly worker: WorkerId }[];
    }
  /**
   * The scheduler cancelled the task and the worker ended it (its thread was replaced) or dropped it
   * before it ran: nothing to record, but the report clears it from the worker's in-flight tasks.
   */
  | { readonly kind: "cancelled"; readonly key: Key; readonly attempt: number };

/** Encodes a batch of reports for the events stream, one stream entry per batch. */
export function encodeReports(reports: readonly TaskReport[]): Uint8Array {
  return encodeValue(reports.map(toWire));
}

/** Decodes a batch of reports from the events stream. */
export function decodeReports(bytes: Uint8Array): TaskReport[] {
  const decoded = decodeValue(bytes);
  if (!Array.isArray(decoded)) throw new Error("not a batch of task reports");
  return decoded.map(fromWire);
}

function toWire(report: TaskReport): unknown {
  switch (report.kind) {
    case "finished":
      return report.inline === undefined
        ? ["f", report.key, report.attempt, report.nbytes, report.durationMs]
        : ["f", report.key, report.attempt, report.nbytes, report.durationMs, report.inline.value];
    case "erred":
      return ["e", report.key, report.attempt, report.error, report.durationMs];
    case "missing-data":
      return ["m", report.key, report.attempt, report.missing.map((m) => [m.key, m.worker])];
    case "cancelled":
      return ["c", report.key, report.attempt];
  }
}

function fromWire(raw: unknown): TaskReport {
  const [tag, key, attempt, ...rest] = raw as [string, Key, number, ...unknown[]];
  if (tag === "f") {
    const [nbytes, durationMs, ...inline] = rest as [number, number, ...unknown[]];
    return inline.length === 0
      ? { kind: "finished", key, attempt, nbytes, durationMs }
      : { kind: "finished", key, attempt, nbytes, durationMs, inline: { value: inline[0] } };
  }
  if (tag === "e") {
    const [error, durationMs] = rest as [TaskFailure, number];
    return { kind: "erred", key, attempt, error, durationMs };
  }
  if (tag === "m") {
    const [missing] = rest as [[Key, WorkerId][]];
    return { kind: "missing-data", key, attempt, missing: missing.map(([k, worker]) => ({ key: k, worker })) };
  }
  if (tag === "c") return { kind: "cancelled", key, attempt };
  throw new Error(`unknown task report kind ${JSON.stringify(tag)}`);
}
