import type { Progress } from "./client-api.js";
import { renderProgressLine } from "./progress-line.js";

/** Where a {@link progressBar} draws: a writable stream, a terminal when `isTTY`. */
export interface ProgressStream {
  write(text: string): unknown;
  /** True on a terminal: the bar is redrawn in place; otherwise it prints a few plain lines. */
  readonly isTTY?: boolean;
  /** The terminal's width: a live line is cut to fit, so that redrawing it stays on one line. */
  readonly columns?: number;
}

/** Options of {@link progressBar}. Every field is optional. */
export interface ProgressBarOptions {
  /** Where to draw. Default `process.stderr`, so that the program's output on stdout stays clean. */
  readonly stream?: ProgressStream;
  /** Characters between the brackets. Default 30. */
  readonly width?: number;
  /** On a terminal, least time between two redraws, in ms. Default 100. */
  readonly minRedrawMs?: number;
}

/** On a terminal, how often the line is redrawn while no task ends, so that elapsed time and ETA move. */
const TICK_MS = 1000;
/** Off a terminal, a line is printed as each of these fractions of the tasks is first reached. */
const PLAIN_MILESTONES = [0.25, 0.5, 0.75];

/** What the bar knows of one computation. */
interface Followed {
  readonly startedAt: number;
  last: Progress;
  /** Plain output: milestones printed so far. */
  milestones: number;
  tick: NodeJS.Timeout | undefined;
}

/**
 * A ready-made terminal progress bar, as `dask.diagnostics.ProgressBar`: pass it as `onProgress`,
 * or set `progress: true` on the client. Each computation gets a line with a bar of its finished
 * tasks, the counts, the elapsed time and an estimate of the time left; the last frame says how it
 * ended, with 0 running, and a failed computation's bar shows the failure instead of filling up.
 *
 * On a terminal the line is redrawn in place (at most every 100 ms, and every second while no task
 * ends); elsewhere (a log file, a pipe) it prints a line when the computation starts, at 25%, 50% and
 * 75% of its tasks, and at its end. Computations that run at once each keep their own state; the line
 * moves to the one that reported last.
 *
 * @example
 * ```ts
 * const client = await Client.local({ onProgress: progressBar() });
 * await client.compute(total);
 * // [##############################] 100% 1024/1024 tasks, 0 running | 2.3 s, completed
 * ```
 */
export function progressBar(options: ProgressBarOptions = {}): (progress: Progress) => void {
  const stream = options.stream ?? process.stderr;
  const width = options.width ?? 30;
  const minRedrawMs = options.minRedrawMs ?? 100;
  const followed = new Map<string, Followed>();
  /** On a terminal: the computation whose line is under the cursor, while that line is live. */
  let onLine: string | undefined;
  let drawnAt = 0;
  let pending: NodeJS.Timeout | undefined;

  const line = (job: Followed, now: number): string => {
    const { tasks, state, error } = job.last;
    const elapsedMs = now - job.startedAt;
    const done = tasks.finished + tasks.erred;
    const etaMs = done > 0 && done < tasks.total ? (elapsedMs * (tasks.total - done)) / done : undefined;
    return renderProgressLine(tasks, { width, elapsedMs, etaMs, state, error });
  };

  const draw = (id: string) => {
    clearTimeout(pending);
    pending = undefined;
    const job = followed.get(id);
    if (job === undefined) return;
    const now = performance.now();
    drawnAt = now;
    const ended = job.last.state !== "running" && job.last.state !== "waiting";
    if (onLine !== undefined && onLine !== id) stream.write("\n");
    let text = line(job, now);
    // A live line longer than the terminal would wrap, and the next redraw would start a new line.
    if (!ended && stream.columns !== undefined && text.length >= stream.columns) text = text.slice(0, Math.max(0, stream.columns - 1));
    stream.write(`\r${text}\x1b[K${ended ? "\n" : ""}`);
    onLine = ended ? undefined : id;
  };

  const end = (id: string, job: Followed) => {
    clearInterval(job.tick);
    followed.delete(id);
  };

  return (progress) => {
    const id = progress.job;
    let job = followed.get(id);
    const first = job === undefined;
    if (job === undefined) {
      job = { startedAt: performance.now(), last: progress, milestones: 0, tick: undefined };
      followed.set(id, job);
    }
    job.last = progress;
    const ended = progress.state !== "running" && progress.state !== "waiting";
    if (stream.isTTY !== true) {
      const share = progress.tasks.total === 0 ? 0 : progress.tasks.finished / progress.tasks.total;
      let reached = job.milestones;
      while (reached < PLAIN_MILESTONES.length && share >= PLAIN_MILESTONES[reached]) reached++;
      if (first || ended || reached > job.milestones) stream.write(`${line(job, performance.now())}\n`);
      job.milestones = reached;
      if (ended) end(id, job);
      return;
    }
    if (first) {
      job.tick = setInterval(() => {
        if (onLine === id) draw(id);
      }, TICK_MS);
      // The bar must never keep a program alive.
      job.tick.unref();
    }
    if (ended) {
      draw(id);
      end(id, job);
    } else if (first || onLine !== id || performance.now() - drawnAt >= minRedrawMs) {
      draw(id);
    } else if (pending === undefined) {
      pending = setTimeout(() => draw(id), minRedrawMs - (performance.now() - drawnAt));
      pending.unref();
    }
  };
}
