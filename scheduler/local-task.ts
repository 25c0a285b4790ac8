import type { Key, Ref, TaskSpec } from "../graph/task-spec.js";
import { replaceRefsInArray, taskSpec } from "../graph/task-spec.js";
import type { ExecutionRequest } from "../executor/executor.js";
import type { SubmittedTask } from "./core/events.js";

/**
 * One task of the local scheduler, in every role it plays: the task submitted to the core (its own
 * `runSpec`, handed back with every command about it), the request an executor runs, and the cell
 * holding its result. Inputs are read from the dependencies' cells, which the core lists with each
 * `assign`, so results need no table keyed by name.
 */
export class LocalTask implements SubmittedTask, ExecutionRequest {
  readonly runSpec: LocalTask = this;
  /** The arguments to run with: the spec's, with references replaced by inputs once assigned. */
  args: readonly unknown[];
  /** The result, while held. */
  value: unknown = undefined;
  hasValue = false;
  /** Data a client scattered (see `SubmittedTask.scattered`): the spec's one argument is the data. */
  scattered = false;
  /** The timeout of the job that submitted it, for a task without its own. */
  jobTimeoutMs: number | undefined = undefined;

  constructor(
    /** The task; replaced by one without its data once scattered data is held (see {@link letGoOfScatteredData}). */
    public spec: TaskSpec,
    /** Priority from the graph's ordering. */
    readonly order: number,
  ) {
    this.args = spec.args;
  }

  // Read through to the spec rather than copied: a graph holds many of these at once.
  get key(): Key {
    return this.spec.key;
  }

  get deps(): readonly Key[] {
    return this.spec.deps;
  }

  get fn(): string {
    return this.spec.fn;
  }

  get prefix(): string {
    return this.spec.fn;
  }

  get userPriority(): number | undefined {
    return this.spec.priority;
  }

  get retries(): number | undefined {
    return this.spec.retries;
  }

  /** Its own timeout, else its job's (see `TaskOptions.timeoutMs`). */
  get timeoutMs(): number | undefined {
    return this.spec.timeoutMs ?? this.jobTimeoutMs;
  }

  /**
   * Scattered data is held by a worker now: the scheduler keeps no copy of it (partitions must not
   * pile up in the scheduler). The core never runs the task again (see `TaskState.irreplaceable`).
   */
  letGoOfScatteredData(): void {
    if (!this.scattered || this.spec.args.length === 0) return;
    this.spec = taskSpec(this.key, this.fn, []);
    this.args = this.spec.args;
  }

  /** Substitutes the inputs' results for the references in the spec's arguments. */
  resolveArgs(inputs: readonly LocalTask[]): void {
    if (inputs.length === 0) {
      this.args = this.spec.args;
      return;
    }
    let resolve: (ref: Ref) => unknown;
    if (inputs.length <= 8) {
      resolve = (ref) => {
        for (const input of inputs) if (input.key === ref.key) return input.value;
        return undefined;
      };
    } else {
      const values = new Map<Key, unknown>();
      for (const input of inputs) values.set(input.key, input.value);
      resolve = (ref) => values.get(ref.key);
    }
    this.args = replaceRefsInArray(this.spec.args, resolve);
  }
}
