import type { Key } from "../graph/task-spec.js";
import type { HeldValues } from "../executor/executor.js";
import { sizeOf } from "../executor/size-of.js";

/** The computation a result came from: its task's function and arguments, as the task message had them. */
export interface ResultOrigin {
  readonly fn: string;
  readonly args: readonly unknown[];
}

/** A result a worker holds, with its size as reported to the scheduler. */
export interface StoredResult {
  readonly value: unknown;
  readonly nbytes: number;
  /**
   * What computed it, when this worker did (not for copies fetched from peers): kept so that the
   * worker can fingerprint it for a new scheduler (`protocol/worker-account.ts`), which reuses it
   * only for a task of the same computation.
   */
  readonly origin?: ResultOrigin;
}

/**
 * The results a worker holds in memory, by key: what it computed, and inputs it fetched from peers.
 * They stay here until the scheduler releases them, and peers read them through the data server.
 */
export class ResultStore {
  private readonly results = new Map<Key, StoredResult>();
  private bytes = 0;
  private held: HeldValues | undefined;

  /** Tells `held` (the executor's, when it reuses result memory) of every result stored and dropped. */
  track(held: HeldValues | undefined): void {
    this.held = held;
  }

  /**
   * Stores a result (replacing any earlier one under the key) and returns its size in bytes.
   * `origin`: what computed it, when this worker did. Default: none (a copy).
   */
  put(key: Key, value: unknown, origin?: ResultOrigin, nbytes = sizeOf(value)): number {
    const old = this.results.get(key);
    this.held?.hold(value);
    if (old !== undefined) {
      this.bytes -= old.nbytes;
      this.held?.release(old.value);
    }
    this.results.set(key, origin === undefined ? { value, nbytes } : { value, nbytes, origin });
    this.bytes += nbytes;
    return nbytes;
  }

  get(key: Key): StoredResult | undefined {
    return this.results.get(key);
  }

  has(key: Key): boolean {
    return this.results.has(key);
  }

  /** Drops a result; false when it was not held. */
  delete(key: Key): boolean {
    const old = this.results.get(key);
    if (old === undefined) return false;
    this.results.delete(key);
    this.bytes -= old.nbytes;
    this.held?.release(old.value);
    return true;
  }

  /** Number of results held. */
  get size(): number {
    return this.results.size;
  }

  /** Bytes held, as estimated by `sizeOf`. */
  get nbytes(): number {
    return this.bytes;
  }

  keys(): IterableIterator<Key> {
    return this.results.keys();
  }

  /** Every result held, by key. */
  entries(): IterableIterator<[Key, StoredResult]> {
    return this.results.entries();
  }
}
