import type { GraphJobFailure, JobState, TaskCounts } from "../protocol/job-api.js";

/** What a progress line says besides the task counts. Every field is optional. */
export interface ProgressLineOptions {
  /** Characters between the brackets. Default 30. */
  readonly width?: number;
  /** Time since the computation started; shown when given. */
  readonly elapsedMs?: number;
  /** Estimated time left; shown while the computation runs, when given. */
  readonly etaMs?: number;
  /** `running` (the default) while it runs; once it ended, how, said at the end of the line. */
  readonly state?: JobState;
  /** Why it failed, for a failed computation. */
  readonly error?: Pick<GraphJobFailure, "message">;
}

/**
 * One line showing a computation's progress: a bar of finished tasks (`#`) and erred ones (`X`),
 * the percentage finished, the counts, the time and, at the end, how it ended. A failed
 * computation's bar is never full: only finished tasks fill it.
 *
 * @example
 * ```ts
 * renderProgressLine(tasks, { elapsedMs: 1200, etaMs: 3100 });
 * // "[#########·····················]  30% 3/10 tasks, 2 running | 1.2 s elapsed, ETA 3.1 s"
 * renderProgressLine(tasks, { elapsedMs: 1500, state: "failed", error: { message: 'task "x" failed: boom' } });
 * // "[#########X····················]  30% 3/10 tasks, 0 running, 1 erred | 1.5 s, FAILED: task "x" failed: boom"
 * ```
 */
export function renderProgressLine(tasks: TaskCounts, options: ProgressLineOptions = {}): string {
  const width = options.width ?? 30;
  const state = options.state ?? "running";
  const share = (count: number) => (tasks.total === 0 ? 0 : count / tasks.total);
  const whole = tasks.total === 0 && state !== "failed" && state !== "cancelled";
  const finished = whole ? width : Math.min(width, Math.floor(share(tasks.finished) * width));
  const erred = Math.min(width - finished, Math.ceil(share(tasks.erred) * width));
  const bar = "#".repeat(finished) + "X".repeat(erred) + "·".repeat(width - finished - erred);
  // Floored, so that 100% means every task finished.
  const percent = whole ? 100 : Math.floor(share(tasks.finished) * 100);
  let line = `[${bar}] ${String(percent).padStart(3)}% ${tasks.finished}/${tasks.total} tasks, ${tasks.processing} running`;
  if (tasks.erred > 0) line += `, ${tasks.erred} erred`;
  const times: string[] = [];
  if (options.elapsedMs !== undefined) times.push(state === "running" ? `${formatDuration(options.elapsedMs)} elapsed` : formatDuration(options.elapsedMs));
  if (state === "running" && options.etaMs !== undefined) times.push(`ETA ${formatDuration(options.etaMs)}`);
  if (state === "completed" || state === "cancelled") times.push(state);
  if (state === "failed") times.push(`FAILED${options.error === undefined ? "" : `: ${firstLine(options.error.message)}`}`);
  return times.length === 0 ? line : `${line} | ${times.join(", ")}`;
}

/**
 * A duration for people: `0.4 s`, `12.3 s`, `2m05s`, `1h02m`.
 *
 * @example
 * ```ts
 * formatDuration(125_000); // "2m05s"
 * ```
 */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, ms) / 1000;
  // Below a minute as it would print with one decimal, so 59.96 s is "1m00s", not "60.0 s".
  if (seconds < 59.95) return `${seconds.toFixed(1)} s`;
  const wholeSeconds = Math.round(seconds);
  if (wholeSeconds < 3600) return `${Math.floor(wholeSeconds / 60)}m${String(wholeSeconds % 60).padStart(2, "0")}s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}

function firstLine(text: string): string {
  const end = text.indexOf("\n");
  return end < 0 ? text : text.slice(0, end);
}
