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

interface Pending {
  readonly message: TaskMessage;
  readonly resolve: (report: TaskReport) => void;
}

/**
 * Runs task messages on a worker: gathers each task's inputs, hands it to the executor, keeps the
 * result in the store and reports how it ended. Tasks whose inputs are ready in the same tick go to
 * the executor in one batch.
 */
export class TaskRunner {
  private readonly pending = new Map<ExecutionRequest, Pending>();
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
    const gathered = await gatherInputs(message.inputs, this.options.store, this.options.client, {
      inFlight: this.fetches,
      onFetched: this.options.onFetched,
    });
    if (!gathered.ok) return { kind: "missing-data", key: message.key, attempt: message.attempt, missing: gathered.missing };
    const values = gathered.values;
    const args = values.size === 0 ? message.args : replaceRefsInArray(message.args, (ref) => values.get(ref.key));
    const request: ExecutionRequest = { key: message.key, fn: message.fn, args };
    return new Promise((resolve) => {
      this.pending.set(request, { message, resolve });
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
      const { key, attempt } = pending.message;
      if (!outcome.ok) {
        pending.resolve({ kind: "erred", key, attempt, error: outcome.error, durationMs: outcome.durationMs });
        continue;
      }
      // A result that cannot travel would fail every dependent elsewhere, later and far from its cause.
      const unsendable = checkSerializable(outcome.value, "result");
      if (unsendable !== undefined) {
        const error = { name: "UnserializableResult", message: `the result cannot be sent to other workers: ${unsendable}` };
        this.discard(outcome.value);
        pending.resolve({ kind: "erred", key, attempt, error, durationMs: outcome.durationMs });
        continue;
      }
      const nbytes = this.options.store.put(key, outcome.value);
      pending.resolve({
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
