import { checkSerializable } from "../graph/wire-form.js";
import { type Key, replaceRefsInArray } from "../graph/task-spec.js";
import type { DataClient } from "../protocol/data-client.js";
import type { ExecutionOutcome, ExecutionRequest, Executor, OutcomeSink } from "../executor/executor.js";
import { type FetchOutcome, gatherInputs } from "./input-gatherer.js";
import type { ResultStore } from "./result-store.js";
import type { TaskMessage } from "../protocol/task-message.js";
import type { TaskReport } from "../protocol/task-report.js";

/** Options of {@link TaskRunner}. */
export interface TaskRunnerOptions {
  readonly store: ResultStore;
  readonly client: DataClient;
  /** Results up to this many bytes travel inline with their report. Default 16 KiB. */
  readonly inlineBytes?: number;
  /**
   * Called once with each input fetched from a peer, as it arrives (before any task reading it
   * runs). Default: the copy is dropped once the tasks waiting for it have it.
   */
  readonly onFetched?: (key: Key, value: unknown) => void;
}

/** One task message being run: gathering its inputs, then in the executor. */
interface Run {
  readonly message: TaskMessage;
  /** What the executor was given, once the inputs are in. */
  request: ExecutionRequest | undefined;
  /** Ends the run with its report, once it is in the executor. */
  settle: ((report: TaskReport) => void) | undefined;
  /** The scheduler cancelled it: it reports `cancelled`, whatever the executor says. */
  cancelled: boolean;
}

/**
 * Runs task messages on a worker: gathers each task's inputs, hands it to the executor, keeps the
 * result in the store and reports how it ended. Tasks whose inputs are ready in the same tick go to
 * the executor in one batch. A task the scheduler cancels ({@link cancel}) is ended: dropped before
 * it runs, or ended by the executor while it runs (its worker thread is replaced).
 */
export class TaskRunner {
  private readonly pending = new Map<ExecutionRequest, Run>();
  /** Runs not reported yet, by key: what {@link cancel} looks for. */
  private readonly runs = new Map<Key, Run[]>();
  private batch: ExecutionRequest[] = [];
  private flushQueued = false;
  private executor!: Executor;
  private readonly inlineBytes: number;
  /**
   * Inputs being fetched from peers, shared by every task that needs them meanwhile: two tasks here
   * reading the same remote block (the scheduler sends them together on purpose) make one transfer.
   */
  private readonly fetches = new Map<Key, Promise<FetchOutcome>>();

  constructor(private readonly options: TaskRunnerOptions) {
    this.inlineBytes = options.inlineBytes ?? 16 * 1024;
  }

  /** The sink to create the executor with; outcomes come back through it. */
  readonly sink: OutcomeSink = (outcomes) => this.onOutcomes(outcomes);

  /** Attaches the executor made with {@link sink}. */
  useExecutor(executor: Executor): void {
    this.executor = executor;
  }

  /** Runs one task; resolves with its report, never rejects. */
  async run(message: TaskMessage): Promise<TaskReport> {
    const run: Run = { message, request: undefined, settle: undefined, cancelled: false };
    const runs = this.runs.get(message.key);
    if (runs === undefined) this.runs.set(message.key, [run]);
    else runs.push(run);
    try {
      return await this.execute(run);
    } finally {
      const left = this.runs.get(message.key)?.filter((other) => other !== run) ?? [];
      if (left.length > 0) this.runs.set(message.key, left);
      else this.runs.delete(message.key);
    }
  }

  /** Keys of the tasks taken and not reported yet: gathering inputs, waiting for a thread, or running. */
  runningKeys(): Key[] {
    return [...this.runs.keys()];
  }

  /**
   * The scheduler no longer wants these tasks here: each run of them not reported yet reports
   * `cancelled` at once; one still gathering its inputs never reaches the executor, and one in the
   * executor is cancelled there (a running one's thread is terminated and replaced).
   */
  cancel(keys: readonly Key[]): void {
    const requests: ExecutionRequest[] = [];
    for (const key of keys) {
      for (const run of this.runs.get(key) ?? []) {
        if (run.cancelled) continue;
        run.cancelled = true;
        if (run.request === undefined || !this.pending.delete(run.request)) continue;
        requests.push(run.request);
        run.settle!(cancelledReport(run.message));
      }
    }
    if (requests.length === 0) return;
    const cancelled = new Set(requests);
    this.batch = this.batch.filter((request) => !cancelled.has(request));
    this.executor.cancel(requests);
  }

  private async execute(run: Run): Promise<TaskReport> {
    const { message } = run;
    const gathered = await gatherInputs(message.inputs, this.options.store, this.options.client, {
      inFlight: this.fetches,
      onFetched: this.options.onFetched,
    });
    if (run.cancelled) return cancelledReport(message);
    if (!gathered.ok) return { kind: "missing-data", key: message.key, attempt: message.attempt, missing: gathered.missing };
    const values = gathered.values;
    const args = values.size === 0 ? message.args : replaceRefsInArray(message.args, (ref) => values.get(ref.key));
    const request: ExecutionRequest =
      message.timeoutMs === undefined ? { key: message.key, fn: message.fn, args } : { key: message.key, fn: message.fn, args, timeoutMs: message.timeoutMs };
    return new Promise((resolve) => {
      run.request = request;
      run.settle = resolve;
      this.pending.set(request, run);
      this.batch.push(request);
      if (!this.flushQueued) {
        this.flushQueued = true;
        queueMicrotask(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushQueued = false;
    const batch = this.batch;
    this.batch = [];
    if (batch.length > 0) this.executor.run(batch);
  }

  private onOutcomes(outcomes: readonly ExecutionOutcome[]): void {
    for (const outcome of outcomes) {
      const pending = this.pending.get(outcome.request);
      if (pending === undefined) continue;
      this.pending.delete(outcome.request);
      const { key, attempt, fn, args } = pending.message;
      const resolve = pending.settle!;
      if (!outcome.ok) {
        resolve({ kind: "erred", key, attempt, error: outcome.error, durationMs: outcome.durationMs });
        continue;
      }
      // A result that cannot travel would fail every dependent elsewhere, later and far from its cause.
      const unsendable = checkSerializable(outcome.value, "result");
      if (unsendable !== undefined) {
        const error = { name: "UnserializableResult", message: `the result cannot be sent to other workers: ${unsendable}` };
        this.discard(outcome.value);
        resolve({ kind: "erred", key, attempt, error, durationMs: outcome.durationMs });
        continue;
      }
      const nbytes = this.options.store.put(key, outcome.value, { fn, args });
      resolve({
        kind: "finished",
        key,
        attempt,
        nbytes,
        durationMs: outcome.durationMs,
        ...(nbytes <= this.inlineBytes && { inline: { value: outcome.value } }),
      });
    }
  }

  /** A result nothing will hold: its memory may be reused at once. */
  private discard(value: unknown): void {
    const held = this.executor.heldValues;
    held?.hold(value);
    held?.release(value);
  }
}

function cancelledReport(message: TaskMessage): TaskReport {
  return { kind: "cancelled", key: message.key, attempt: message.attempt };
}
